//! Magic values that fail (or succeed) deterministically; see the README's table.

/// payment_id → 404 transaction not found.
pub const PAYMENT_MISSING: &str = "txn_missing";
/// payment_id → 400 transaction cannot be refunded.
pub const PAYMENT_REJECTED: &str = "txn_rejected";
/// payment_id → 409 insufficient balance (余额不足).
pub const PAYMENT_INSUFFICIENT: &str = "txn_insufficient";
/// payment_id → 500, nothing applied.
pub const PAYMENT_SERVER_ERROR: &str = "txn_server_error";
/// payment_id → 200 with transaction status `failed`; no money moves.
pub const PAYMENT_FAILED: &str = "txn_failed";
/// payment_id → 200 with status `processing`; money moves at once and the transaction
/// reads `completed` after `settle_after_ms`.
pub const PAYMENT_PROCESSING: &str = "txn_processing";
/// amount 13.13 (in CNY; 1313 minor units in any currency) → 422 金额无效.
pub const AMOUNT_REJECTED_MINOR: i64 = 1313;
/// user_id (customer or transfer party) → 404 wallet not found.
pub const USER_MISSING: &str = "usr_missing";
