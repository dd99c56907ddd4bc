//! Stripe's wire format for refunds, field for field as its API reference and OpenAPI
//! description name them (`refund`, the list object, the error object, the event object).
//! No logic here: mapping lives in `map.rs`, sending in `adapter.rs`. Unknown fields are
//! ignored (Stripe adds fields without a new API version).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `object` of a refund.
pub const REFUND_OBJECT: &str = "refund";
/// The `object` of a list.
pub const LIST_OBJECT: &str = "list";
/// The `object` of an event.
pub const EVENT_OBJECT: &str = "event";

/// The refund object: the create answer, the retrieve answer, each list item, and an event's
/// `data.object` for the refund events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// `re_…`
    pub id: String,
    /// Always `refund`.
    pub object: String,
    /// In Stripe's minor units of `currency` (see `currency.rs`); 0 when the answer leaves
    /// it out or gives `null` (no amount, which proves nothing: DESIGN §16).
    #[serde(default, deserialize_with = "refund_provider::money::minor_or_zero")]
    pub amount: i64,
    #[serde(default)]
    pub balance_transaction: Option<String>,
    /// The refunded charge (`ch_…`, `py_…`).
    #[serde(default)]
    pub charge: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Lower-case ISO code.
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_details: Option<Value>,
    /// Set when the refund failed: `lost_or_stolen_card`, `expired_or_canceled_card`,
    /// `charge_for_pending_refund_disputed`, `insufficient_funds`, `declined`,
    /// `merchant_request` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Nullable; ours carry `gateway_refund_id` (and `merchant_id`).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Set when `status` is `requires_action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<Value>,
    /// The refunded PaymentIntent (`pi_…`), when there is one.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// `duplicate`, `fraudulent`, `requested_by_customer` or `expired_uncaptured_charge`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub receipt_number: Option<String>,
    #[serde(default)]
    pub source_transfer_reversal: Option<String>,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`; nullable.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub transfer_reversal: Option<String>,
}

/// `GET /v1/refunds`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundList {
    /// Always `list`.
    pub object: String,
    pub data: Vec<Refund>,
    /// Another page follows: ask again with `starting_after` = the last id of this one.
    pub has_more: bool,
    /// `/v1/refunds`.
    pub url: String,
}

/// An error answer: `{"error": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// The error object. Every field but `type` may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// `api_error`, `card_error`, `idempotency_error` or `invalid_request_error`.
    #[serde(rename = "type", default)]
    pub error_type: String,
    /// E.g. `charge_already_refunded`, `resource_missing`, `idempotency_key_in_use`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The parameter the error is about, e.g. `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

/// A webhook event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`
    pub id: String,
    /// Always `event`.
    pub object: String,
    #[serde(default)]
    pub api_version: Option<String>,
    /// Unix seconds.
    pub created: i64,
    pub data: EventData,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub pending_webhooks: i64,
    #[serde(default)]
    pub request: Option<Value>,
    /// E.g. `refund.updated`.
    #[serde(rename = "type")]
    pub event_type: String,
}

/// `data` of an event: the object as it is after the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventData {
    /// A refund for the refund events; any object for the others.
    pub object: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<Value>,
}

/// The event types whose `data.object` is a refund (DESIGN §7; `refund.failed` and the
/// `refund.*` events for card refunds exist since API version 2024-10-28.acacia).
pub const REFUND_EVENTS: [&str; 4] = [
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
];
