//! What AuthMS's answers prove (DESIGN §16), each fact with the sentence of its document
//! that grants it (`provider-docs/authms-wallet-refund.txt`, `authms-wallet-transfer.txt`).

use refund_provider::Proofs;

/// AuthMS proves neither absence nor deduplication; its answers carry the amount.
pub const PROOFS: Proofs = Proofs {
    // None. The documents define `POST /wallets/{user_id}/refund` and
    // `POST /wallets/transfer` and nothing else: the status query is our assumption
    // (`status_query.rs`), so "no such transaction" there proves nothing.
    not_found_proves_absence: false,
    // None. `reference_id` is "string No REF-001 参考" (an optional reference): nothing
    // says a second refund with the same reference is refused or replayed.
    resend_is_deduplicated: false,
    // `dto.TransactionResponse`: "amount string No 100.00 金额": the refund (and each
    // transfer leg) transaction names the amount it moved.
    answers_carry_amount: true,
};
