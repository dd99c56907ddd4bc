//! `GET /v1/audit_events` (DESIGN §18): the audit log, operators only, newest first, paged
//! like the refunds list (`limit`, `starting_after`), filtered by `actor`, `kind` and
//! `created_gte` / `created_lt`.

use std::collections::HashMap;

use axum::Json;
use serde_json::Value;

use super::answer::list_page;
use super::error::{ApiError, ErrorCode};
use super::extract::{refuse_unknown, OperatorAuth, QueryMap};
use super::refunds::parse_time;
use crate::domain::AuditKind;
use crate::state::AppState;
use crate::store::AuditFilter;

const PARAMS: [&str; 6] = [
    "actor",
    "kind",
    "created_gte",
    "created_lt",
    "limit",
    "starting_after",
];

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ParameterInvalid, message).with_param(param)
}

/// Reads the query; anything unknown or malformed is a 400 naming the parameter.
pub(crate) fn parse_filter(query: &HashMap<String, String>) -> Result<AuditFilter, ApiError> {
    refuse_unknown(query, &PARAMS)?;
    let actor = match query.get("actor") {
        None => None,
        Some(actor)
            if !actor.is_empty()
                && actor.len() <= 64
                && actor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Some(actor.clone())
        }
        Some(_) => {
            return Err(invalid(
                "actor",
                "`actor` must be an operator id or `signal`",
            ))
        }
    };
    let kind = match query.get("kind") {
        None => None,
        Some(text) => Some(AuditKind::parse(text).ok_or_else(|| {
            let known: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
            invalid(
                "kind",
                format!("`kind` must be one of {}", known.join(", ")),
            )
        })?),
    };
    let created_gte = query
        .get("created_gte")
        .map(|v| parse_time("created_gte", v))
        .transpose()?;
    let created_lt = query
        .get("created_lt")
        .map(|v| parse_time("created_lt", v))
        .transpose()?;
    let limit = match query.get("limit") {
        None => 10,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| invalid("limit", "`limit` must be an integer from 1 to 100"))?,
    };
    let starting_after = match query.get("starting_after") {
        None => None,
        Some(id)
            if id.len() == 35
                && id.starts_with("ae_")
                && id[3..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(id.clone())
        }
        Some(_) => {
            return Err(invalid(
                "starting_after",
                "`starting_after` must be an audit event id (ae_…)",
            ))
        }
    };
    Ok(AuditFilter {
        actor,
        kind,
        created_gte,
        created_lt,
        starting_after,
        limit,
    })
}

/// The audit log, newest first (operators only).
#[utoipa::path(get, path = "/v1/audit_events", tag = "operators")]
pub(crate) async fn list_audit_events(
    state: AppState,
    _operator: OperatorAuth,
    QueryMap(query): QueryMap,
) -> Result<Json<Value>, ApiError> {
    let filter = parse_filter(&query)?;
    let events = state.engine.store.list_audit(&filter).await?;
    Ok(list_page(events, filter.limit, |e| e.to_json()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_full_query_is_read() {
        let filter = parse_filter(&query(&[
            ("actor", "finance"),
            ("kind", "refund.resolved"),
            ("created_gte", "2026-01-01T00:00:00Z"),
            ("limit", "5"),
        ]))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(filter.actor.as_deref(), Some("finance"));
        assert_eq!(filter.kind, Some(AuditKind::RefundResolved));
        assert_eq!(filter.limit, 5);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (name, value) in [
            ("kind", "refund.deleted"),
            ("actor", "x y"),
            ("created_lt", "yesterday"),
            ("limit", "0"),
            ("starting_after", "rf_1"),
            ("surprise", "1"),
        ] {
            let error = parse_filter(&query(&[(name, value)]))
                .err()
                .unwrap_or_else(|| panic!("accepted {name}={value}"));
            assert_eq!(error.param.as_deref(), Some(name));
        }
    }
}
