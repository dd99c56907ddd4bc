//! The contract of the providers' webhooks: open (the provider's signature is the proof),
//! one route per provider and one per merchant's own provider account.

use serde_json::{json, Value};

use super::parts::{answer, path, providers, schema_ref, Operation, Security};

/// The webhook routes, by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("post", "/v1/webhooks/{provider}") | ("post", "/v1/webhooks/{provider}/{merchant_id}") => {
            let mut parameters = vec![path(
                "provider",
                providers(),
                "The provider sending the webhook",
            )];
            if path_template.ends_with("{merchant_id}") {
                parameters.push(path(
                    "merchant_id",
                    json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
                    "The merchant whose own provider account the webhook is for",
                ));
            }
            Operation {
                parameters,
                body: Some(json!({"required": true,
                        "description": "The provider's own webhook body, verified by its signature (eFundPay: header eFundPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>); anything not provably genuine is 400 webhook_invalid; verified events beyond server.webhook_rate_limit_per_second per provider account are 429 (retry after Retry-After)",
                        "content": {"application/json": {"schema": {"type": "object"}}}})),
                ok: json!({"200": answer("Received (applied once; a repeated event is acknowledged; an event for a refund this gateway does not know is acknowledged with refund null and stores nothing)", "application/json", schema_ref("WebhookReceipt"))}),
                errors: &[400, 404, 408, 413, 429, 503],
                security: Security::Open,
            }
        }
        _ => return None,
    };
    Some(operation)
}

/// What a webhook is answered.
pub(super) fn schemas() -> Value {
    json!({
        "WebhookReceipt": {
            "type": "object", "required": ["received"],
            "properties": {"received": {"type": "boolean"}},
        },
    })
}
