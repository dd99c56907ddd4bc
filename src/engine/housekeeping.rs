//! Periodic housekeeping, once a minute: refunds that awaited approval too long are canceled
//! (`approval_expired`, DESIGN §19; see `approval.rs`), idempotency keys once their retention ends, and
//! history past `[retention] days` (webhook receipts, the non-essential events of final
//! refunds; see `store::retention` for what is kept), each table in bounded batches of small
//! statements, so the tables stop growing without a long delete ever holding up a refund.

use std::time::Duration;

use super::Engine;
use crate::store::{Store, StoreError};

/// Rows deleted per statement.
pub(crate) const PURGE_BATCH: u32 = 1_000;
/// Statements per table per tick: at most 10,000 rows of each table a minute, so a backlog
/// (the first run on an old database) is worked off over several ticks, never in one long
/// burst that would hold up refunds.
pub(crate) const PURGE_BATCHES_PER_TICK: u32 = 10;

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub idempotency_keys: u64,
    pub webhook_receipts: u64,
    pub refund_events: u64,
}

/// Runs forever; the application aborts it on shutdown.
pub(crate) async fn run(engine: Engine) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let engine = engine.current();
        let now = engine.store.now();
        if let Err(e) = engine.expire_approvals(now).await {
            tracing::warn!(error = %e, "approval expiry pass failed");
        }
        match purge_history(&engine.store, engine.config().retention.period, now).await {
            Ok(purged) if purged == Purged::default() => {}
            Ok(purged) => tracing::info!(
                idempotency_keys = purged.idempotency_keys,
                webhook_receipts = purged.webhook_receipts,
                refund_events = purged.refund_events,
                "history past its retention purged"
            ),
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
    }
}

/// One retention pass at `now` (Unix ms): at most [`PURGE_BATCHES_PER_TICK`] batches of
/// [`PURGE_BATCH`] rows per table: idempotency keys past their own expiry, history older
/// than `retention`.
pub async fn purge_history(
    store: &Store,
    retention: Duration,
    now: i64,
) -> Result<Purged, StoreError> {
    let before = now.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    let mut purged = Purged::default();
    for _ in 0..PURGE_BATCHES_PER_TICK {
        let n = store
            .purge_expired_idempotency_keys(now, PURGE_BATCH)
            .await?;
        purged.idempotency_keys += n;
        if n < u64::from(PURGE_BATCH) {
            break;
        }
    }
    for _ in 0..PURGE_BATCHES_PER_TICK {
        let n = store.purge_webhook_receipts(before, PURGE_BATCH).await?;
        purged.webhook_receipts += n;
        if n < u64::from(PURGE_BATCH) {
            break;
        }
    }
    for _ in 0..PURGE_BATCHES_PER_TICK {
        let n = store.purge_final_refund_events(before, PURGE_BATCH).await?;
        purged.refund_events += n;
        if n < u64::from(PURGE_BATCH) {
            break;
        }
    }
    Ok(purged)
}
