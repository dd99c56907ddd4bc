//! Magic values that behave deterministically; see the README's table.

/// `outTradeNo` starting with this: every line of the refund reports `FAIL`; no money
/// moves (the adapter reports `failed`, `provider_failed`).
pub const FAIL_PREFIX: &str = "FAIL";
/// `outTradeNo` starting with this: the refund reports `PROCESSING` (money reserved at
/// once) and the query reports `SUCCESS` once `settle_after_ms` has passed.
pub const PROCESSING_PREFIX: &str = "PROC";
/// `outTradeNo` starting with this: in a whole-order refund the coupon line `FAIL`s and
/// the others succeed (a partial success; the adapter keeps it `processing`).
pub const PARTIAL_PREFIX: &str = "PART";
/// `outTradeNo` starting with this: `success: false`, `ORDER_NOT_FOUND`.
pub const ORDER_NOT_FOUND_PREFIX: &str = "NOTFOUND";
/// `outTradeNo` starting with this: the refund is applied but the answer's `sign` is
/// wrong (a forged-looking answer; the adapter reports `Unknown`). Queries are signed
/// correctly, so a status query then settles it.
pub const BAD_SIGNATURE_PREFIX: &str = "BADSIGN";
/// `refundAmount` of 9999 fen (99.99 CNY): `success: false`, `REFUND_DECLINED`.
pub const DECLINED_AMOUNT_FEN: i64 = 9999;
