//! The batch worker (DESIGN §19): turns the rows of running batches into refunds, in row
//! order (a tenth of a second's rows at a time, up to 16 of them side by side), at most
//! `[batches] rows_per_second` a second in this process, each through
//! [`Engine::create_refund`], exactly the path of `POST /v1/refunds` (routing, the
//! payment's refundable amount, approval rules, the breaker and its queue).
//!
//! **No row is refunded twice, none is skipped.** Each row is created with an
//! Idempotency-Key of its own: the row's `idempotency_key`, else `batch:{id}:{row}`. The row
//! is marked only after its refund exists, so a process killed between the two finds the
//! row still pending on resume and creates it again with the same key and body: the store
//! answers the refund made the first time (a replay, or the refund of a first request that
//! died before answering, once its grace has passed), never a second refund. Until that
//! grace has passed (`idempotency_in_progress`), or while the store is unavailable, the row
//! stays pending and the batch is tried again later; only what the merchant's own request
//! would have been refused with fails a row.
//!
//! A batch is worked by one process at a time: it is claimed with a lease that the worker
//! extends while it runs; a process that dies leaves a lease that runs out, and another
//! process (or the same one restarted) resumes the batch.

use std::time::Duration;

use futures_util::StreamExt;

use crate::api::error::ApiError;
use crate::domain::IdempotencyKey;
use crate::engine::{CreateResult, Engine, EngineError};
use crate::store::batches::{PendingRow, RowFailure};

/// How often the worker looks for a running batch (one indexed read when none runs).
const TICK: Duration = Duration::from_millis(250);
/// Rows of one batch created at once, at most.
const CONCURRENCY: usize = 16;
/// How long a claim keeps other processes off a batch (extended while it runs).
const LEASE_MS: i64 = 10_000;

/// What became of one row this pass.
enum RowDone {
    Finished,
    /// Try again later (the row's key is still held by a request in flight, or the store
    /// is unavailable): the batch is left for the next pass.
    Later,
}

/// The Idempotency-Key of row `row` of batch `id` without a key of its own.
pub fn row_key(id: &str, row: i64) -> String {
    format!("batch:{id}:{row}")
}

/// Runs forever; the application aborts it on shutdown.
pub(crate) async fn run(engine: Engine) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let engine = engine.current();
        match work_one(&engine).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "batch worker pass failed"),
        }
    }
}

/// Claims one running batch and works it until it is done, a row must wait, or the lease
/// would run out.
async fn work_one(engine: &Engine) -> Result<(), EngineError> {
    let now = engine.store.now();
    let Some((id, merchant_id)) = engine.store.claim_batch(now, now + LEASE_MS).await? else {
        return Ok(());
    };
    let result = work_batch(engine, &id, &merchant_id).await;
    // Done or not, let the next pass (of any process) take it from here.
    engine.store.lease_batch(&id, 0).await?;
    result
}

async fn work_batch(engine: &Engine, id: &str, merchant_id: &str) -> Result<(), EngineError> {
    let rate = i64::from(engine.config().batches.rows_per_second.max(1));
    // Rows per tick of 100 ms: a tenth of the rate (at least one).
    let per_tick = (rate / 10).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = engine.store.now();
    loop {
        tick.tick().await;
        let now = engine.store.now();
        // Keep the claim alive; give the batch up now and then so others get their turn.
        if now - started > LEASE_MS / 2 {
            return Ok(());
        }
        engine.store.lease_batch(id, now + LEASE_MS).await?;
        let engine = engine.current();
        let Some(merchant) = engine.config().merchant(merchant_id).cloned() else {
            tracing::warn!(batch_id = %id, merchant = %merchant_id, "batch's merchant is not configured; left running");
            return Ok(());
        };
        let rows = engine.store.pending_rows(id, per_tick).await?;
        if rows.is_empty() {
            if engine.store.complete_batch(id, now).await? {
                tracing::info!(batch_id = %id, "refund batch completed");
            }
            return Ok(());
        }
        // A tick's rows are independent refunds: created side by side, at most
        // CONCURRENCY at once (rows of one payment still queue on its lock in the store).
        let done: Vec<Result<RowDone, EngineError>> = futures_util::stream::iter(rows)
            .map(|row| create_row(&engine, &merchant, id, row))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut later = false;
        for result in done {
            later |= matches!(result?, RowDone::Later);
        }
        if later {
            return Ok(());
        }
    }
}

/// Creates one row's refund and marks the row.
async fn create_row(
    engine: &Engine,
    merchant: &crate::config::MerchantConfig,
    id: &str,
    row: PendingRow,
) -> Result<RowDone, EngineError> {
    let key_text = row
        .idempotency_key
        .clone()
        .unwrap_or_else(|| row_key(id, row.row));
    let fail = |failure: RowFailure| async move {
        engine.store.finish_row(id, row.row, Err(failure)).await?;
        Ok::<_, EngineError>(RowDone::Finished)
    };
    let Some(key) = IdempotencyKey::parse(&key_text) else {
        return fail(RowFailure {
            code: "parameter_invalid".into(),
            message: "the row's Idempotency-Key is not 1-255 printable ASCII".into(),
            param: Some("idempotency_key".into()),
        })
        .await;
    };
    let body = match serde_json::from_str::<serde_json::Value>(&row.body) {
        Ok(serde_json::Value::Object(body)) => body,
        _ => {
            return fail(RowFailure {
                code: "body_invalid".into(),
                message: "the stored row is not a refund body".into(),
                param: None,
            })
            .await
        }
    };
    let command = match crate::api::refunds::parse_create(
        body,
        crate::api::extract::IdempotencyKeyHeader(Some(key)),
    ) {
        Ok(command) => command,
        Err(e) => return fail(failure_of(&e)).await,
    };
    let refund_id = match engine.create_refund(merchant, command).await {
        Ok(CreateResult::Created(refund) | CreateResult::ReplayedRefund(refund)) => {
            refund.id.to_string()
        }
        Ok(CreateResult::Replayed(answer)) => {
            let id = serde_json::from_str::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned));
            match id {
                Some(id) => id,
                // A stored answer that is not a refund (an error answered to an earlier request
                // with this key): the row fails with it.
                None => {
                    return fail(RowFailure {
                        code: "idempotency_key_reused".into(),
                        message:
                            "this Idempotency-Key answered an earlier request that made no refund"
                                .into(),
                        param: Some("idempotency_key".into()),
                    })
                    .await
                }
            }
        }
        Err(
            EngineError::IdempotencyInProgress | EngineError::Store(_) | EngineError::Contention,
        ) => return Ok(RowDone::Later),
        Err(e) => return fail(failure_of(&ApiError::from(e))).await,
    };
    engine.store.finish_row(id, row.row, Ok(refund_id)).await?;
    Ok(RowDone::Finished)
}

fn failure_of(error: &ApiError) -> RowFailure {
    RowFailure {
        code: error.code.describe().2.to_owned(),
        message: error.message.clone(),
        param: error.param.clone(),
    }
}
