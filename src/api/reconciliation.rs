//! `GET /v1/reconciliation/summary` and `POST /v1/reconciliation/statements/{provider}`
//! (DESIGN §10, §14), scoped to the caller: a merchant's (a statement line that belongs to
//! another merchant's refund is `missing_in_gateway` for this one, never revealed), or an
//! operator's (every merchant's, or `?merchant=`'s). Only an operator's import settles.
//!
//! Statements are the provider's file in its configured format (`[statements.<provider>]`,
//! else the gateway's six-column CSV), sent as `text/csv` or, for files that are not UTF-8
//! (GBK), `application/octet-stream`, of at most `STATEMENT_BODY_LIMIT` (8 MiB, about
//! 100,000 lines); this route sits outside the API's 64 KiB JSON limit with a limit of its
//! own. Larger statements go through `refund-gateway reconcile`, which streams.
//!
//! The refunds of the period missing from a statement can be any number whatever its size:
//! an answer lists one page of them (`?missing_offset=&missing_limit=`, at most 1,000 by
//! default, 10,000 at most; `missing_in_statement_page` says which and whether more follow)
//! and counts them all (`by_kind`), so memory and the answer stay bounded (`PagedSink`).

use std::collections::HashMap;

use axum::extract::{Path, Request};
use axum::Json;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use refund_provider::ProviderId;

use super::error::{ApiError, ErrorCode};
use super::extract::{media_type, read_limited, refuse_unknown, Caller, QueryMap};
use crate::reconcile::statement::{reconcile, MissingPage, Options, PagedSink};
use crate::reconcile::summary::{summary, Summary};
use crate::state::AppState;

/// Largest statement body the API reads.
pub(crate) const STATEMENT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Oversized statements are read and dropped up to this size before the 413 is answered.
const STATEMENT_DRAIN_LIMIT: usize = 4 * STATEMENT_BODY_LIMIT;

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ParameterInvalid, message).with_param(param)
}

/// A whole-number query parameter `name` in `0..=max` (`default` when absent).
fn count_param(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| invalid(name, format!("`{name}` must be a whole number up to {max}"))),
    }
}

/// `?from=&to=` in Unix ms, and the whole query for other parameters.
#[derive(Debug)]
pub(crate) struct PeriodQuery {
    pub(crate) from: Option<i64>,
    pub(crate) to: Option<i64>,
    pub(crate) query: HashMap<String, String>,
}

/// Parses `?from=&to=` (RFC 3339, both optional, `from` before `to`) and refuses any other
/// parameter than `allowed`.
pub(crate) fn parse_period(
    QueryMap(query): QueryMap,
    allowed: &[&str],
) -> Result<PeriodQuery, ApiError> {
    refuse_unknown(&query, allowed)?;
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(name)
            .map(|value| {
                OffsetDateTime::parse(value, &Rfc3339)
                    .map(|t| {
                        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
                    })
                    .map_err(|_| {
                        invalid(
                            name,
                            format!(
                                "`{name}` must be an RFC 3339 time such as 2026-11-23T00:00:00Z"
                            ),
                        )
                    })
            })
            .transpose()
    };
    // `to` not after `from` is an empty period (nothing in it), as a `created_lt` not after
    // `created_gte` is for the list: one rule for every period, and one the OpenAPI
    // document can state.
    let (from, to) = (time("from")?, time("to")?);
    Ok(PeriodQuery { from, to, query })
}

/// Totals by provider × currency × status, clearing balances, flagged refunds, ageing of open
/// refunds and possible duplicates.
#[utoipa::path(get, path = "/v1/reconciliation/summary", tag = "reconciliation")]
pub(crate) async fn get_summary(
    state: AppState,
    caller: Caller,
    query: QueryMap,
) -> Result<Json<Summary>, ApiError> {
    let PeriodQuery { from, to, query } = parse_period(query, &["from", "to", "merchant"])?;
    let scope = caller.scope(query.get("merchant").map(String::as_str), &state)?;
    let now = crate::store::now_ms();
    Ok(Json(
        summary(&state.engine.store, scope.as_deref(), from, to, now).await?,
    ))
}

/// Reconciles a provider's CSV statement; an operator's import also settles its matched lines.
#[utoipa::path(
    post,
    path = "/v1/reconciliation/statements/{provider}",
    tag = "reconciliation"
)]
pub(crate) async fn import_statement(
    state: AppState,
    caller: Caller,
    Path(provider): Path<String>,
    query: QueryMap,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let PeriodQuery { from, to, query } = parse_period(
        query,
        &["from", "to", "merchant", "missing_offset", "missing_limit"],
    )?;
    let missing_offset = count_param(&query, "missing_offset", 0, u64::MAX)?;
    let missing_limit = count_param(
        &query,
        "missing_limit",
        MissingPage::DEFAULT_LIMIT,
        MissingPage::MAX_LIMIT,
    )?
    .max(1);
    let scope = caller.scope(query.get("merchant").map(String::as_str), &state)?;
    let provider_id = statement_provider(&state, &caller, &provider)?;
    // Only an operator's import settles (DESIGN §14); a statement of a provider whose
    // merchants have accounts of their own is one merchant's statement.
    let settle = matches!(caller, Caller::Operator(_));
    if settle && scope.is_none() && state.engine.providers().has_merchant_accounts(&provider_id) {
        return Err(ApiError::new(
            ErrorCode::ParameterMissing,
            format!(
                "merchants have accounts of their own with {provider_id}: name the merchant whose statement this is with `?merchant=`"
            ),
        )
        .with_param("merchant"));
    }
    let body = read_statement(request).await?;
    let period = match (from, to) {
        (None, None) => None,
        // Without `from`, the period starts at the Unix epoch (no refund is older), so the
        // report's `period.from` is a real time.
        (from, to) => Some((from.unwrap_or(0), to.unwrap_or_else(crate::store::now_ms))),
    };
    let format = state.engine.config().statement_format(&provider);
    let merchant = scope.clone();
    let options = Options {
        provider: provider.clone(),
        merchant_id: scope,
        period,
        settle,
        format,
    };
    let mut sink = PagedSink::new(missing_offset, missing_limit);
    let report = reconcile(
        &state.engine.store,
        options,
        body.as_slice(),
        &mut sink,
        |_| {},
    )
    .await?;
    let mut value = serde_json::to_value(&report).map_err(ApiError::internal)?;
    if let (Caller::Operator(operator), Some(settlement)) = (&caller, &report.settlement) {
        let statement_id = crate::reconcile::audit::statement_id();
        let entry = crate::reconcile::audit::settled(
            &operator.id,
            &statement_id,
            &provider,
            merchant.as_deref(),
            &report,
            settlement,
        );
        state.engine.store.append_audit(entry).await?;
        if let Value::Object(map) = &mut value {
            map.insert("statement_id".into(), Value::String(statement_id));
        }
    }
    add_listed(&mut value, &sink);
    Ok(Json(value))
}

/// The provider named in the path, when the caller may import its statements: one of a
/// merchant's own providers, or any configured one for an operator.
fn statement_provider(
    state: &AppState,
    caller: &Caller,
    provider: &str,
) -> Result<ProviderId, ApiError> {
    let registry = &state.engine.providers();
    ProviderId::parse(provider)
        .ok()
        .filter(|id| match caller {
            Caller::Merchant(merchant) => {
                merchant.may_use(id) && registry.for_merchant(id, &merchant.id).is_some()
            }
            Caller::Operator(_) => registry.get(id).is_some(),
        })
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ProviderUnsupported,
                "no such provider is configured for this caller",
            )
            .with_param("provider")
        })
}

/// The statement's bytes: `text/csv` or `application/octet-stream`, at most
/// `STATEMENT_BODY_LIMIT`.
async fn read_statement(request: Request) -> Result<Vec<u8>, ApiError> {
    let mime = media_type(request.headers());
    if mime != "text/csv" && mime != "application/octet-stream" {
        return Err(ApiError::new(
            ErrorCode::BodyInvalid,
            "send the statement with `Content-Type: text/csv` (or `application/octet-stream` for a file that is not UTF-8)",
        ));
    }
    let too_large = || {
        ApiError::new(
            ErrorCode::BodyTooLarge,
            "statements are limited to 8 MiB here; reconcile larger ones with `refund-gateway reconcile`",
        )
    };
    read_limited(
        request,
        STATEMENT_BODY_LIMIT,
        STATEMENT_DRAIN_LIMIT,
        too_large,
    )
    .await
}

/// Adds to the report what the sink listed: the variances, the malformed lines and which
/// page of the missing_in_statement ones.
fn add_listed(report: &mut Value, sink: &PagedSink) {
    if let Value::Object(map) = report {
        map.insert(
            "variances".into(),
            serde_json::to_value(&sink.variances).unwrap_or_default(),
        );
        map.insert(
            "malformed".into(),
            serde_json::to_value(&sink.malformed).unwrap_or_default(),
        );
        map.insert(
            "missing_in_statement_page".into(),
            serde_json::to_value(sink.page()).unwrap_or_default(),
        );
    }
}
