//! What eFundPay's answers prove (DESIGN §16), each fact with the sentence of its document
//! that grants it (`provider-docs/efundpay-create-refund.txt`).

use refund_provider::Proofs;

/// eFundPay proves neither absence nor deduplication; its answers carry the amount.
pub const PROOFS: Proofs = Proofs {
    // None. The document defines "创建退款" (create a refund) only: listing a
    // transaction's refunds (`GET /v4/transactions/{id}/refunds`) is our assumption.
    not_found_proves_absence: false,
    // None. `external_identifier`: "商户退款单号 … 需要保证全局唯一" ("must be guaranteed
    // globally unique") is a duty of the merchant, not a promise that eFundPay refuses or
    // replays a second refund with the same identifier.
    resend_is_deduplicated: false,
    // The response: "amountintegerrequired 退款金额,单位为最小货币单位" (the refund's
    // amount in minor units, required).
    answers_carry_amount: true,
};
