//! The kind of a ledger line, stored as its text in `ledger_entries.entry_kind`: which
//! posting rule of the books wrote it (DESIGN §10; the rules are `crate::ledger`'s table).

use super::stored::vocabulary;

vocabulary! {
    /// The posting rule a ledger line belongs to.
    pub enum EntryKind {
        /// The refund moved to `succeeded`: expense debited, clearing credited.
        RefundSucceeded => "refund_succeeded",
        /// The reversal of a succeeded refund its provider voided or reported failed.
        RefundCanceled => "refund_canceled",
        /// A statement line matched a succeeded refund: clearing to settled.
        RefundSettled => "refund_settled",
        /// A settling statement reported the provider's fee: fees debited, clearing credited.
        SettlementFee => "settlement_fee",
        /// The same import settles that fee: clearing to settled.
        FeeSettled => "fee_settled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stored::assert_vocabulary;

    #[test]
    fn every_entry_kind_reads_back_as_the_text_of_its_posting_rule() {
        assert_vocabulary(
            EntryKind::ALL,
            &[
                "refund_succeeded",
                "refund_canceled",
                "refund_settled",
                "settlement_fee",
                "fee_settled",
            ],
        );
    }

    #[test]
    fn every_entry_kind_is_a_row_of_the_posting_rules_table() {
        let rules = include_str!("../ledger.rs");
        for kind in EntryKind::ALL {
            assert!(rules.contains(&format!("//! | `{kind}`")), "{kind}");
        }
    }
}
