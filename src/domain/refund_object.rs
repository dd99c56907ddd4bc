//! The refund object of the merchant API (DESIGN §5) and the merchant event envelope (§9),
//! rendered from a stored refund. One rendering serves API answers, idempotent replays and
//! webhook payloads, so they can never disagree.

use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::refund_record::RefundRecord;

/// A refund as merchants see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RefundObject {
    #[schema(example = "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e")]
    pub(crate) id: String,
    /// Always `"refund"`.
    pub(crate) object: &'static str,
    pub(crate) merchant_id: String,
    pub(crate) provider: String,
    pub(crate) provider_refund_id: Option<String>,
    pub(crate) provider_reference: String,
    pub(crate) payment_id: String,
    /// Major units as a decimal string; `null` for a full refund not yet reported.
    #[schema(example = "12.99")]
    pub(crate) amount: Option<String>,
    pub(crate) currency: String,
    pub(crate) amount_minor: Option<i64>,
    #[schema(value_type = super::refund::RefundStatus)]
    pub(crate) status: &'static str,
    pub(crate) failure_code: Option<String>,
    pub(crate) failure_message: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) reference: Option<String>,
    #[schema(value_type = Object)]
    pub(crate) metadata: Value,
    #[schema(value_type = Vec<Object>)]
    pub(crate) breakdown: Value,
    /// Set once finance must look at this refund; its `requires_attention` events say why
    /// (`detail.reason`: `provider_has_no_record`, `amount_mismatch`, `exceeds_refundable`,
    /// `answer_contradicts_request`, `contradicts_final_status`, `sync_gave_up`).
    pub(crate) requires_attention: bool,
    /// Why a `pending` refund has not been sent (DESIGN §17, §19): `provider_unavailable` while
    /// it waits in its provider account's queue (it may then be canceled),
    /// `awaiting_approval` while it waits for an operator's approval; null otherwise.
    #[schema(example = json!(null))]
    pub(crate) pending_reason: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// RFC 3339 UTC text of Unix milliseconds.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl From<&RefundRecord> for RefundObject {
    fn from(r: &RefundRecord) -> Self {
        Self {
            id: r.id.to_string(),
            object: "refund",
            merchant_id: r.merchant_id.clone(),
            provider: r.provider.clone(),
            provider_refund_id: r.provider_refund_id.clone(),
            provider_reference: r.provider_reference.clone(),
            payment_id: r.payment_id.clone(),
            amount: r.amount.clone(),
            currency: r.currency.clone(),
            amount_minor: r.amount_minor,
            status: r.status.as_str(),
            failure_code: r.failure_code.as_ref().map(|c| c.as_str().to_owned()),
            failure_message: r.failure_message.clone(),
            reason: r.reason.clone(),
            reference: r.reference.clone(),
            metadata: r.metadata.clone(),
            breakdown: r.breakdown.clone(),
            requires_attention: r.requires_attention,
            pending_reason: r.pending_reason.as_ref().map(|p| p.as_str().to_owned()),
            created_at: rfc3339_ms(r.created_at),
            updated_at: rfc3339_ms(r.updated_at),
        }
    }
}

impl RefundObject {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A merchant event: `{"id": "evt_…", "type", "created_at", "data": <refund object>}`.
pub(crate) fn merchant_event(
    event_id: &str,
    event_type: &str,
    at_ms: i64,
    refund: &RefundRecord,
) -> String {
    serde_json::json!({
        "id": event_id,
        "type": event_type,
        "created_at": rfc3339_ms(at_ms),
        "data": RefundObject::from(refund),
    })
    .to_string()
}

/// A new event id: `evt_` + 32 hex digits of a UUIDv7.
pub(crate) fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}
