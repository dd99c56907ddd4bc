//! eFundPay's wire format, field for field as the "创建退款" (create refund) document and
//! DESIGN §7 name it. No logic here: mapping lives in `map.rs`, sending in `adapter.rs`.

use serde::{Deserialize, Serialize};

/// Body of `POST /v4/transactions/{transaction_id}/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRefundRequest {
    /// Integer minor units, `>= 1` (1 USD = 100).
    pub amount: i64,
    /// ISO 4217 code; always the original transaction's currency.
    pub currency: String,
    /// 1-255 characters; required by eFundPay.
    pub reason: String,
    /// Our reference for the refund (the gateway refund id), 1-50 characters, globally unique.
    pub external_identifier: String,
    /// Where eFundPay posts refund status webhooks.
    pub webhooks_url: String,
    /// Required for QR PromptPay and Thai mobile banking payments; omitted otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_detail: Option<BankDetail>,
}

/// The customer's bank account a PromptPay / Thai mobile banking refund is paid to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankDetail {
    pub bank_code: String,
    pub bank_account_name: String,
    pub bank_account_no: String,
}

/// The refund object: the create answer, each item of the status query, a webhook's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Always `"refund"`.
    #[serde(rename = "type")]
    pub object_type: String,
    /// eFundPay's refund id.
    pub id: String,
    /// The original payment's transaction id.
    pub transaction_id: String,
    /// `processing`, `succeeded`, `failed`, `declined` or `voided`.
    pub status: String,
    pub currency: String,
    /// Integer minor units; 0 when the answer leaves it out or gives `null` (no amount,
    /// which proves nothing: DESIGN §16).
    #[serde(default, deserialize_with = "refund_provider::money::minor_or_zero")]
    pub amount: i64,
    /// Informational: eFundPay may send `null` (or leave it out), which never makes a clear
    /// answer unreadable.
    #[serde(default)]
    pub reason: Option<String>,
    /// The `external_identifier` we sent.
    pub external_identifier: String,
    /// The merchant's identifier of the original transaction; informational, may be `null`.
    #[serde(default)]
    pub transaction_external_identifier: Option<String>,
    /// ISO 8601, e.g. `2013-07-16T19:23:00.000+00:00`; informational, may be `null`.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// The object type every refund object carries.
pub const REFUND_OBJECT_TYPE: &str = "refund";

/// Answer of the status query `GET /v4/transactions/{transaction_id}/refunds` (assumed, DESIGN
/// §7: the document does not describe it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundList {
    pub items: Vec<Refund>,
}

/// A refund webhook (DESIGN §7): `{"id": "evt_…", "type": "refund.updated", "created_at",
/// "data": <refund object>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339); `null` leaves the webhook's time unknown.
    #[serde(default)]
    pub created_at: Option<String>,
    pub data: Refund,
}

/// The webhook event type eFundPay sends for a refund's status change.
pub const REFUND_UPDATED: &str = "refund.updated";

/// An error answer (assumed shape; the document shows none). Every field is optional so
/// whatever eFundPay sends, its message can be kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
