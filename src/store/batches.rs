//! Bulk-refund batches in the store (DESIGN §19): a batch and all its rows are written in
//! one transaction (nothing of a refused file exists, and a batch never exists without its
//! rows); the worker claims a running batch with a lease, reads its pending rows in order,
//! and marks each as created (with its refund) or failed (with the error).
//!
//! A batch's `Idempotency-Key` is unique per merchant (`refund_batches_key_once`): of two
//! posts of a file with one key, one batch is created and the other reads it back.

use rusqlite::{params, Connection, OptionalExtension};
use sqlx::Row;

use super::ledger::placeholders;
use super::writer::sqlite_error;
use super::{is_unique_violation, prepare, Bind, Store, StoreError};

/// A batch to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatch {
    pub id: String,
    pub merchant_id: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: String,
    pub created_at: i64,
}

/// One row of a batch to create: its refund body (JSON) and own key, or the error that
/// refused it at validation (a skipped row, failed from the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatchRow {
    pub row: i64,
    pub body: Option<String>,
    pub idempotency_key: Option<String>,
    pub error: Option<RowFailure>,
}

/// Why a row did not become a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    pub code: String,
    pub message: String,
    pub param: Option<String>,
}

/// A stored batch with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    pub id: String,
    pub merchant_id: String,
    pub fingerprint: String,
    pub status: String,
    pub total: i64,
    pub created: i64,
    pub failed_rows: i64,
    /// The refunds of the batch by their status now.
    pub counts: Vec<(String, i64)>,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCreated {
    Created,
    /// The merchant's key names this earlier batch (its fingerprint says whether the file
    /// was the same).
    Existing {
        id: String,
        fingerprint: String,
    },
}

/// A row for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    pub row: i64,
    pub body: String,
    pub idempotency_key: Option<String>,
}

/// A row of the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub row: i64,
    pub refund_id: Option<String>,
    /// The refund's status now (`None` for a failed row).
    pub status: Option<String>,
    pub error: Option<RowFailure>,
}

const INSERT_BATCH: &str = "INSERT INTO refund_batches (id, merchant_id, idempotency_key, fingerprint, status, total, skipped, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
const EXISTING: &str =
    "SELECT id, fingerprint FROM refund_batches WHERE merchant_id = $1 AND idempotency_key = $2";
const INSERT_ROW: &str = "INSERT INTO refund_batch_rows (batch_id, row_number, body, idempotency_key, state, error_code, error_message, error_param) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Rows per multi-row INSERT on PostgreSQL (8 parameters each).
const PG_CHUNK: usize = 500;

fn row_state(row: &NewBatchRow) -> &'static str {
    if row.error.is_some() {
        "failed"
    } else {
        "pending"
    }
}

/// What a new batch starts with: its rows, those refused at validation (failed from the
/// start), and its status (`completed` when every row was refused).
#[derive(Debug, Clone, Copy)]
struct Start {
    total: i64,
    skipped: i64,
    status: &'static str,
}

impl Start {
    fn of(rows: &[NewBatchRow]) -> Self {
        let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let skipped =
            i64::try_from(rows.iter().filter(|r| r.error.is_some()).count()).unwrap_or(i64::MAX);
        let status = if skipped == total {
            "completed"
        } else {
            "running"
        };
        Self {
            total,
            skipped,
            status,
        }
    }
}

impl Store {
    /// Writes `batch` and every row in one transaction; with a key the merchant used before,
    /// writes nothing and names the earlier batch.
    pub async fn create_batch(
        &self,
        batch: NewBatch,
        rows: Vec<NewBatchRow>,
    ) -> Result<BatchCreated, StoreError> {
        let start = Start::of(&rows);
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| create_batch_sqlite(conn, &batch, &rows, start))
                .await;
        }
        self.create_batch_postgres(&batch, &rows, start).await
    }

    /// [`Store::create_batch`] on PostgreSQL: the batch row first (the merchant's key, unique,
    /// decides between two posts of one file), then its rows in multi-row inserts.
    async fn create_batch_postgres(
        &self,
        batch: &NewBatch,
        rows: &[NewBatchRow],
        start: Start,
    ) -> Result<BatchCreated, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(INSERT_BATCH)
            .bind(&batch.id)
            .bind(&batch.merchant_id)
            .bind(&batch.idempotency_key)
            .bind(&batch.fingerprint)
            .bind(start.status)
            .bind(start.total)
            .bind(start.skipped)
            .bind(batch.created_at)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                let row = sqlx::query(EXISTING)
                    .bind(&batch.merchant_id)
                    .bind(&batch.idempotency_key)
                    .fetch_one(&self.pool)
                    .await?;
                return Ok(BatchCreated::Existing {
                    id: row.try_get("id")?,
                    fingerprint: row.try_get("fingerprint")?,
                });
            }
            Err(e) => return Err(e.into()),
        }
        for chunk in rows.chunks(PG_CHUNK) {
            let sql = insert_rows_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                let error = row.error.as_ref();
                query = query
                    .bind(batch.id.clone())
                    .bind(row.row)
                    .bind(row.body.clone())
                    .bind(row.idempotency_key.clone())
                    .bind(row_state(row))
                    .bind(error.map(|e| e.code.clone()))
                    .bind(error.map(|e| e.message.clone()))
                    .bind(error.and_then(|e| e.param.clone()));
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(BatchCreated::Created)
    }

    /// A batch with its progress, as `merchant_id` may see it (`None`: any merchant's).
    pub async fn batch(
        &self,
        merchant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, merchant_id, fingerprint, status, total, created_at, completed_at \
             FROM refund_batches WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let merchant: String = row.try_get("merchant_id")?;
        if merchant_id.is_some_and(|m| m != merchant) {
            return Ok(None);
        }
        let states = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM refund_batch_rows WHERE batch_id = $1 GROUP BY state",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let (mut created, mut failed_rows) = (0, 0);
        for state in &states {
            let n: i64 = state.try_get("n")?;
            match state.try_get::<String, _>("state")?.as_str() {
                "created" => created = n,
                "failed" => failed_rows = n,
                _ => {}
            }
        }
        let counts = sqlx::query(
            "SELECT r.status AS status, COUNT(*) AS n FROM refund_batch_rows b \
             JOIN refunds r ON r.id = b.refund_id WHERE b.batch_id = $1 AND b.state = 'created' \
             GROUP BY r.status ORDER BY r.status",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(BatchRecord {
            id: row.try_get("id")?,
            merchant_id: merchant,
            fingerprint: row.try_get("fingerprint")?,
            status: row.try_get("status")?,
            total: row.try_get("total")?,
            created,
            failed_rows,
            counts,
            created_at: row.try_get("created_at")?,
            completed_at: row.try_get("completed_at")?,
        }))
    }

    /// Claims the oldest running batch no live lease holds, leasing it until `lease_until`;
    /// its id and merchant.
    pub(crate) async fn claim_batch(
        &self,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        // Nearly always nothing runs: a read through the pool (the partial index of running
        // batches) says so without a write step (on SQLite, the writer thread's commit).
        let runnable: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM refund_batches WHERE status = 'running' \
             AND (lease_until IS NULL OR lease_until <= $1) LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if runnable.is_none() {
            return Ok(None);
        }
        let lock = if self.sqlite.is_some() {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let sql = format!(
            "UPDATE refund_batches SET lease_until = $2 WHERE id = (\
             SELECT id FROM refund_batches WHERE status = 'running' \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY created_at, id LIMIT 1{lock}) \
             RETURNING id, merchant_id"
        );
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let claimed = prepare(conn, &sql)?
                        .query_row(params![now, lease_until], |row| {
                            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                        })
                        .optional()
                        .map_err(sqlite_error)?;
                    let wrote = claimed.is_some();
                    Ok((claimed, wrote))
                })
                .await;
        }
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(lease_until)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("id")?, row.try_get("merchant_id")?)))
            .transpose()
    }

    /// Extends (or, with `0`, releases) this process's lease of a batch.
    pub(crate) async fn lease_batch(&self, id: &str, lease_until: i64) -> Result<(), StoreError> {
        self.write_statement(
            "UPDATE refund_batches SET lease_until = $1 WHERE id = $2".to_owned(),
            vec![
                Bind::Int(Some(lease_until)),
                Bind::Text(Some(id.to_owned())),
            ],
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` rows of a batch still to create, in row order.
    pub(crate) async fn pending_rows(
        &self,
        id: &str,
        limit: i64,
    ) -> Result<Vec<PendingRow>, StoreError> {
        sqlx::query(
            "SELECT row_number, body, idempotency_key FROM refund_batch_rows \
             WHERE batch_id = $1 AND state = 'pending' ORDER BY row_number LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(PendingRow {
                row: row.try_get("row_number")?,
                body: row
                    .try_get::<Option<String>, _>("body")?
                    .unwrap_or_default(),
                idempotency_key: row.try_get("idempotency_key")?,
            })
        })
        .collect()
    }

    /// Marks a pending row created (with its refund) or failed (with why).
    pub(crate) async fn finish_row(
        &self,
        id: &str,
        row: i64,
        outcome: Result<String, RowFailure>,
    ) -> Result<(), StoreError> {
        let (state, refund_id, error) = match outcome {
            Ok(refund_id) => ("created", Some(refund_id), None),
            Err(failure) => ("failed", None, Some(failure)),
        };
        self.write_statement(
            "UPDATE refund_batch_rows SET state = $1, refund_id = $2, error_code = $3, \
             error_message = $4, error_param = $5 \
             WHERE batch_id = $6 AND row_number = $7 AND state = 'pending'"
                .to_owned(),
            vec![
                Bind::Text(Some(state.to_owned())),
                Bind::Text(refund_id),
                Bind::Text(error.as_ref().map(|e| e.code.clone())),
                Bind::Text(error.as_ref().map(|e| e.message.clone())),
                Bind::Text(error.and_then(|e| e.param)),
                Bind::Text(Some(id.to_owned())),
                Bind::Int(Some(row)),
            ],
        )
        .await?;
        Ok(())
    }

    /// Marks a batch completed once no row is pending; whether it did.
    pub(crate) async fn complete_batch(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self
            .write_statement(
                "UPDATE refund_batches SET status = 'completed', completed_at = $1, updated_at = $1, \
                 lease_until = NULL WHERE id = $2 AND status = 'running' AND NOT EXISTS \
                 (SELECT 1 FROM refund_batch_rows WHERE batch_id = $2 AND state = 'pending')"
                    .to_owned(),
                vec![Bind::Int(Some(now)), Bind::Text(Some(id.to_owned()))],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Every row of a batch in row order with its refund's status now.
    pub async fn batch_results(&self, id: &str) -> Result<Vec<RowResult>, StoreError> {
        sqlx::query(
            "SELECT b.row_number AS row_number, b.refund_id AS refund_id, r.status AS status, \
             b.error_code AS error_code, b.error_message AS error_message, b.error_param AS error_param \
             FROM refund_batch_rows b LEFT JOIN refunds r ON r.id = b.refund_id \
             WHERE b.batch_id = $1 ORDER BY b.row_number",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let code: Option<String> = row.try_get("error_code")?;
            Ok(RowResult {
                row: row.try_get("row_number")?,
                refund_id: row.try_get("refund_id")?,
                status: row.try_get("status")?,
                error: match code {
                    Some(code) => Some(RowFailure {
                        code,
                        message: row
                            .try_get::<Option<String>, _>("error_message")?
                            .unwrap_or_default(),
                        param: row.try_get("error_param")?,
                    }),
                    None => None,
                },
            })
        })
        .collect()
    }
}

/// [`Store::create_batch`] on the SQLite writer: with a key the merchant used before, the
/// earlier batch; else the batch and each of its rows, in the writer's transaction.
fn create_batch_sqlite(
    conn: &Connection,
    batch: &NewBatch,
    rows: &[NewBatchRow],
    start: Start,
) -> Result<(BatchCreated, bool), StoreError> {
    if let Some(key) = &batch.idempotency_key {
        let existing = prepare(conn, EXISTING)?
            .query_row(params![batch.merchant_id, key], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .optional()
            .map_err(sqlite_error)?;
        if let Some((id, fingerprint)) = existing {
            return Ok((BatchCreated::Existing { id, fingerprint }, false));
        }
    }
    prepare(conn, INSERT_BATCH)?
        .execute(params![
            batch.id,
            batch.merchant_id,
            batch.idempotency_key,
            batch.fingerprint,
            start.status,
            start.total,
            start.skipped,
            batch.created_at
        ])
        .map_err(sqlite_error)?;
    let mut insert = prepare(conn, INSERT_ROW)?;
    for row in rows {
        let error = row.error.as_ref();
        insert
            .execute(params![
                batch.id,
                row.row,
                row.body,
                row.idempotency_key,
                row_state(row),
                error.map(|e| e.code.as_str()),
                error.map(|e| e.message.as_str()),
                error.and_then(|e| e.param.as_deref()),
            ])
            .map_err(sqlite_error)?;
    }
    Ok((BatchCreated::Created, true))
}

/// A multi-row insert of `rows` batch rows (PostgreSQL), 8 parameters each.
fn insert_rows_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
        .collect();
    format!(
        "INSERT INTO refund_batch_rows (batch_id, row_number, body, idempotency_key, state, error_code, error_message, error_param) VALUES {}",
        values.join(", ")
    )
}
