//! What e-Buy's answers prove (DESIGN §16), each fact with the sentence of its document that
//! grants it (`provider-docs/ebuy-refund.txt`).

use refund_provider::Proofs;

/// e-Buy proves neither absence nor deduplication; its answers carry the amount.
pub const PROOFS: Proofs = Proofs {
    // None. The document lists "退款查询" (refund query) beside the refund but does not
    // define it: our status query (`POST /api/refund/query`) is an assumption.
    not_found_proves_absence: false,
    // None. `refundTradeNo` is "退款交易编号,格式:YYYYMMDD+随机数" (the refund's number):
    // nothing says a second request with the same number is refused or replayed.
    resend_is_deduplicated: false,
    // The answer's content: "refundAmount string 是 退款金额" (required), and each asset
    // line ("cashRefund", "cardRefund", "couponRefund", "pointsRefund") "refundAmount
    // string 是 退款金额": the lines must add up to it.
    answers_carry_amount: true,
};
