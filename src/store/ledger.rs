//! Ledger reads (balances, per-currency sums) and the settlement postings of statement
//! imports. Posting rules live in `crate::ledger`; this module only writes what they say.
//!
//! Settlement is append-only and idempotent on the database: the lines of one refund's
//! settlement are inserted `ON CONFLICT DO NOTHING` against the unique key
//! `(refund_id, entry_kind, account)`, so importing a statement twice, or two processes
//! importing it at once, settles each refund exactly once.

use sqlx::Row;

use super::{sums, Bind, Store, StoreError};
use crate::domain::EntryKind;
use crate::ledger::LedgerLine;

/// A matched refund to settle: the lines of `crate::ledger::settled_lines` for its
/// provider, currency and recorded amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settlement {
    pub(crate) refund_id: String,
    pub(crate) provider: String,
    pub(crate) currency: String,
    pub(crate) amount_minor: i64,
}

/// One ledger line per statement (two per settlement), `ON CONFLICT DO NOTHING` on the
/// unique key.
const LINE_SQL: &str = "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

/// Settlements per multi-row statement on PostgreSQL (two lines of six values each).
const PG_SETTLE_CHUNK: usize = 500;

/// A multi-row insert of `rows` ledger lines (PostgreSQL). SQLite inserts one line per
/// statement run: a multi-row insert needs a statement journal (a copy of every page it
/// changes, in case a later row fails), which cost the writer more than it saved (measured:
/// 64 lines per insert, writer samples up from 10 s to 12.5 s of a million settlements).
fn lines_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("({})", placeholders(i * 6 + 1, 6)))
        .collect();
    format!(
        "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
         VALUES {} ON CONFLICT DO NOTHING",
        values.join(", ")
    )
}

/// A provider's fee to post on a refund (a line's own, or its batch's on the batch's first
/// member), in that refund's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeePosting {
    pub(crate) refund_id: String,
    pub(crate) fee_minor: i64,
}

/// The four lines of `crate::ledger::fee_lines`, built by the database from the refund (its
/// provider and currency): the fee against clearing, then clearing to settled.
const FEE_SQL: &str = "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
     SELECT id, $1, 'provider:' || provider || ':fees:' || currency, currency, $4, $3 FROM refunds WHERE id = $5 \
     UNION ALL SELECT id, $1, 'provider:' || provider || ':clearing:' || currency, currency, -$4, $3 FROM refunds WHERE id = $5 \
     UNION ALL SELECT id, $2, 'provider:' || provider || ':clearing:' || currency, currency, $4, $3 FROM refunds WHERE id = $5 \
     UNION ALL SELECT id, $2, 'provider:' || provider || ':settled:' || currency, currency, -$4, $3 FROM refunds WHERE id = $5 \
     ON CONFLICT DO NOTHING";

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
    /// The sum of every ledger line per currency (always zero when the books balance),
    /// exact whatever the amounts (`sums.rs`).
    pub async fn ledger_sums_by_currency(&self) -> Result<Vec<(String, i128)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT currency, {} FROM ledger_entries GROUP BY currency ORDER BY currency",
            sums::exact_sum("amount_minor", "total")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("currency")?, sums::read(row, "total")?)))
            .collect()
    }

    /// The balance of every account: `(account, currency, balance in minor units)`, exact
    /// whatever the amounts (`sums.rs`).
    pub async fn account_balances(&self) -> Result<Vec<(String, String, i128)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT account, currency, {} FROM ledger_entries \
             GROUP BY account, currency ORDER BY account",
            sums::exact_sum("amount_minor", "total")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("account")?,
                    row.try_get("currency")?,
                    sums::read(row, "total")?,
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
                            Bind::Text(Some(EntryKind::RefundSettled.as_str().to_owned())),
                            Bind::Int(Some(now)),
                        ];
                        values.extend(ids.iter().map(|id| Bind::Text(Some(id.clone()))));
                        inserted += super::prepare(conn, sql)?
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
            let mut query = sqlx::query(sql)
                .bind(EntryKind::RefundSettled.as_str())
                .bind(now);
            for id in ids {
                query = query.bind(id);
            }
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted / 2)
    }

    /// Posts each fee (`crate::ledger::fee_lines`) on its refund, in one transaction;
    /// returns how many were newly posted. The unique key `(refund_id, entry_kind, account)`
    /// holds each refund's fee once, so a re-imported statement posts nothing twice.
    pub(crate) async fn post_settlement_fees(
        &self,
        fees: &[FeePosting],
        now: i64,
    ) -> Result<u64, StoreError> {
        if fees.is_empty() {
            return Ok(0);
        }
        let fees = fees.to_vec();
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let mut inserted = 0;
                    for fee in &fees {
                        let values = [
                            Bind::Text(Some(EntryKind::SettlementFee.as_str().to_owned())),
                            Bind::Text(Some(EntryKind::FeeSettled.as_str().to_owned())),
                            Bind::Int(Some(now)),
                            Bind::Int(Some(fee.fee_minor)),
                            Bind::Text(Some(fee.refund_id.clone())),
                        ];
                        inserted += super::prepare(conn, FEE_SQL)?
                            .execute(rusqlite::params_from_iter(values.iter()))
                            .map_err(super::writer::sqlite_error)?;
                    }
                    Ok(((inserted / 4) as u64, true))
                })
                .await;
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for fee in &fees {
            inserted += sqlx::query(FEE_SQL)
                .bind(EntryKind::SettlementFee.as_str())
                .bind(EntryKind::FeeSettled.as_str())
                .bind(now)
                .bind(fee.fee_minor)
                .bind(&fee.refund_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(inserted / 4)
    }

    /// Posts the settlement of each matched refund (`crate::ledger::settled_lines`, with the
    /// values the match read), in one transaction; returns how many were newly settled (the
    /// others had been settled before and post nothing). On SQLite each line is one run of a
    /// cached single-row insert on the writer thread (no `IN` list, no read of `refunds`; the
    /// lines are built before the step), on PostgreSQL multi-row inserts.
    pub(crate) async fn settle_matched(
        &self,
        settlements: Vec<Settlement>,
        now: i64,
    ) -> Result<u64, StoreError> {
        if settlements.is_empty() {
            return Ok(0);
        }
        if let Some(writer) = &self.sqlite {
            // The lines are built here, so the writer thread only inserts.
            let lines: Vec<(String, LedgerLine)> = settlements
                .iter()
                .flat_map(|s| {
                    crate::ledger::settled_lines(&s.provider, &s.currency, s.amount_minor)
                        .into_iter()
                        .map(|line| (s.refund_id.clone(), line))
                })
                .collect();
            return writer
                .write(move |conn| {
                    let mut insert = super::prepare(conn, LINE_SQL)?;
                    let mut inserted = 0;
                    for (refund_id, line) in &lines {
                        inserted += insert
                            .execute(rusqlite::params![
                                refund_id,
                                line.entry_kind.as_str(),
                                line.account,
                                line.currency,
                                line.amount_minor,
                                now
                            ])
                            .map_err(super::writer::sqlite_error)?;
                    }
                    Ok(((inserted / 2) as u64, true))
                })
                .await;
        }
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in settlements.chunks(PG_SETTLE_CHUNK) {
            let sql = lines_sql(chunk.len() * 2);
            let mut query = sqlx::query(&sql);
            for s in chunk {
                for line in crate::ledger::settled_lines(&s.provider, &s.currency, s.amount_minor) {
                    query = query
                        .bind(s.refund_id.clone())
                        .bind(line.entry_kind.as_str())
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

    /// Tunes the SQLite writer connection for a process that writes in bulk (the
    /// `reconcile` CLI settling a large statement): a page cache of `cache_kib` KiB (its
    /// inserts land all over the ledger's unique index, and a larger cache saves rereading
    /// those pages) and a WAL checkpoint every `checkpoint_pages` pages instead of every
    /// 1,000 (pages that consecutive commits change again are copied to the database once).
    /// Durability is unchanged (`synchronous = FULL`). Nothing to do on PostgreSQL.
    pub(crate) async fn tune_writer_for_bulk(
        &self,
        cache_kib: u32,
        checkpoint_pages: u32,
    ) -> Result<(), StoreError> {
        let Some(writer) = &self.sqlite else {
            return Ok(());
        };
        writer
            .write(move |conn| {
                conn.execute_batch(&format!(
                    "PRAGMA cache_size = -{cache_kib}; PRAGMA wal_autocheckpoint = {checkpoint_pages};"
                ))
                .map_err(super::writer::sqlite_error)?;
                Ok(((), true))
            })
            .await
    }
}
