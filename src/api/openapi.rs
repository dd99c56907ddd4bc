//! `GET /openapi.json`: the OpenAPI 3.1 document of the API. utoipa generates it from the
//! handlers' annotations (which operations exist, their summaries, tags and the refund
//! object's schema); `contract.rs` completes each operation with its parameters, request body
//! and every answer, errors included. A handler without a contract entry fails the tests.

pub mod contract;

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::{
    approvals, audit, batches, cancel, export, health, operators, payments, provider_accounts,
    reconciliation, refunds, webhooks,
};
use crate::domain::refund_object::RefundObject;
use crate::domain::RefundStatus;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "refund-gateway",
        description = "One refund API in front of AuthMS, e-Buy and eFundPay. Amounts are decimal strings in major units; every error is {\"error\": {type, code, message, param?, request_id}}."
    ),
    paths(
        refunds::create_refund,
        refunds::get_refund,
        refunds::list_refund_events,
        refunds::list_refunds,
        cancel::cancel_refund,
        approvals::approve_refund,
        approvals::reject_refund,
        batches::create_batch,
        batches::get_batch,
        batches::batch_results,
        operators::resolve_refund,
        operators::me,
        audit::list_audit_events,
        provider_accounts::list_provider_accounts,
        webhooks::provider_webhook,
        webhooks::merchant_account_webhook,
        reconciliation::get_summary,
        reconciliation::import_statement,
        payments::list_payment_refunds,
        export::export_refunds,
        health::healthz,
        health::readyz,
        health::metrics,
    ),
    components(schemas(RefundObject, RefundStatus, provider_accounts::ProviderAccount))
)]
pub(crate) struct ApiDoc;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The generated document with every operation completed from [`contract`]; operations the
/// contract does not know are listed in the error.
pub(crate) fn build() -> Result<Value, Vec<String>> {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).map_err(|e| vec![e.to_string()])?;
    let mut unknown = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for method in METHODS {
                let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else {
                    continue;
                };
                match contract::operation(method, path) {
                    Some(Value::Object(completed)) => operation.extend(completed),
                    _ => unknown.push(format!("{} {path}", method.to_uppercase())),
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    if let Some(components) = components.and_then(Value::as_object_mut) {
        let schemas = components.entry("schemas").or_insert_with(|| json!({}));
        if let (Some(schemas), Value::Object(ours)) = (schemas.as_object_mut(), contract::schemas())
        {
            schemas.extend(ours);
        }
        components.insert("responses".into(), contract::responses());
        components.insert(
            "securitySchemes".into(),
            json!({"bearer": {"type": "http", "scheme": "bearer",
                "description": "The merchant's (or operator's) API key: Authorization: Bearer <key>"}}),
        );
    }
    Ok(doc)
}

/// The document, built once.
pub(crate) fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        build().unwrap_or_else(|unknown| {
            tracing::error!(operations = ?unknown, "operations missing from the OpenAPI contract");
            json!({"openapi": "3.1.0", "info": {"title": "refund-gateway", "version": "0"}, "paths": {}})
        })
    })
}

pub(crate) async fn openapi_json() -> Json<Value> {
    Json(document().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_annotated_operation_has_a_contract_entry() {
        let doc = build().unwrap_or_else(|unknown| panic!("no contract for {unknown:?}"));
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 22, "{:?}", paths.keys().collect::<Vec<_>>());
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("item") {
                let responses = operation["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} has no success answer"
                );
                assert!(
                    responses.contains_key("429") && responses.contains_key("408"),
                    "{method} {path}: every request may be rate limited or time out"
                );
                let secured = operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
                assert_eq!(
                    secured,
                    responses.contains_key("401"),
                    "{method} {path}: 401 exactly where a key is needed"
                );
            }
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = build().unwrap_or_else(|unknown| panic!("no contract for {unknown:?}"));
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        out.push(target);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }
}
