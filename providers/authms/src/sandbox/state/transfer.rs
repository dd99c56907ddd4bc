//! Transfers between wallets (`POST /wallets/transfer`): the merchant-funded refunds of the
//! `transfer` method, booked as one movement and remembered as an operation under the
//! gateway refund id their description carries.

use time::OffsetDateTime;

use super::{EntryStatus, Ledger, LedgerError, Operation};
use crate::sandbox::magic;
use crate::wire::{TransactionResponse, WalletResponse};

impl Ledger {
    /// `POST /wallets/transfer`: moves `amount` from one wallet to another. Returns the two
    /// transactions and wallets (from, to).
    pub fn transfer(
        &mut self,
        from: &str,
        to: &str,
        amount: i64,
        description: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<[(TransactionResponse, WalletResponse); 2], LedgerError> {
        self.addressable(from)?;
        self.addressable(to)?;
        if from == to {
            return Err(LedgerError::BadRequest(
                "from_user_id and to_user_id must differ".into(),
            ));
        }
        if amount == magic::AMOUNT_REJECTED_MINOR {
            return Err(LedgerError::AmountInvalid(
                "amount rejected by risk control".into(),
            ));
        }
        self.open_wallet(from, now, false);
        self.open_wallet(to, now, false);
        let available = self.wallets.get(from).map_or(0, |w| w.balance);
        if available < amount {
            return Err(LedgerError::InsufficientBalance(format!(
                "insufficient balance in the wallet of {from}"
            )));
        }
        let description = description.unwrap_or("");
        let (debit, credit) = self.post(
            from,
            to,
            amount,
            ("transfer_out", "transfer_in"),
            "",
            description,
            EntryStatus::Completed,
            now,
        );
        let view = |ledger: &Self, entry: u64, user: &str| {
            ledger
                .wallet_view(user)
                .map(|w| (ledger.transaction_view(entry, now), w))
                .ok_or_else(|| LedgerError::Internal("wallet vanished".into()))
        };
        // The answer first: recording may evict this very operation beyond the cap.
        let answer = [view(self, debit, from)?, view(self, credit, to)?];
        self.record(
            Operation {
                kind: "transfer",
                reference: reference_in(description),
                payment_id: String::new(),
                user_id: to.to_owned(),
                amount,
                entry: credit,
                entries: vec![credit, debit],
            },
            now,
        );
        Ok(answer)
    }
}

/// The gateway refund id a transfer description carries (`refund rf_…: reason`), else the
/// whole description.
fn reference_in(description: &str) -> String {
    description
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|word| word.starts_with("rf_"))
        .unwrap_or(description)
        .to_owned()
}
