//! The refund book (`POST /wallets/{user_id}/refund`): a refund against an original
//! transaction, credited to the customer's wallet from the merchant's settlement wallet. In
//! four steps: the order is checked (magic values first), the payment it refunds is found or
//! assumed and what is left of it checked, the movement is booked, and the answer is read
//! before the operation is recorded.

use time::OffsetDateTime;

use super::{EntryStatus, Ledger, LedgerError, Operation, Payment, RefundOrder};
use crate::sandbox::magic;
use crate::wire::{TransactionResponse, WalletResponse};

impl Ledger {
    /// `POST /wallets/{user_id}/refund`: credits the customer from the merchant's settlement
    /// wallet against the original transaction. Returns the customer's refund transaction and
    /// wallet.
    pub fn refund(
        &mut self,
        order: &RefundOrder<'_>,
        now: OffsetDateTime,
    ) -> Result<(TransactionResponse, WalletResponse), LedgerError> {
        self.check_refund_order(order)?;
        let amount = self.refundable(order)?;
        let entries = self.book_refund(order, amount, now)?;
        self.answer_refund(order, amount, entries, now)
    }

    /// What is refused before any payment is looked at: an unaddressable user, the
    /// settlement wallet itself, a missing transaction id, and the magic transactions and
    /// amount that fail on purpose.
    fn check_refund_order(&self, order: &RefundOrder<'_>) -> Result<(), LedgerError> {
        self.addressable(order.user_id)?;
        if order.user_id == self.merchant_user_id {
            return Err(LedgerError::BadRequest(
                "the settlement wallet cannot be refunded".into(),
            ));
        }
        if order.transaction_id.is_empty() {
            return Err(LedgerError::BadRequest("transaction_id is required".into()));
        }
        if let Some(refusal) = magic_refusal(order.transaction_id) {
            return Err(refusal);
        }
        if order.amount == Some(magic::AMOUNT_REJECTED_MINOR) {
            return Err(LedgerError::AmountInvalid(
                "amount rejected by risk control".into(),
            ));
        }
        Ok(())
    }

    /// The amount to refund: the order's, or all that is left of the payment. A payment seen
    /// for the first time is assumed to be the customer's, of the unseen amount (or the
    /// order's, when larger), and stays known even when this refund is refused.
    fn refundable(&mut self, order: &RefundOrder<'_>) -> Result<i64, LedgerError> {
        let txn = order.transaction_id;
        let unseen = self.unseen_payment_amount.max(order.amount.unwrap_or(0));
        let payment = self
            .payments
            .entry(txn.to_owned())
            .or_insert_with(|| Payment {
                user_id: order.user_id.to_owned(),
                amount: unseen,
                refunded: 0,
                operations: 0,
                configured: false,
            });
        if payment.user_id != order.user_id {
            return Err(LedgerError::BadRequest(format!(
                "transaction {txn} does not belong to user {}",
                order.user_id
            )));
        }
        let remaining = payment.amount - payment.refunded;
        let amount = order.amount.unwrap_or(remaining);
        if remaining <= 0 {
            return Err(LedgerError::AmountInvalid(format!(
                "transaction {txn} is already fully refunded"
            )));
        }
        if amount > remaining {
            return Err(LedgerError::AmountInvalid(format!(
                "refund exceeds the refundable amount of transaction {txn}"
            )));
        }
        Ok(amount)
    }

    /// Books the refund and returns its entries, the customer's first: for
    /// [`magic::PAYMENT_FAILED`] one failed entry that moves nothing, else a movement from
    /// the settlement wallet (refused when it cannot cover the amount), `processing` for a
    /// while for [`magic::PAYMENT_PROCESSING`].
    fn book_refund(
        &mut self,
        order: &RefundOrder<'_>,
        amount: i64,
        now: OffsetDateTime,
    ) -> Result<Vec<u64>, LedgerError> {
        let txn = order.transaction_id;
        let merchant = self.merchant_user_id.clone();
        self.open_wallet(&merchant, now, false);
        self.open_wallet(order.user_id, now, false);
        let reference = order.reference_id.unwrap_or("");
        let description = order.reason.unwrap_or("refund");
        if txn == magic::PAYMENT_FAILED {
            // Recorded, moves nothing.
            return Ok(vec![self.entry(
                order.user_id,
                &merchant,
                0,
                amount,
                "refund",
                reference,
                description,
                EntryStatus::Failed,
                now,
            )]);
        }
        let available = self.wallets.get(&merchant).map_or(0, |w| w.balance);
        if available < amount {
            return Err(LedgerError::InsufficientBalance(
                "insufficient balance in the settlement wallet".into(),
            ));
        }
        let status = if txn == magic::PAYMENT_PROCESSING {
            EntryStatus::ProcessingUntil(now + self.settle_after)
        } else {
            EntryStatus::Completed
        };
        if let Some(p) = self.payments.get_mut(txn) {
            p.refunded += amount;
        }
        let (debit, credit) = self.post(
            &merchant,
            order.user_id,
            amount,
            ("refund_out", "refund"),
            reference,
            description,
            status,
            now,
        );
        Ok(vec![credit, debit])
    }

    /// The customer's transaction and wallet as they stand, then the operation recorded
    /// (the answer first: recording may evict this very operation beyond the cap).
    fn answer_refund(
        &mut self,
        order: &RefundOrder<'_>,
        amount: i64,
        entries: Vec<u64>,
        now: OffsetDateTime,
    ) -> Result<(TransactionResponse, WalletResponse), LedgerError> {
        let txn = order.transaction_id;
        let entry = entries[0];
        if let Some(p) = self.payments.get_mut(txn) {
            p.operations += 1;
        }
        let tx = self.transaction_view(entry, now);
        let wallet = self
            .wallet_view(order.user_id)
            .ok_or_else(|| LedgerError::Internal("wallet vanished".into()))?;
        self.record(
            Operation {
                kind: "refund",
                reference: order.reference_id.unwrap_or("").to_owned(),
                payment_id: txn.to_owned(),
                user_id: order.user_id.to_owned(),
                amount,
                entry,
                entries,
            },
            now,
        );
        Ok((tx, wallet))
    }
}

/// The magic transaction ids refused before anything is booked, with their refusal.
fn magic_refusal(txn: &str) -> Option<LedgerError> {
    match txn {
        magic::PAYMENT_MISSING => Some(LedgerError::NotFound(format!(
            "transaction {txn} not found"
        ))),
        magic::PAYMENT_REJECTED => Some(LedgerError::BadRequest(format!(
            "transaction {txn} cannot be refunded"
        ))),
        magic::PAYMENT_INSUFFICIENT => Some(LedgerError::InsufficientBalance(
            "insufficient balance in the settlement wallet".into(),
        )),
        magic::PAYMENT_SERVER_ERROR => Some(LedgerError::Internal("internal error".into())),
        _ => None,
    }
}
