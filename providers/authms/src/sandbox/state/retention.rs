//! The cap on what the ledger retains: the oldest settled refunds and transfers are
//! forgotten with their entries, their wallets carrying the balance the entries made, so
//! the books still balance after any eviction.

use time::OffsetDateTime;

use super::{Ledger, Operation};

impl Ledger {
    /// Records an operation and evicts the oldest settled ones beyond the cap.
    pub(super) fn record(&mut self, operation: Operation, now: OffsetDateTime) {
        let seq = self.next_operation;
        self.next_operation += 1;
        self.operations.insert(seq, operation);
        self.retention.push(seq);
        let (operations, entries) = (&self.operations, &self.entries);
        let evicted = self.retention.evict(|seq| {
            operations
                .get(seq)
                .and_then(|op| entries.get(&op.entry))
                .is_none_or(|entry| entry.status.word(now) != "processing")
        });
        for seq in evicted {
            self.evict(seq);
        }
    }

    /// Forgets an operation: its entries (their deltas carried by their wallets), its
    /// payment when no retained operation is left on it (unless configured), and customer
    /// wallets left without entries (their balance retired, so the books still balance).
    fn evict(&mut self, seq: u64) {
        let Some(op) = self.operations.remove(&seq) else {
            return;
        };
        for entry_seq in &op.entries {
            let Some(entry) = self.entries.remove(entry_seq) else {
                continue;
            };
            let Some(wallet) = self.wallets.get_mut(&entry.user_id) else {
                continue;
            };
            wallet.carried += entry.delta;
            wallet.entries = wallet.entries.saturating_sub(1);
            wallet.gaps = true;
            if wallet.entries == 0 && !wallet.permanent {
                self.retired += wallet.balance;
                self.wallets.remove(&entry.user_id);
            }
        }
        if let Some(payment) = self.payments.get_mut(&op.payment_id) {
            payment.operations = payment.operations.saturating_sub(1);
            if payment.operations == 0 && !payment.configured {
                self.payments.remove(&op.payment_id);
            }
        }
    }
}
