//! Amounts (Stripe minor units) and payment ids with a fixed outcome.

/// 402 `card_error` `card_declined`; nothing recorded (the answer is saved under the
/// Idempotency-Key).
pub const AMOUNT_DECLINED: i64 = 4020;
/// 500 `api_error`; nothing recorded, the 500 saved under the Idempotency-Key (a re-send
/// gets it again).
pub const AMOUNT_SERVER_ERROR: i64 = 5001;
/// 429 `rate_limit`; nothing recorded, nothing saved.
pub const AMOUNT_RATE_LIMITED: i64 = 4290;
/// `succeeded` at once.
pub const AMOUNT_SUCCEEDED_AT_ONCE: i64 = 7070;
/// `pending`, later `failed` (`expired_or_canceled_card`) with `refund.failed`.
pub const AMOUNT_FAILS_LATER: i64 = 6060;
/// `requires_action`, later `canceled` with `refund.updated`.
pub const AMOUNT_CANCELED_LATER: i64 = 8080;
/// `pending` for ever.
pub const AMOUNT_STAYS_PENDING: i64 = 9090;
/// `succeeded` at once, later `failed` (`lost_or_stolen_card`) with `refund.failed`: the
/// contradiction of a final status.
pub const AMOUNT_SUCCEEDS_THEN_FAILS: i64 = 3030;
/// PaymentIntent and charge ids Stripe does not know: 400 `resource_missing`.
pub const PAYMENT_MISSING: [&str; 2] = ["pi_missing", "ch_missing"];
