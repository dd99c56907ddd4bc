//! What the ledger shows of itself: the assumed status query (a user's transactions for a
//! reference) and the refunds and transfers carried out, as effects.

use time::OffsetDateTime;

use super::{timestamp, Ledger, LedgerError};
use crate::sandbox::effect::Effect;
use crate::wire::TransactionResponse;

impl Ledger {
    /// The assumed status query: the user's transactions whose `reference_id` is `reference`
    /// or whose description contains it (transfers carry no reference_id); all of them when
    /// no reference is given. Oldest first.
    pub fn transactions(
        &self,
        user_id: &str,
        reference: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vec<TransactionResponse>, LedgerError> {
        self.addressable(user_id)?;
        if !self.wallets.contains_key(user_id) {
            return Err(LedgerError::NotFound(format!(
                "wallet of user {user_id} not found"
            )));
        }
        Ok(self
            .entries
            .iter()
            .filter(|(_, e)| e.user_id == user_id)
            .filter(|(_, e)| match reference.filter(|r| !r.is_empty()) {
                None => true,
                Some(r) => e.reference_id == r || e.description.contains(r),
            })
            .map(|(seq, _)| self.transaction_view(*seq, now))
            .collect())
    }

    /// Every refund and transfer carried out, with its current status.
    pub fn effects(&self, now: OffsetDateTime) -> Vec<Effect> {
        self.operations
            .values()
            .filter_map(|op| {
                let entry = self.entries.get(&op.entry)?;
                Some(Effect {
                    reference: op.reference.clone(),
                    payment_id: op.payment_id.clone(),
                    amount_minor: op.amount,
                    currency: self.currency.code().to_owned(),
                    status: entry.status.word(now).to_owned(),
                    kind: op.kind.to_owned(),
                    user_id: op.user_id.clone(),
                    transaction_id: entry.id.clone(),
                    created_at: timestamp(entry.created_at),
                })
            })
            .collect()
    }
}
