//! Ledger reads (balances, per-currency sums) and the settlement postings of statement
//! imports. Posting rules live in `crate::ledger`; this module only writes what they say.
//!
//! Settlement is append-only and idempotent on the database: the lines of one refund's
//! settlement are inserted `ON CONFLICT DO NOTHING` against the unique key
//! `(refund_id, entry_kind, account)`, so importing a statement twice, or two processes
//! importing it at once, settles each refund exactly once.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};
use crate::ledger::{settled_lines, REFUND_CANCELED, REFUND_SETTLED};

/// A refund to settle: the amount moves from the provider's clearing to its settled account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub refund_id: String,
    pub provider: String,
    pub currency: String,
    pub amount_minor: i64,
}

/// What has already been posted for a refund beyond its success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Postings {
    pub settled: bool,
    pub canceled: bool,
}

/// Refunds per multi-row insert (two lines of six parameters each, well under every
/// backend's parameter limit).
const SETTLE_CHUNK: usize = 400;

/// `$from, $from+1, …` for `count` parameters.
pub(crate) fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The sum of every ledger line per currency (always zero when the books balance).
    pub async fn ledger_sums_by_currency(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT currency, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total \
             FROM ledger_entries GROUP BY currency ORDER BY currency",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("currency")?, row.try_get("total")?)))
            .collect()
    }

    /// The balance of every account: `(account, currency, balance in minor units)`.
    pub async fn account_balances(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT account, currency, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total \
             FROM ledger_entries GROUP BY account, currency ORDER BY account",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("account")?,
                    row.try_get("currency")?,
                    row.try_get("total")?,
                ))
            })
            .collect()
    }

    /// Settlement and void postings of the given refunds (batched lookup).
    pub async fn postings_of(
        &self,
        refund_ids: &[String],
    ) -> Result<HashMap<String, Postings>, StoreError> {
        let mut found: HashMap<String, Postings> = HashMap::new();
        for chunk in refund_ids.chunks(1000) {
            let sql = format!(
                "SELECT refund_id, entry_kind FROM ledger_entries \
                 WHERE refund_id IN ({}) AND entry_kind IN ('{REFUND_SETTLED}', '{REFUND_CANCELED}')",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let id: String = row.try_get("refund_id")?;
                let kind: String = row.try_get("entry_kind")?;
                let slot = found.entry(id).or_default();
                if kind == REFUND_SETTLED {
                    slot.settled = true;
                } else {
                    slot.canceled = true;
                }
            }
        }
        Ok(found)
    }

    /// Posts the settlement of each refund in one transaction; returns how many refunds were
    /// newly settled (the others had been settled before and post nothing).
    pub async fn settle(&self, settlements: &[Settlement], now: i64) -> Result<u64, StoreError> {
        if settlements.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut inserted = 0;
        for chunk in settlements.chunks(SETTLE_CHUNK) {
            let rows: Vec<String> = (0..chunk.len() * 2)
                .map(|i| format!("({})", placeholders(i * 6 + 1, 6)))
                .collect();
            let sql = format!(
                "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
                 VALUES {} ON CONFLICT DO NOTHING",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for item in chunk {
                for line in settled_lines(&item.provider, &item.currency, item.amount_minor) {
                    query = query
                        .bind(item.refund_id.clone())
                        .bind(line.entry_kind)
                        .bind(line.account)
                        .bind(line.currency)
                        .bind(line.amount_minor)
                        .bind(now);
                }
            }
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted / 2)
    }
}
