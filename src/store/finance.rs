//! Finance reads: the aggregates of the reconciliation summary, a payment's refunds, and
//! the batched lookups and streamed scan of statement reconciliation. Everything is
//! computed by the database (GROUP BY, batched `IN` lookups, a streamed cursor), never by
//! loading every refund into memory. Amounts are summed by `sums.rs`, exact whatever the
//! amounts (never an overflow on SQLite, never a wrapped i64).

pub mod matcher;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::ledger::placeholders;
use super::refunds::{refund_from_row, REFUND_COLUMNS};
use super::{sums, Store, StoreError};
use crate::domain::{EntryKind, RefundRecord, RefundStatus};
use crate::ledger::REVERSED_TO;

/// Counts and amounts of one provider × currency × status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusGroup {
    pub(crate) provider: String,
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) count: i64,
    pub(crate) amount_minor: i128,
    /// Full refunds whose amount the provider has not reported yet (not in the amount).
    pub(crate) amount_unknown: i64,
}

/// A ledger balance of one provider's account in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderBalance {
    pub(crate) provider: String,
    pub(crate) currency: String,
    pub(crate) balance_minor: i128,
}

/// Open refunds of one status by age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AgeingRow {
    pub(crate) status: String,
    pub(crate) under_15m: i64,
    pub(crate) under_24h: i64,
    pub(crate) under_7d: i64,
    pub(crate) older: i64,
}

/// A refund that may duplicate an earlier one of the same payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicatePair {
    pub(crate) refund_id: String,
    pub(crate) duplicate_of: String,
    pub(crate) payment_id: String,
    pub(crate) amount: Option<String>,
    pub(crate) currency: String,
    pub(crate) created_at: i64,
    pub(crate) first_created_at: i64,
}

/// The columns statement matching needs of a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRow {
    pub(crate) id: String,
    pub(crate) merchant_id: String,
    pub(crate) provider_refund_id: Option<String>,
    pub(crate) provider_reference: String,
    pub(crate) amount_minor: Option<i64>,
    pub(crate) currency: String,
    pub(crate) status: String,
    /// A `refund_settled` posting exists (an earlier statement settled it).
    pub(crate) settled: bool,
    /// A `refund_canceled` posting exists (the provider voided it, or reported it failed,
    /// after success).
    pub(crate) voided: bool,
    /// For a `voided` refund: the statuses the provider reported when it reversed it
    /// (`canceled`, `failed`; see `note_reversal` in `crate::engine`), filled in by
    /// [`Store::reversals`]; empty otherwise.
    pub(crate) reversed_to: Vec<RefundStatus>,
}

/// The match columns with the refund's settlement and void postings, looked up by the
/// ledger's unique key in the same query.
const MATCH_COLUMNS: &str =
    "id, merchant_id, provider_refund_id, provider_reference, amount_minor, currency, status, \
    CAST(CASE WHEN EXISTS (SELECT 1 FROM ledger_entries s WHERE s.refund_id = refunds.id \
      AND s.entry_kind = 'refund_settled') THEN 1 ELSE 0 END AS BIGINT) AS settled, \
    CAST(CASE WHEN EXISTS (SELECT 1 FROM ledger_entries c WHERE c.refund_id = refunds.id \
      AND c.entry_kind = 'refund_canceled') THEN 1 ELSE 0 END AS BIGINT) AS voided";

fn match_row(row: &AnyRow) -> Result<MatchRow, StoreError> {
    Ok(MatchRow {
        id: row.try_get("id")?,
        merchant_id: row.try_get("merchant_id")?,
        provider_refund_id: row.try_get("provider_refund_id")?,
        provider_reference: row.try_get("provider_reference")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        status: row.try_get("status")?,
        settled: row.try_get::<i64, _>("settled")? != 0,
        voided: row.try_get::<i64, _>("voided")? != 0,
        reversed_to: Vec::new(),
    })
}

/// How long after a first refund a second one of the same payment and amount is suspect.
pub(crate) const DUPLICATE_WINDOW_MS: i64 = 10 * 60 * 1000;

/// How many flagged refunds and suspected duplicates the summary lists (all are counted).
pub(crate) const SUMMARY_LIST_LIMIT: i64 = 100;

impl Store {
    /// Counts and amounts by provider × currency × status of the refunds created in
    /// `[from, to)` (one merchant's, or every merchant's with `None`).
    pub(crate) async fn status_groups(
        &self,
        merchant_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<StatusGroup>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT provider, currency, status, COUNT(*) AS n, {}, \
               CAST(COALESCE(SUM(CASE WHEN amount_minor IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS unknown \
             FROM refunds WHERE ($1 = '' OR merchant_id = $1) AND created_at >= $2 AND created_at < $3 \
             GROUP BY provider, currency, status ORDER BY provider, currency, status",
            sums::exact_sum("amount_minor", "total")
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatusGroup {
                    provider: row.try_get("provider")?,
                    currency: row.try_get("currency")?,
                    status: row.try_get("status")?,
                    count: row.try_get("n")?,
                    amount_minor: sums::read(row, "total")?,
                    amount_unknown: row.try_get("unknown")?,
                })
            })
            .collect()
    }

    /// The balance of `provider:<p>:<account>:<cur>` from a merchant's refunds' lines posted
    /// before `to`.
    pub(crate) async fn provider_balances(
        &self,
        merchant_id: Option<&str>,
        account: &str,
        to: i64,
    ) -> Result<Vec<ProviderBalance>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT r.provider AS provider, l.currency AS currency, {} \
             FROM ledger_entries l JOIN refunds r ON r.id = l.refund_id \
             WHERE ($1 = '' OR r.merchant_id = $1) AND l.created_at < $2 \
               AND l.account = 'provider:' || r.provider || ':' || $3 || ':' || l.currency \
             GROUP BY r.provider, l.currency ORDER BY r.provider, l.currency",
            sums::exact_sum("l.amount_minor", "total")
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(to)
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ProviderBalance {
                    provider: row.try_get("provider")?,
                    currency: row.try_get("currency")?,
                    balance_minor: sums::read(row, "total")?,
                })
            })
            .collect()
    }

    /// How many of a merchant's refunds created in `[from, to)` are flagged
    /// `requires_attention`, and the first of them (oldest first).
    pub(crate) async fn attention_refunds(
        &self,
        merchant_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<(i64, Vec<RefundRecord>), StoreError> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM refunds WHERE ($1 = '' OR merchant_id = $1) AND requires_attention = 1 \
             AND created_at >= $2 AND created_at < $3",
        )
        .bind(merchant_id.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE ($1 = '' OR merchant_id = $1) AND requires_attention = 1 \
             AND created_at >= $2 AND created_at < $3 ORDER BY id LIMIT {SUMMARY_LIST_LIMIT}"
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok((
            count,
            rows.iter().map(refund_from_row).collect::<Result<_, _>>()?,
        ))
    }

    /// A merchant's `pending` and `processing` refunds by age at `now`: under 15 minutes,
    /// under 24 hours, under 7 days, older.
    pub(crate) async fn open_refund_ageing(
        &self,
        merchant_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<AgeingRow>, StoreError> {
        const MINUTE: i64 = 60_000;
        let rows = sqlx::query(
            "SELECT status, \
               CAST(COALESCE(SUM(CASE WHEN created_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS a, \
               CAST(COALESCE(SUM(CASE WHEN created_at <= $2 AND created_at > $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS b, \
               CAST(COALESCE(SUM(CASE WHEN created_at <= $3 AND created_at > $4 THEN 1 ELSE 0 END), 0) AS BIGINT) AS c, \
               CAST(COALESCE(SUM(CASE WHEN created_at <= $4 THEN 1 ELSE 0 END), 0) AS BIGINT) AS d \
             FROM refunds WHERE ($1 = '' OR merchant_id = $1) AND status IN ('pending', 'processing') \
             GROUP BY status ORDER BY status",
        )
        .bind(merchant_id.unwrap_or(""))
        .bind(now - 15 * MINUTE)
        .bind(now - 24 * 60 * MINUTE)
        .bind(now - 7 * 24 * 60 * MINUTE)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AgeingRow {
                    status: row.try_get("status")?,
                    under_15m: row.try_get("a")?,
                    under_24h: row.try_get("b")?,
                    under_7d: row.try_get("c")?,
                    older: row.try_get("d")?,
                })
            })
            .collect()
    }

    /// Refunds created in `[from, to)` without an idempotency key that follow, within ten
    /// minutes, an earlier refund of the same payment for the same amount and currency.
    /// Refunds that moved no money (`failed`, `canceled`) are not suspects on either side.
    pub(crate) async fn possible_duplicates(
        &self,
        merchant_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<(i64, Vec<DuplicatePair>), StoreError> {
        let join = "FROM refunds b JOIN refunds a ON a.merchant_id = b.merchant_id \
               AND a.payment_id = b.payment_id AND a.currency = b.currency \
               AND a.amount_minor = b.amount_minor AND a.id <> b.id \
               AND (a.created_at < b.created_at OR (a.created_at = b.created_at AND a.id < b.id)) \
               AND b.created_at - a.created_at <= $4 \
             WHERE ($1 = '' OR b.merchant_id = $1) AND b.idempotency_key IS NULL \
               AND b.created_at >= $2 AND b.created_at < $3 \
               AND a.status NOT IN ('failed', 'canceled') AND b.status NOT IN ('failed', 'canceled')";
        let count: i64 = sqlx::query(&format!("SELECT COUNT(DISTINCT b.id) AS n {join}"))
            .bind(merchant_id.unwrap_or(""))
            .bind(from)
            .bind(to)
            .bind(DUPLICATE_WINDOW_MS)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(&format!(
            "SELECT b.id AS refund_id, a.id AS duplicate_of, b.payment_id AS payment_id, \
               b.amount AS amount, b.currency AS currency, b.created_at AS created_at, \
               a.created_at AS first_created_at {join} ORDER BY b.id, a.id LIMIT {SUMMARY_LIST_LIMIT}"
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(from)
        .bind(to)
        .bind(DUPLICATE_WINDOW_MS)
        .fetch_all(&self.pool)
        .await?;
        let pairs = rows
            .iter()
            .map(|row| {
                Ok(DuplicatePair {
                    refund_id: row.try_get("refund_id")?,
                    duplicate_of: row.try_get("duplicate_of")?,
                    payment_id: row.try_get("payment_id")?,
                    amount: row.try_get("amount")?,
                    currency: row.try_get("currency")?,
                    created_at: row.try_get("created_at")?,
                    first_created_at: row.try_get("first_created_at")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((count, pairs))
    }

    /// A merchant's refunds of one payment, oldest first, at most `limit`.
    pub(crate) async fn payment_refunds(
        &self,
        merchant_id: Option<&str>,
        payment_id: &str,
        limit: i64,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE ($1 = '' OR merchant_id = $1) AND payment_id = $2 ORDER BY id LIMIT {limit}"
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(payment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// The refunds of `provider` (and `merchant`, when given) whose `column` is one of
    /// `keys`: one query per call. `column` is `provider_reference` or `provider_refund_id`.
    pub(crate) async fn refunds_by_provider_keys(
        &self,
        provider: &str,
        merchant_id: Option<&str>,
        column: MatchColumn,
        keys: &[&str],
    ) -> Result<Vec<MatchRow>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let column = match column {
            MatchColumn::ProviderReference => "provider_reference",
            MatchColumn::ProviderRefundId => "provider_refund_id",
        };
        let first_key = if merchant_id.is_some() { 3 } else { 2 };
        let merchant_clause = if merchant_id.is_some() {
            " AND merchant_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {MATCH_COLUMNS} FROM refunds WHERE provider = $1{merchant_clause} AND {column} IN ({})",
            placeholders(first_key, keys.len())
        );
        let mut query = sqlx::query(&sql).bind(provider);
        if let Some(merchant_id) = merchant_id {
            query = query.bind(merchant_id);
        }
        for key in keys {
            query = query.bind(*key);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(match_row).collect()
    }

    /// Streams the refunds of `provider` (and `merchant`) that succeeded in `[from, to)`
    /// (the time of their `refund_succeeded` posting) and were not voided since.
    pub(crate) fn succeeded_between<'a>(
        &'a self,
        provider: &'a str,
        merchant_id: Option<&'a str>,
        from: i64,
        to: i64,
    ) -> BoxStream<'a, Result<MatchRow, StoreError>> {
        const SQL: &str = "SELECT r.id AS id, r.merchant_id AS merchant_id, \
               r.provider_refund_id AS provider_refund_id, r.provider_reference AS provider_reference, \
               r.amount_minor AS amount_minor, r.currency AS currency, r.status AS status, \
               CAST(0 AS BIGINT) AS settled, CAST(0 AS BIGINT) AS voided \
             FROM ledger_entries l JOIN refunds r ON r.id = l.refund_id \
             WHERE l.entry_kind = $1 AND l.amount_minor < 0 AND l.created_at >= $2 AND l.created_at < $3 \
               AND r.provider = $4 AND r.status = 'succeeded' AND ($5 = '' OR r.merchant_id = $5) \
               AND NOT EXISTS (SELECT 1 FROM ledger_entries c WHERE c.refund_id = r.id AND c.entry_kind = $6)";
        sqlx::query(SQL)
            .bind(EntryKind::RefundSucceeded.as_str())
            .bind(from)
            .bind(to)
            .bind(provider)
            .bind(merchant_id.unwrap_or(""))
            .bind(EntryKind::RefundCanceled.as_str())
            .fetch(&self.pool)
            .map(|row| match_row(&row?))
            .boxed()
    }
}

/// Which provider-side key a statement line is matched by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchColumn {
    ProviderReference,
    ProviderRefundId,
}

impl Store {
    /// For each of `refund_ids` (refunds whose succeeded lines were reversed), the statuses
    /// the provider reported when it reversed them, oldest first, read from their flag
    /// events; `canceled` for a reversal recorded before events said which (a void was the
    /// only reversal then). Only reversed refunds are looked up, a handful per statement.
    pub(crate) async fn reversals(
        &self,
        refund_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<RefundStatus>>, StoreError> {
        let mut found: std::collections::HashMap<String, Vec<RefundStatus>> =
            std::collections::HashMap::new();
        for chunk in refund_ids.chunks(500) {
            let sql = format!(
                "SELECT refund_id, detail FROM refund_events WHERE kind = 'requires_attention' \
                 AND refund_id IN ({}) ORDER BY id",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let refund_id: String = row.try_get("refund_id")?;
                let detail: String = row.try_get("detail")?;
                let detail: serde_json::Value = serde_json::from_str(&detail)
                    .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
                let reported = detail
                    .get(REVERSED_TO)
                    .and_then(serde_json::Value::as_str)
                    .and_then(RefundStatus::parse);
                if let Some(status) = reported {
                    let statuses = found.entry(refund_id).or_default();
                    if !statuses.contains(&status) {
                        statuses.push(status);
                    }
                }
            }
        }
        for id in refund_ids {
            found
                .entry(id.clone())
                .or_insert_with(|| vec![RefundStatus::Canceled]);
        }
        Ok(found)
    }
}
