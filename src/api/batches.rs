//! Bulk refunds over HTTP (DESIGN §19): `POST /v1/refund_batches` (a merchant's CSV or NDJSON
//! file, validated whole: `400 batch_invalid` with the first 100 rows' errors, unless
//! `?skip_invalid=true`; `?dry_run=true` says what each row would do and creates nothing),
//! `GET /v1/refund_batches/{id}` (progress) and `GET /v1/refund_batches/{id}/results`
//! (`?format=csv|jsonl`). The same file posted again with the same `Idempotency-Key` answers
//! the same batch; another file with that key is `422 idempotency_key_reused`.
//!
//! The POST route has a body limit of its own (8 MiB), outside the API's 64 KiB. The file
//! is read by the `parse` module; the refunds are made later, in the background, by
//! `crate::batch`.

pub(crate) mod parse;

use std::collections::HashMap;

use axum::extract::{Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::answer::json_response;
use super::error::{ApiError, ErrorCode};
use super::extract::{media_type, read_limited, refuse_unknown};
use super::extract::{Caller, IdempotencyKeyHeader, MerchantAuth, QueryMap};
use crate::domain::refund_object::rfc3339_ms;
use crate::domain::{AuditKind, IdempotencyKey, NewAuditEvent};
use crate::reconcile::export::spreadsheet_safe;
use crate::state::AppState;
use crate::store::batches::{BatchCreated, BatchRecord, NewBatch, NewBatchRow, RowFailure};
use parse::{parse, BatchFormat, BatchRow, FileError, RowError};

/// Largest file accepted.
pub(crate) const BATCH_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// Row errors listed in a `batch_invalid` answer, at most.
const LISTED_ERRORS: usize = 100;

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ParameterInvalid, message).with_param(param)
}

fn flag(query: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match query.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid(name, format!("`{name}` must be true or false"))),
    }
}

/// The batch object.
fn batch_json(batch: &BatchRecord) -> Value {
    let counts: Map<String, Value> = batch
        .counts
        .iter()
        .map(|(status, n)| (status.clone(), json!(n)))
        .collect();
    json!({
        "id": batch.id,
        "object": "refund_batch",
        "merchant_id": batch.merchant_id,
        "status": batch.status,
        "total": batch.total,
        "created": batch.created,
        "failed_rows": batch.failed_rows,
        "counts": counts,
        "created_at": rfc3339_ms(batch.created_at),
        "completed_at": batch.completed_at.map(rfc3339_ms),
    })
}

/// `batch_invalid` naming rows: `{"row", "column", "code", "message"}` each.
fn batch_invalid(message: String, rows: Vec<Value>, invalid_rows: usize) -> ApiError {
    let mut details = Map::new();
    details.insert("rows".into(), Value::Array(rows));
    details.insert("invalid_rows".into(), json!(invalid_rows));
    ApiError::new(ErrorCode::BatchInvalid, message).with_details(details)
}

fn file_refused(error: &FileError) -> ApiError {
    let row = json!({"row": error.row(), "column": error.column(), "code": "batch_invalid", "message": error.to_string()});
    batch_invalid(format!("the file is refused: {error}"), vec![row], 1)
}

fn row_error_json(error: &RowError) -> Value {
    json!({"row": error.row, "column": error.column, "code": error.code, "message": error.message})
}

/// Reads the body up to [`BATCH_BODY_LIMIT`] (`413 body_too_large` beyond).
async fn read_body(request: Request) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::BodyTooLarge,
            "a batch file is limited to 8 MiB and 10,000 rows",
        )
    };
    read_limited(request, BATCH_BODY_LIMIT, BATCH_BODY_LIMIT, too_large).await
}

fn format_of(request: &Request) -> Result<BatchFormat, ApiError> {
    match media_type(request.headers()).as_str() {
        "text/csv" => Ok(BatchFormat::Csv),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            Ok(BatchFormat::Ndjson)
        }
        _ => Err(ApiError::new(
            ErrorCode::BodyInvalid,
            "send the file as `Content-Type: text/csv` or `application/x-ndjson`",
        )),
    }
}

/// Create a batch of refunds from a CSV or NDJSON file (merchants only).
#[utoipa::path(post, path = "/v1/refund_batches", tag = "refund_batches")]
pub(crate) async fn create_batch(
    state: AppState,
    MerchantAuth(merchant): MerchantAuth,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    QueryMap(query): QueryMap,
    request: Request,
) -> Result<Response, ApiError> {
    refuse_unknown(&query, &["skip_invalid", "dry_run"])?;
    let (skip_invalid, dry_run) = (flag(&query, "skip_invalid")?, flag(&query, "dry_run")?);
    let format = format_of(&request)?;
    let bytes = read_body(request).await?;
    let rows = parse(&bytes, format).map_err(|e| file_refused(&e))?;
    let errors: Vec<&RowError> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
    if !errors.is_empty() && !skip_invalid && !dry_run {
        let listed = errors
            .iter()
            .take(LISTED_ERRORS)
            .map(|e| row_error_json(e))
            .collect();
        return Err(batch_invalid(
            format!(
                "{} of {} rows are invalid (the first is row {}): nothing was created; fix them, or send ?skip_invalid=true to create the others",
                errors.len(),
                rows.len(),
                errors[0].row
            ),
            listed,
            errors.len(),
        ));
    }
    if dry_run {
        return dry_run_answer(&state, &merchant, &rows).await;
    }
    let mut hasher = Sha256::new();
    hasher.update([format as u8, u8::from(skip_invalid)]);
    hasher.update(&bytes);
    let fingerprint = hex::encode(hasher.finalize());
    let id = format!("rb_{}", uuid::Uuid::now_v7().simple());
    let new_rows: Vec<NewBatchRow> = rows
        .iter()
        .map(|row| match row {
            Ok(row) => NewBatchRow {
                row: i64::try_from(row.row).unwrap_or(i64::MAX),
                body: Some(Value::Object(row.body.clone()).to_string()),
                idempotency_key: row.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
                error: None,
            },
            Err(error) => NewBatchRow {
                row: i64::try_from(error.row).unwrap_or(i64::MAX),
                body: None,
                idempotency_key: None,
                error: Some(RowFailure {
                    code: error.code.to_owned(),
                    message: error.message.clone(),
                    param: error.column.clone(),
                }),
            },
        })
        .collect();
    let total = new_rows.len();
    let skipped = errors.len();
    let store = &state.engine.store;
    let created = store
        .create_batch(
            NewBatch {
                id: id.clone(),
                merchant_id: merchant.id.clone(),
                idempotency_key: key.as_ref().map(|k| k.as_str().to_owned()),
                fingerprint: fingerprint.clone(),
                created_at: store.now(),
            },
            new_rows,
        )
        .await?;
    let (id, status, replayed) = match created {
        BatchCreated::Created => (id, StatusCode::ACCEPTED, false),
        BatchCreated::Existing {
            id,
            fingerprint: earlier,
        } if earlier == fingerprint => (id, StatusCode::OK, true),
        BatchCreated::Existing { .. } => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used with another file (or other options)",
            ))
        }
    };
    if !replayed {
        store
            .append_audit(NewAuditEvent::new(
                merchant.id.clone(),
                AuditKind::RefundBatchCreated,
                Some(id.clone()),
                json!({"merchant": merchant.id, "total": total, "skipped_invalid": skipped,
                       "format": match format { BatchFormat::Csv => "csv", BatchFormat::Ndjson => "ndjson" }}),
            ))
            .await?;
        tracing::info!(batch_id = %id, merchant = %merchant.id, total, skipped, "refund batch created");
    }
    let batch = store.batch(Some(&merchant.id), &id).await?.ok_or_else(|| {
        ApiError::internal(crate::store::StoreError::Corrupt(format!(
            "batch {id} vanished"
        )))
    })?;
    Ok(json_response(
        status,
        batch_json(&batch).to_string(),
        replayed,
    ))
}

/// What each row would do: its provider and amount (and whether it would await approval),
/// or the error it would get. Rows of one payment are counted together against what is
/// left of it.
async fn dry_run_answer(
    state: &AppState,
    merchant: &crate::config::MerchantConfig,
    rows: &[Result<BatchRow, RowError>],
) -> Result<Response, ApiError> {
    let mut used: HashMap<(String, String, String), i128> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    let mut valid = 0usize;
    for row in rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                out.push(json!({"row": error.row, "error": row_error_json(error)}));
                continue;
            }
        };
        let placeholder = IdempotencyKey::parse("dry-run")
            .ok_or_else(|| ApiError::internal(crate::store::StoreError::Corrupt("key".into())))?;
        let outcome = match row.command(placeholder) {
            Err(error) => Err(row_error_json(&error)),
            Ok(command) => match state.engine.preview_refund(merchant, &command).await {
                Err(crate::engine::EngineError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    let e = ApiError::from(e);
                    Err(
                        json!({"row": row.row, "column": e.param, "code": e.code.describe().2, "message": e.message}),
                    )
                }
                Ok(preview) => {
                    let minor = preview.amount.map(|m| i128::from(m.minor_units().get()));
                    let payment = (
                        preview.provider.clone(),
                        preview.account.clone(),
                        command.payment_id.to_string(),
                    );
                    let taken = used.entry(payment).or_insert(0);
                    match (preview.refundable_minor, minor) {
                        (Some(left), Some(minor)) if minor > left - *taken => Err(json!({
                            "row": row.row, "column": "amount", "code": "amount_exceeds_refundable",
                            "message": format!("the amount exceeds what is left to refund of the payment after the file's earlier rows")})),
                        _ => {
                            *taken += minor.unwrap_or(0);
                            Ok(json!({
                                "row": row.row,
                                "provider": preview.provider,
                                "amount": preview.amount.map(|m| m.to_major_string()),
                                "currency": command.currency.to_string(),
                                "awaiting_approval": preview.awaiting_approval,
                            }))
                        }
                    }
                }
            },
        };
        match outcome {
            Ok(ok) => {
                valid += 1;
                out.push(ok);
            }
            Err(error) => out.push(json!({"row": row.row, "error": error})),
        }
    }
    let body = json!({
        "object": "refund_batch_preview",
        "total": rows.len(),
        "valid": valid,
        "invalid": rows.len() - valid,
        "rows": out,
    });
    Ok(json_response(StatusCode::OK, body.to_string(), false))
}

async fn visible_batch(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<BatchRecord, ApiError> {
    let scope = caller.scope(None, state)?;
    let not_found = || {
        ApiError::new(
            ErrorCode::RouteNotFound,
            format!(
                "no refund batch `{}`",
                id.chars().take(64).collect::<String>()
            ),
        )
    };
    if !id.starts_with("rb_") || id.len() > 64 {
        return Err(not_found());
    }
    state
        .engine
        .store
        .batch(scope.as_deref(), id)
        .await?
        .ok_or_else(not_found)
}

/// A batch's progress.
#[utoipa::path(get, path = "/v1/refund_batches/{id}", tag = "refund_batches")]
pub(crate) async fn get_batch(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let batch = visible_batch(&state, &caller, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        batch_json(&batch).to_string(),
        false,
    ))
}

/// A batch's rows: row, refund id, status, error (`?format=csv|jsonl`, default csv).
#[utoipa::path(get, path = "/v1/refund_batches/{id}/results", tag = "refund_batches")]
pub(crate) async fn batch_results(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
    QueryMap(query): QueryMap,
) -> Result<Response, ApiError> {
    refuse_unknown(&query, &["format"])?;
    let csv = match query.get("format").map(String::as_str) {
        None | Some("csv") => true,
        Some("jsonl") => false,
        Some(_) => return Err(invalid("format", "`format` must be csv or jsonl")),
    };
    let batch = visible_batch(&state, &caller, &id).await?;
    let results = state.engine.store.batch_results(&batch.id).await?;
    let mut out = Vec::new();
    if csv {
        let mut writer = csv::WriterBuilder::new().from_writer(&mut out);
        let header = [
            "row",
            "refund_id",
            "status",
            "error_code",
            "error_param",
            "error_message",
        ];
        let _ = writer.write_record(header);
        for result in &results {
            let error = result.error.as_ref();
            let row = result.row.to_string();
            let fields = [
                row.as_str(),
                result.refund_id.as_deref().unwrap_or(""),
                result.status.as_deref().unwrap_or("failed_row"),
                error.map_or("", |e| e.code.as_str()),
                error.and_then(|e| e.param.as_deref()).unwrap_or(""),
                error.map_or("", |e| e.message.as_str()),
            ];
            let _ = writer.write_record(fields.iter().map(|f| spreadsheet_safe(f).into_owned()));
        }
        let _ = writer.flush();
        drop(writer);
    } else {
        for result in &results {
            let line = json!({
                "row": result.row,
                "refund_id": result.refund_id,
                "status": result.status,
                "error": result.error.as_ref().map(|e| json!({"code": e.code, "param": e.param, "message": e.message})),
            });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
    }
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    let disposition = format!(
        "attachment; filename=\"{}-results.{}\"",
        batch.id,
        if csv { "csv" } else { "jsonl" }
    );
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
