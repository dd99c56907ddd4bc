//! `GET /v1/refunds/export?from=&to=&format=csv|jsonl`: the caller's refunds (an operator's:
//! every merchant's, or `?merchant=`'s) created in
//! `[from, to)`, newest first, streamed page by page (see `reconcile::export`). A static
//! route, so it takes precedence over `/v1/refunds/{id}` (axum 0.8 / matchit).

use axum::body::Body;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, QueryMap};
use super::reconciliation::{parse_period, PeriodQuery};
use crate::reconcile::export::{stream_export, ExportFormat};
use crate::state::AppState;

/// Export refunds for spreadsheets and BI tools.
#[utoipa::path(get, path = "/v1/refunds/export", tag = "reconciliation")]
pub(crate) async fn export_refunds(
    state: AppState,
    caller: Caller,
    query: QueryMap,
) -> Result<Response, ApiError> {
    let PeriodQuery { from, to, query } =
        parse_period(query, &["from", "to", "format", "merchant"])?;
    let scope = caller.scope(query.get("merchant").map(String::as_str), &state)?;
    let format = match query.get("format") {
        None => ExportFormat::Csv,
        Some(text) => ExportFormat::parse(text).ok_or_else(|| {
            ApiError::new(ErrorCode::ParameterInvalid, "`format` must be csv or jsonl")
                .with_param("format")
        })?,
    };
    let extension = if format == ExportFormat::Csv {
        "csv"
    } else {
        "jsonl"
    };
    let stream =
        stream_export(state.engine.store.clone(), scope, from, to, format).map_err(|error| {
            tracing::error!(error = %error, "refund export stopped");
            std::io::Error::other(error.to_string())
        });
    Ok((
        [
            (CONTENT_TYPE, format.content_type().to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"refunds.{extension}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
