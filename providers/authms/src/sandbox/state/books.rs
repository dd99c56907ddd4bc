//! The check that the books balance, run by the tests and the property test after every
//! operation: what a double-entry ledger promises, stated once.

use std::collections::BTreeMap;

use super::Ledger;

impl Ledger {
    /// The books balance: every wallet's balance is what its evicted entries carried plus
    /// the sum of its retained entries, every entry's after = before + delta (and, on a
    /// wallet nothing was evicted from, each entry's before is the previous one's after),
    /// all balances plus the retired wallets' sum to zero, no customer or merchant wallet is
    /// negative, and no payment is refunded beyond what it was.
    pub fn check(&self) -> Result<(), String> {
        let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
        let mut running: BTreeMap<&str, i64> = BTreeMap::new();
        for e in self.entries.values() {
            *sums.entry(&e.user_id).or_default() += e.delta;
            if e.balance_after != e.balance_before + e.delta {
                return Err(format!("entry {} does not add up", e.id));
            }
            let chained = self.wallets.get(&e.user_id).is_some_and(|w| !w.gaps);
            let before = running.entry(&e.user_id).or_default();
            if chained && e.balance_before != *before {
                return Err(format!(
                    "entry {} does not chain its wallet's balance",
                    e.id
                ));
            }
            *before = e.balance_after;
        }
        let mut total = self.retired;
        for (user, wallet) in &self.wallets {
            let sum = wallet.carried + sums.get(user.as_str()).copied().unwrap_or(0);
            if wallet.balance != sum {
                return Err(format!(
                    "wallet of {user}: balance {} but entries sum to {sum}",
                    wallet.balance
                ));
            }
            if !wallet.system && wallet.balance < 0 {
                return Err(format!("wallet of {user} is negative: {}", wallet.balance));
            }
            total += wallet.balance;
        }
        if total != 0 {
            return Err(format!("all balances sum to {total}, not 0"));
        }
        for (txn, p) in &self.payments {
            if p.refunded > p.amount {
                return Err(format!(
                    "payment {txn} of {} refunded {}",
                    p.amount, p.refunded
                ));
            }
        }
        Ok(())
    }
}
