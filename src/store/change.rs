//! Changing a refund (DESIGN §8 step 3) as one atomic read-decide-write: read the refund,
//! let the engine decide the change (a pure function of the refund as it is), write the row,
//! its history, ledger lines, merchant event and idempotent answer, all or nothing. Provider
//! webhooks go through the same path with their receipt.
//!
//! - SQLite: one step of the writer thread (see `writer.rs`): the read, the decision and the
//!   writes run back to back in the batch's transaction, so nothing can change the refund in
//!   between and no retry is ever needed.
//! - PostgreSQL: optimistic. Read (one round trip), decide, then write everything in ONE
//!   statement (data-modifying CTEs) guarded by the refund's version; if another process
//!   changed the refund first, nothing is written and it reads and decides again.
//!
//! Either way the row written is `Change::apply_to` of the refund read, so the merchant event
//! and the idempotent answer are rendered from exactly what is stored.

use sqlx::Row;

use refund_provider::RefundId;

mod statement;

use statement::ChangeStatement;

use super::committed::first_row_committed;
use super::payments::check_learnt_amount_sqlite;
use super::sqlite::{
    insert_webhook_receipt, read_refund, read_refund_by_reference, webhook_seen, write_change,
};
use super::{Bind, Change, Modified, RefundRecord, Store, StoreError, WebhookApplied};
use crate::faults::Faults;

/// How many times PostgreSQL's guarded write is retried when another writer got there first.
const MAX_ATTEMPTS: usize = 8;

/// `REFUND_COLUMNS` of the joined refund `r`, under their own names.
const WEBHOOK_REFUND_COLUMNS: &str =
    "r.id AS id, r.merchant_id AS merchant_id, r.provider AS provider, r.account AS account, \
     r.provider_refund_id AS provider_refund_id, r.provider_reference AS provider_reference, \
     r.payment_id AS payment_id, r.amount AS amount, r.amount_minor AS amount_minor, \
     r.currency AS currency, r.status AS status, r.failure_code AS failure_code, \
     r.failure_message AS failure_message, r.reason AS reason, r.reference AS reference, \
     r.customer_id AS customer_id, r.metadata AS metadata, r.provider_options AS provider_options, \
     r.breakdown AS breakdown, r.requires_attention AS requires_attention, \
     r.idempotency_key AS idempotency_key, r.version AS version, r.created_at AS created_at, \
     r.updated_at AS updated_at, r.next_sync_at AS next_sync_at, r.sync_attempts AS sync_attempts, \
     r.pending_reason AS pending_reason, r.queued_at AS queued_at";

/// A provider webhook to record as received with the change it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) event_id: String,
}

impl Store {
    /// Reads refund `id`, asks `decide` for the change (`Err` stops without writing and is
    /// handed back), and writes it atomically (see the module doc).
    pub async fn modify_refund<E, F>(
        &self,
        id: RefundId,
        decide: F,
    ) -> Result<Result<Modified, E>, StoreError>
    where
        E: Send + 'static,
        F: Fn(&RefundRecord, i64) -> Result<Change, E> + Send + Sync + 'static,
    {
        self.modify(id, None, decide).await
    }

    /// [`Store::modify_refund`] for a caller that holds the refund as it last wrote or read
    /// it: on PostgreSQL the first attempt decides on `known` without reading (one round
    /// trip when nothing changed it meanwhile; the version guard catches it if something
    /// did). On SQLite the writer reads it anyway, which costs nothing there.
    pub(crate) async fn modify_known_refund<E, F>(
        &self,
        known: RefundRecord,
        decide: F,
    ) -> Result<Result<Modified, E>, StoreError>
    where
        E: Send + 'static,
        F: Fn(&RefundRecord, i64) -> Result<Change, E> + Send + Sync + 'static,
    {
        self.modify(known.id, Some(known), decide).await
    }

    async fn modify<E, F>(
        &self,
        id: RefundId,
        mut known: Option<RefundRecord>,
        decide: F,
    ) -> Result<Result<Modified, E>, StoreError>
    where
        E: Send + 'static,
        F: Fn(&RefundRecord, i64) -> Result<Change, E> + Send + Sync + 'static,
    {
        let clock = self.clock();
        let drop_line = Faults::on(&self.faults.drop_ledger_line);
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let Some(refund) = read_refund(conn, &id)? else {
                        return Ok((Ok(Modified::Missing), false));
                    };
                    let now = super::millis_of(clock.now());
                    match decide(&refund, now) {
                        Err(refusal) => Ok((Err(refusal), false)),
                        Ok(change) if change == Change::default() => {
                            Ok((Ok(Modified::Unchanged(refund)), false))
                        }
                        Ok(mut change) => {
                            if drop_line {
                                change.ledger.pop();
                            }
                            check_learnt_amount_sqlite(conn, &refund, &mut change)?;
                            let after = write_change(conn, &refund, &change, now)?;
                            let before = refund.status;
                            Ok((Ok(Modified::Changed { before, after }), true))
                        }
                    }
                })
                .await;
        }
        for _ in 0..MAX_ATTEMPTS {
            let refund = match known.take() {
                Some(refund) => refund,
                None => match self.refund(&id).await? {
                    Some(refund) => refund,
                    None => return Ok(Ok(Modified::Missing)),
                },
            };
            let now = self.now();
            let mut change = match decide(&refund, now) {
                Err(refusal) => return Ok(Err(refusal)),
                Ok(change) if change == Change::default() => {
                    return Ok(Ok(Modified::Unchanged(refund)))
                }
                Ok(change) => change,
            };
            if drop_line {
                change.ledger.pop();
            }
            self.check_learnt_amount_postgres(&refund, &mut change)
                .await?;
            if let Some(after) = self
                .write_change_postgres(&refund, &change, None, now)
                .await?
            {
                let before = refund.status;
                return Ok(Ok(Modified::Changed { before, after }));
            }
        }
        Ok(Ok(Modified::Contended))
    }

    /// Applies a provider webhook: once per (provider, account, event id), only to the refund
    /// of that account whose provider reference it names, the receipt recorded with the
    /// change (SQLite) or right after it (PostgreSQL: applying a report is idempotent on its
    /// own, so a crash in between makes the provider's retry apply it again harmlessly).
    pub(crate) async fn apply_webhook<F>(
        &self,
        receipt: Receipt,
        reference: Option<String>,
        decide: F,
    ) -> Result<WebhookApplied, StoreError>
    where
        F: Fn(&RefundRecord, i64) -> Change + Send + Sync + 'static,
    {
        let clock = self.clock();
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let Receipt {
                        provider,
                        account,
                        event_id,
                    } = &receipt;
                    if webhook_seen(conn, provider, account, event_id)? {
                        return Ok((WebhookApplied::Duplicate, false));
                    }
                    let now = super::millis_of(clock.now());
                    let refund = match &reference {
                        Some(reference) => read_refund_by_reference(conn, provider, reference)?
                            .filter(|refund| &refund.account == account),
                        None => None,
                    };
                    // An event for a refund we do not know stores nothing (DESIGN §16): a
                    // signed sender cannot fill the receipts table with events of refunds
                    // that are not ours.
                    let Some(refund) = refund else {
                        return Ok((WebhookApplied::UnknownRefund, false));
                    };
                    let mut change = decide(&refund, now);
                    let modified = if change == Change::default() {
                        Modified::Unchanged(refund.clone())
                    } else {
                        check_learnt_amount_sqlite(conn, &refund, &mut change)?;
                        let after = write_change(conn, &refund, &change, now)?;
                        Modified::Changed {
                            before: refund.status,
                            after,
                        }
                    };
                    insert_webhook_receipt(
                        conn,
                        provider,
                        account,
                        event_id,
                        Some(&refund.id),
                        now,
                    )?;
                    Ok((WebhookApplied::Refund(Box::new(modified)), true))
                })
                .await;
        }
        // PostgreSQL: one query says whether the event was seen and finds the refund; the
        // change and the receipt are then one statement.
        let row = sqlx::query(&format!(
            "SELECT EXISTS (SELECT 1 FROM webhook_receipts \
                            WHERE provider = $1 AND account = $2 AND event_id = $3) AS seen, \
                    {WEBHOOK_REFUND_COLUMNS} \
             FROM (SELECT 1 AS one) AS one \
             LEFT JOIN refunds r ON r.provider = $1 AND r.provider_reference = $4"
        ))
        .bind(&receipt.provider)
        .bind(&receipt.account)
        .bind(&receipt.event_id)
        .bind(reference.as_deref().unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        let seen: bool = row.try_get("seen")?;
        if seen {
            return Ok(WebhookApplied::Duplicate);
        }
        // The join names only the unique (provider, provider_reference) key and the account is
        // checked here: with more in the join, PostgreSQL's generic plan could take another
        // index led by `provider` and read every refund of the provider for each webhook
        // (10.8 M index tuples in a 15 s bench; see migration 0006).
        let id: Option<String> = row.try_get("id")?;
        let account: Option<String> = row.try_get("account")?;
        if reference.is_none() || id.is_none() || account.as_deref() != Some(&receipt.account) {
            // Nothing stored for a refund we do not know (as on SQLite above).
            return Ok(WebhookApplied::UnknownRefund);
        }
        let mut refund = super::refunds::refund_from_row(&row)?;
        for _ in 0..MAX_ATTEMPTS {
            let now = self.now();
            let mut change = decide(&refund, now);
            if change == Change::default() {
                self.record_webhook_receipt(&receipt, Some(&refund.id))
                    .await?;
                return Ok(WebhookApplied::Refund(Box::new(Modified::Unchanged(
                    refund,
                ))));
            }
            self.check_learnt_amount_postgres(&refund, &mut change)
                .await?;
            if let Some(after) = self
                .write_change_postgres(&refund, &change, Some(&receipt), now)
                .await?
            {
                let before = refund.status;
                return Ok(WebhookApplied::Refund(Box::new(Modified::Changed {
                    before,
                    after,
                })));
            }
            match self.refund(&refund.id).await? {
                Some(current) => refund = current,
                None => return Ok(WebhookApplied::Refund(Box::new(Modified::Missing))),
            }
        }
        Ok(WebhookApplied::Refund(Box::new(Modified::Contended)))
    }

    /// Whether a provider account's webhook event was already applied.
    pub async fn webhook_seen(
        &self,
        provider: &str,
        account: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM webhook_receipts WHERE provider = $1 AND account = $2 AND event_id = $3",
        )
        .bind(provider)
        .bind(account)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Records a provider account's webhook event as applied (a second record is a no-op).
    pub(crate) async fn record_webhook_receipt(
        &self,
        receipt: &Receipt,
        refund_id: Option<&RefundId>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        if let Some(writer) = &self.sqlite {
            let receipt = receipt.clone();
            let refund_id = refund_id.copied();
            return writer
                .write(move |conn| {
                    insert_webhook_receipt(
                        conn,
                        &receipt.provider,
                        &receipt.account,
                        &receipt.event_id,
                        refund_id.as_ref(),
                        now,
                    )?;
                    Ok(((), true))
                })
                .await;
        }
        sqlx::query(
            "INSERT INTO webhook_receipts (provider, account, event_id, refund_id, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, account, event_id) DO NOTHING",
        )
        .bind(&receipt.provider)
        .bind(&receipt.account)
        .bind(&receipt.event_id)
        .bind(refund_id.map(|id| id.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// PostgreSQL: writes `change` of `before` in one statement if the refund is still at
    /// `before.version` (`None` when someone else changed it first: nothing was written).
    async fn write_change_postgres(
        &self,
        before: &RefundRecord,
        change: &Change,
        receipt: Option<&Receipt>,
        now: i64,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let after = change.apply_to(before, now);
        let statement = ChangeStatement::new(before, &after, change, receipt, now);
        let mut query = sqlx::query(&statement.sql);
        for bind in statement.binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        // Only once committed: the merchant is answered, and the provider called, on it.
        let applied: i64 = first_row_committed(query, &self.pool)
            .await?
            .try_get("applied")?;
        Ok((applied == 1).then_some(after))
    }
}
