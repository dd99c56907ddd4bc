//! Ledger reads (balances, per-currency sums) and the settlement postings of statement
//! imports. Posting rules live in `crate::ledger`; this module only writes what they say.
//!
//! Settlement is append-only and idempotent on the database: the lines of one refund's
//! settlement are inserted `ON CONFLICT DO NOTHING` against the unique key
//! `(refund_id, entry_kind, account)`, so importing a statement twice, or two processes
//! importing it at once, settles each refund exactly once.

use sqlx::Row;

use super::{Bind, Store, StoreError};
use crate::ledger::REFUND_SETTLED;

/// Refunds per settlement statement (their ids are bound once and used twice).
const SETTLE_CHUNK: usize = 1000;

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

    /// Posts the settlement of each refund in `refund_ids` (matched refunds of one
    /// provider), in one transaction, for their recorded amount; returns how many were newly
    /// settled (the others had been settled before and post nothing). Filtering on the id
    /// alone keeps every backend on the primary key (a provider filter made SQLite scan).
    ///
    /// The lines are built by the database from the refunds (one `INSERT … SELECT` per chunk,
    /// binding only ids) so a million settlements stay cheap; the accounts are exactly
    /// those of `crate::ledger::settled_lines`, which the tests compare against.
    pub async fn settle(&self, refund_ids: &[String], now: i64) -> Result<u64, StoreError> {
        if refund_ids.is_empty() {
            return Ok(0);
        }
        let statements: Vec<(String, Vec<String>)> = refund_ids
            .chunks(SETTLE_CHUNK)
            .map(|chunk| {
                let ids = placeholders(3, chunk.len());
                let sql = format!(
                    "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
                     SELECT id, $1, 'provider:' || provider || ':clearing:' || currency, currency, amount_minor, $2 \
                       FROM refunds WHERE id IN ({ids}) AND amount_minor IS NOT NULL \
                     UNION ALL \
                     SELECT id, $1, 'provider:' || provider || ':settled:' || currency, currency, -amount_minor, $2 \
                       FROM refunds WHERE id IN ({ids}) AND amount_minor IS NOT NULL \
                     ON CONFLICT DO NOTHING"
                );
                (sql, chunk.to_vec())
            })
            .collect();
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let mut inserted = 0;
                    for (sql, ids) in &statements {
                        let mut values: Vec<Bind> = vec![
                            Bind::Text(Some(REFUND_SETTLED.to_owned())),
                            Bind::Int(Some(now)),
                        ];
                        values.extend(ids.iter().map(|id| Bind::Text(Some(id.clone()))));
                        inserted += super::sqlite::prepare(conn, sql)?
                            .execute(rusqlite::params_from_iter(values.iter()))
                            .map_err(super::writer::sqlite_error)?;
                    }
                    Ok(((inserted / 2) as u64, true))
                })
                .await;
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for (sql, ids) in &statements {
            let mut query = sqlx::query(sql).bind(REFUND_SETTLED).bind(now);
            for id in ids {
                query = query.bind(id);
            }
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted / 2)
    }
}
