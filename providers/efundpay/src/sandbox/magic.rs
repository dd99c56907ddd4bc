//! Amounts (minor units) and payment ids with a fixed outcome.

/// Answered `declined` at once (→ failed, `provider_declined`); no webhook.
pub const AMOUNT_DECLINED: i64 = 4040;
/// Answered `failed` at once (→ failed, `provider_failed`); no webhook.
pub const AMOUNT_FAILED: i64 = 5050;
/// Answered `succeeded` at once; no webhook.
pub const AMOUNT_SUCCEEDED_AT_ONCE: i64 = 7070;
/// Answered `processing`, later `failed` (webhook).
pub const AMOUNT_FAILS_LATER: i64 = 6060;
/// Answered `processing`, later `voided` (webhook).
pub const AMOUNT_VOIDED_LATER: i64 = 8080;
/// Answered `processing` and left there: no transition, no webhook.
pub const AMOUNT_STAYS_PROCESSING: i64 = 9090;
/// Answered 422 `refund_not_allowed`; nothing recorded.
pub const AMOUNT_REJECTED: i64 = 4220;
/// Answered 500 `internal_error`; nothing recorded.
pub const AMOUNT_SERVER_ERROR: i64 = 5001;
/// A transaction eFundPay does not know: 404 `transaction_not_found` (create and list).
pub const PAYMENT_NOT_FOUND: &str = "pay_not_found";
/// Transactions whose id starts with this are QR PromptPay payments: refunds need
/// `bank_detail` (422 `bank_detail_required` otherwise).
pub const PAYMENT_PROMPTPAY_PREFIX: &str = "promptpay_";
