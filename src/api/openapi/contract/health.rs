//! The contract of the probes: liveness, readiness and the Prometheus metrics, open to
//! whoever can reach them.

use serde_json::json;

use super::parts::{answer, Operation, Security};

/// The probes, by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("get", "/healthz") => Operation {
            parameters: vec![],
            body: None,
            ok: json!({"200": answer("The process is up", "application/json", json!({"type": "object"}))}),
            errors: &[408, 429],
            security: Security::Open,
        },
        ("get", "/readyz") => Operation {
            parameters: vec![],
            body: None,
            ok: json!({"200": answer("The store answers", "application/json", json!({"type": "object"}))}),
            errors: &[408, 429, 503],
            security: Security::Open,
        },
        ("get", "/metrics") => Operation {
            parameters: vec![],
            body: None,
            ok: json!({"200": answer("Prometheus text exposition (labels from closed sets only)", "text/plain", json!({"type": "string"}))}),
            errors: &[408, 429],
            security: Security::Open,
        },
        _ => return None,
    };
    Some(operation)
}
