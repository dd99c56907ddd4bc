//! What the AuthMS simulator did, as the tests and the e2e read it back: each refund and
//! transfer with its status now.

use serde::{Deserialize, Serialize};

/// A refund or transfer the sandbox carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The refund's `reference_id` (the gateway refund id); for a transfer, the `rf_…` its
    /// description carries (else the whole description).
    pub reference: String,
    /// The original transaction (`""` for a transfer).
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The transaction's status now: `completed`, `processing` or `failed`.
    pub status: String,
    /// `refund` or `transfer`.
    pub kind: String,
    /// The customer credited.
    pub user_id: String,
    /// The id of the customer's transaction.
    pub transaction_id: String,
    pub created_at: String,
}
