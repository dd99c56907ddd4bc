//! The sandbox's wallets as a double-entry ledger, with no HTTP in sight: every movement is
//! two entries (one debit, one credit) of the same amount, every wallet's balance is the sum
//! of its entries, and all balances together sum to zero (opening balances come from a system
//! funding wallet that may go negative and that the API cannot address).
//!
//! Amounts are integer minor units here; the major-unit strings of the wire are made only
//! through `refund_provider::Money` (see [`major`] and [`parse_amount`]).
//!
//! This file holds the ledger's records and how a movement is posted; the operations on it
//! are beside it: the refund book in [`refund`], transfers in [`transfer`], what it shows
//! (the status query, the effects) in [`query`], the cap on what it retains in
//! [`retention`], and the check that the books balance in [`books`].

mod books;
mod query;
mod refund;
mod retention;
mod transfer;

use std::collections::{BTreeMap, HashMap};

use refund_provider::sandbox_kit::Retention;
use refund_provider::{Currency, MinorUnits, Money};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::config::SandboxConfig;
use super::magic;
use crate::wire::{TransactionResponse, WalletResponse};

/// The system wallet opening balances are funded from; never reachable through the API.
pub const FUNDING_USER_ID: &str = "sys_funding";

/// Why the ledger refused an operation; the server turns it into the documented status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// 400 请求参数错误
    BadRequest(String),
    /// 404: no such wallet or transaction
    NotFound(String),
    /// 409 余额不足
    InsufficientBalance(String),
    /// 422 金额无效
    AmountInvalid(String),
    /// 500 服务内部错误
    Internal(String),
}

/// A wallet: its balance is always what its evicted entries carried plus the sum of its
/// retained entries' deltas.
#[derive(Debug, Clone)]
struct Wallet {
    wallet_id: String,
    balance: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    system: bool,
    /// Opened from the config or the merchant's: never retired.
    permanent: bool,
    /// Retained entries on this wallet.
    entries: usize,
    /// Sum of the deltas of its evicted entries.
    carried: i64,
    /// Some of its entries were evicted: the retained ones no longer chain from zero.
    gaps: bool,
}

/// One ledger entry: one side of a movement on one wallet.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    user_id: String,
    /// Signed change of the wallet's balance (0 for a failed refund, which moves nothing).
    delta: i64,
    /// The amount as shown on the wire (unsigned).
    amount: i64,
    balance_before: i64,
    balance_after: i64,
    counterparty_id: String,
    kind: &'static str,
    reference_id: String,
    description: String,
    status: EntryStatus,
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryStatus {
    Completed,
    /// Money has moved; the transaction reads `processing` until `settles_at`.
    ProcessingUntil(OffsetDateTime),
    Failed,
}

impl EntryStatus {
    fn word(self, now: OffsetDateTime) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::ProcessingUntil(at) if now >= at => "completed",
            Self::ProcessingUntil(_) => "processing",
            Self::Failed => "failed",
        }
    }
}

/// An original payment refunds are made against.
#[derive(Debug, Clone)]
struct Payment {
    user_id: String,
    amount: i64,
    refunded: i64,
    /// Retained operations against it; an unseen payment is forgotten with its last one.
    operations: usize,
    /// Known from the config: never forgotten.
    configured: bool,
}

/// A refund or transfer the sandbox carried out, for [`Effect`].
#[derive(Debug, Clone)]
struct Operation {
    kind: &'static str,
    reference: String,
    payment_id: String,
    user_id: String,
    amount: i64,
    /// The customer-side entry.
    entry: u64,
    /// Every entry it posted (one for a failed refund, two otherwise).
    entries: Vec<u64>,
}

/// What a refund asks of the ledger.
#[derive(Debug, Clone)]
pub struct RefundOrder<'a> {
    pub user_id: &'a str,
    pub transaction_id: &'a str,
    pub amount: Option<i64>,
    pub reason: Option<&'a str>,
    pub reference_id: Option<&'a str>,
}

/// The stateful wallets of the sandbox.
#[derive(Debug)]
pub struct Ledger {
    currency: Currency,
    merchant_user_id: String,
    unseen_payment_amount: i64,
    settle_after: time::Duration,
    wallets: BTreeMap<String, Wallet>,
    /// Retained entries by sequence number, oldest first.
    entries: BTreeMap<u64, Entry>,
    next_entry: u64,
    payments: HashMap<String, Payment>,
    /// Retained refunds and transfers by sequence number, oldest first.
    operations: BTreeMap<u64, Operation>,
    next_operation: u64,
    /// At most `max_refunds` operations; the oldest settled go first.
    retention: Retention<u64>,
    /// Balances of retired (evicted, emptied) customer wallets, so the books still sum to zero.
    retired: i64,
    next_id: u64,
}

impl Ledger {
    /// A ledger with the merchant's settlement wallet and the configured wallets and payments.
    pub fn new(config: &SandboxConfig, now: OffsetDateTime) -> Result<Self, String> {
        let currency = Currency::parse(&config.currency).map_err(|e| e.to_string())?;
        let settle_ms = i64::try_from(config.settle_after_ms).unwrap_or(i64::MAX);
        let mut ledger = Self {
            currency,
            merchant_user_id: config.merchant_user_id.clone(),
            unseen_payment_amount: config.unseen_payment_amount_minor.max(1),
            settle_after: time::Duration::milliseconds(settle_ms),
            wallets: BTreeMap::new(),
            entries: BTreeMap::new(),
            next_entry: 0,
            payments: HashMap::new(),
            operations: BTreeMap::new(),
            next_operation: 0,
            retention: Retention::new(config.max_refunds),
            retired: 0,
            next_id: 0,
        };
        ledger.open_wallet(FUNDING_USER_ID, now, true);
        let merchant = config.merchant_user_id.clone();
        ledger.fund(&merchant, config.merchant_opening_minor, now)?;
        for wallet in &config.wallets {
            ledger.fund(&wallet.user_id, wallet.balance_minor, now)?;
        }
        for wallet in ledger.wallets.values_mut() {
            wallet.permanent = true;
        }
        for payment in &config.payments {
            ledger.payments.insert(
                payment.transaction_id.clone(),
                Payment {
                    user_id: payment.user_id.clone(),
                    amount: payment.amount_minor,
                    refunded: 0,
                    operations: 0,
                    configured: true,
                },
            );
        }
        Ok(ledger)
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Gives `user_id` an opening balance, posted from the funding wallet.
    fn fund(&mut self, user_id: &str, amount: i64, now: OffsetDateTime) -> Result<(), String> {
        if user_id.starts_with("sys_") {
            return Err(format!("`{user_id}`: sys_ wallets are reserved"));
        }
        self.open_wallet(user_id, now, false);
        if amount > 0 {
            self.post(
                FUNDING_USER_ID,
                user_id,
                amount,
                ("funding_out", "deposit"),
                "",
                "sandbox opening balance",
                EntryStatus::Completed,
                now,
            );
        } else if amount < 0 {
            return Err(format!("`{user_id}`: opening balances cannot be negative"));
        }
        Ok(())
    }

    fn open_wallet(&mut self, user_id: &str, now: OffsetDateTime, system: bool) {
        if self.wallets.contains_key(user_id) {
            return;
        }
        let wallet_id = self.new_id("wlt");
        self.wallets.insert(
            user_id.to_owned(),
            Wallet {
                wallet_id,
                balance: 0,
                created_at: now,
                updated_at: now,
                system,
                permanent: system || user_id == self.merchant_user_id,
                entries: 0,
                carried: 0,
                gaps: false,
            },
        );
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_sbx{:08}", self.next_id)
    }

    /// Checks a user id from the API: magic unknown users and system wallets are 404.
    fn addressable(&self, user_id: &str) -> Result<(), LedgerError> {
        if user_id.is_empty() {
            return Err(LedgerError::BadRequest("user_id is required".into()));
        }
        if user_id == magic::USER_MISSING || user_id.starts_with("sys_") {
            return Err(LedgerError::NotFound(format!(
                "wallet of user {user_id} not found"
            )));
        }
        Ok(())
    }

    /// Posts one balanced movement of `amount` from `from` to `to` (both wallets exist) and
    /// returns the sequence numbers of the debit and the credit entry.
    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        from: &str,
        to: &str,
        amount: i64,
        (debit_kind, credit_kind): (&'static str, &'static str),
        reference_id: &str,
        description: &str,
        status: EntryStatus,
        now: OffsetDateTime,
    ) -> (u64, u64) {
        let debit = self.entry(
            from,
            to,
            -amount,
            amount,
            debit_kind,
            reference_id,
            description,
            status,
            now,
        );
        let credit = self.entry(
            to,
            from,
            amount,
            amount,
            credit_kind,
            reference_id,
            description,
            status,
            now,
        );
        (debit, credit)
    }

    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        user_id: &str,
        counterparty_id: &str,
        delta: i64,
        amount: i64,
        kind: &'static str,
        reference_id: &str,
        description: &str,
        status: EntryStatus,
        now: OffsetDateTime,
    ) -> u64 {
        let id = self.new_id("txn");
        let (balance_before, balance_after) = match self.wallets.get_mut(user_id) {
            Some(wallet) => {
                let before = wallet.balance;
                wallet.balance += delta;
                wallet.updated_at = now;
                wallet.entries += 1;
                (before, wallet.balance)
            }
            // Every caller opens both wallets first; an entry on no wallet would unbalance
            // the books, so it moves nothing.
            None => (0, 0),
        };
        let seq = self.next_entry;
        self.next_entry += 1;
        self.entries.insert(
            seq,
            Entry {
                id,
                user_id: user_id.to_owned(),
                delta: balance_after - balance_before,
                amount,
                balance_before,
                balance_after,
                counterparty_id: counterparty_id.to_owned(),
                kind,
                reference_id: reference_id.to_owned(),
                description: description.to_owned(),
                status,
                created_at: now,
            },
        );
        seq
    }

    /// A wallet's balance in minor units.
    pub fn balance(&self, user_id: &str) -> Option<i64> {
        self.wallets.get(user_id).map(|w| w.balance)
    }

    /// How many refunds and transfers are retained.
    pub fn retained(&self) -> usize {
        self.operations.len()
    }

    fn transaction_view(&self, seq: u64, now: OffsetDateTime) -> TransactionResponse {
        let Some(e) = self.entries.get(&seq) else {
            return TransactionResponse::default();
        };
        let wallet_id = self.wallets.get(&e.user_id).map(|w| w.wallet_id.clone());
        TransactionResponse {
            amount: Some(major(e.amount, self.currency)),
            balance_after: Some(major(e.balance_after, self.currency)),
            balance_before: Some(major(e.balance_before, self.currency)),
            counterparty_id: Some(e.counterparty_id.clone()),
            created_at: Some(timestamp(e.created_at)),
            currency: Some(self.currency.code().to_owned()),
            description: Some(e.description.clone()),
            id: Some(e.id.clone()),
            reference_id: Some(e.reference_id.clone()),
            status: Some(e.status.word(now).to_owned()),
            kind: Some(e.kind.to_owned()),
            wallet_id,
        }
    }

    fn wallet_view(&self, user_id: &str) -> Option<WalletResponse> {
        let w = self.wallets.get(user_id)?;
        Some(WalletResponse {
            application_id: Some("app_sandbox".into()),
            balance: Some(major(w.balance, self.currency)),
            created_at: Some(timestamp(w.created_at)),
            currency: Some(self.currency.code().to_owned()),
            frozen_balance: Some(major(0, self.currency)),
            status: Some("active".into()),
            tenant_id: Some("tnt_sandbox".into()),
            updated_at: Some(timestamp(w.updated_at)),
            user_id: Some(user_id.to_owned()),
            wallet_id: Some(w.wallet_id.clone()),
        })
    }
}

/// RFC 3339 time as AuthMS writes it.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A signed count of minor units as AuthMS writes balances ("0.00", "-12.50"), made through
/// `Money`, the one place minor units become major units.
pub fn major(minor: i64, currency: Currency) -> String {
    match MinorUnits::new(minor.checked_abs().unwrap_or(i64::MAX)) {
        Some(units) => {
            let text = Money::from_minor(units, currency).to_major_string();
            if minor < 0 {
                format!("-{text}")
            } else {
                text
            }
        }
        None => match currency.exponent() {
            0 => "0".to_owned(),
            e => format!("0.{}", "0".repeat(e as usize)),
        },
    }
}

/// An amount as AuthMS takes it: a positive decimal string with exactly the currency's
/// exponent of decimals ("50.00" for CNY, "1299" for JPY). Anything else is 422 金额无效.
pub fn parse_amount(text: &str, currency: Currency) -> Result<i64, LedgerError> {
    let invalid = || {
        LedgerError::AmountInvalid(format!(
            "amount `{text}` is not a positive {currency} amount with exactly {} decimals",
            currency.exponent()
        ))
    };
    let exponent = currency.exponent() as usize;
    let decimals = text.split_once('.').map(|(_, fraction)| fraction.len());
    let exact = match (exponent, decimals) {
        (0, None) => true,
        (e, Some(d)) => e > 0 && d == e,
        _ => false,
    };
    if !exact {
        return Err(invalid());
    }
    Money::parse(text, currency)
        .map(|m| m.minor_units().get())
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::config::SandboxConfig;
    use proptest::prelude::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
    }

    fn ledger() -> Ledger {
        Ledger::new(&SandboxConfig::default(), now()).expect("ledger")
    }

    fn refund(
        ledger: &mut Ledger,
        user: &str,
        txn: &str,
        amount: Option<i64>,
    ) -> Result<TransactionResponse, LedgerError> {
        ledger
            .refund(
                &RefundOrder {
                    user_id: user,
                    transaction_id: txn,
                    amount,
                    reason: None,
                    reference_id: Some("rf_1"),
                },
                now(),
            )
            .map(|(tx, _)| tx)
    }

    #[test]
    fn amounts_must_carry_exactly_the_exponent() {
        let cny = Currency::parse("CNY").expect("cny");
        let jpy = Currency::parse("JPY").expect("jpy");
        assert_eq!(parse_amount("50.00", cny), Ok(5000));
        assert_eq!(parse_amount("1299", jpy), Ok(1299));
        for bad in [
            "50", "50.0", "50.000", "0.00", "-1.00", "1e2", " 1.00", "", "1,00",
        ] {
            assert!(parse_amount(bad, cny).is_err(), "{bad}");
        }
        assert!(parse_amount("12.00", jpy).is_err());
    }

    #[test]
    fn balances_are_written_with_the_exponent_even_at_zero_or_below() {
        let cny = Currency::parse("CNY").expect("cny");
        assert_eq!(major(0, cny), "0.00");
        assert_eq!(major(5, cny), "0.05");
        assert_eq!(major(-1250, cny), "-12.50");
        assert_eq!(major(0, Currency::parse("JPY").expect("jpy")), "0");
    }

    #[test]
    fn repeated_partial_refunds_cannot_exceed_the_payment() {
        let mut l = ledger();
        let unseen = SandboxConfig::default().unseen_payment_amount_minor;
        refund(&mut l, "usr_a", "txn_p", Some(unseen - 100)).expect("first");
        refund(&mut l, "usr_a", "txn_p", Some(100)).expect("second");
        assert!(matches!(
            refund(&mut l, "usr_a", "txn_p", Some(1)),
            Err(LedgerError::AmountInvalid(_))
        ));
        assert!(matches!(
            refund(&mut l, "usr_a", "txn_p", None),
            Err(LedgerError::AmountInvalid(_))
        ));
        assert_eq!(l.balance("usr_a"), Some(unseen));
        l.check().expect("balanced");
    }

    #[test]
    fn a_full_refund_of_an_unseen_payment_refunds_the_whole_assumed_payment() {
        let mut l = ledger();
        let tx = refund(&mut l, "usr_a", "txn_q", None).expect("full");
        assert_eq!(
            tx.amount,
            Some(major(
                SandboxConfig::default().unseen_payment_amount_minor,
                l.currency()
            ))
        );
        assert!(
            refund(&mut l, "usr_b", "txn_q", Some(1)).is_err(),
            "another user's payment"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Refund {
            user: usize,
            txn: usize,
            amount: Option<i64>,
        },
        Transfer {
            from: usize,
            to: usize,
            amount: i64,
        },
    }

    const USERS: [&str; 4] = ["usr_merchant", "usr_a", "usr_b", "usr_c"];
    const TXNS: [&str; 5] = [
        "txn_1",
        "txn_2",
        "txn_processing",
        "txn_failed",
        "txn_insufficient",
    ];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..USERS.len(),
                0..TXNS.len(),
                prop::option::of(1i64..200_000)
            )
                .prop_map(|(user, txn, amount)| Op::Refund { user, txn, amount }),
            (0..USERS.len(), 0..USERS.len(), 1i64..500_000)
                .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        ]
    }

    proptest! {
        #[test]
        fn every_wallet_balance_equals_the_sum_of_its_entries_after_any_sequence(ops in prop::collection::vec(op(), 1..60)) {
            let config = SandboxConfig {
                merchant_opening_minor: 300_000,
                unseen_payment_amount_minor: 100_000,
                ..SandboxConfig::default()
            };
            let mut l = Ledger::new(&config, now()).map_err(TestCaseError::fail)?;
            for op in ops {
                let before: Vec<Option<i64>> = USERS.iter().map(|u| l.balance(u)).collect();
                let result = match &op {
                    Op::Refund { user, txn, amount } => refund(&mut l, USERS[*user], TXNS[*txn], *amount).map(|_| ()),
                    Op::Transfer { from, to, amount } => l.transfer(USERS[*from], USERS[*to], *amount, Some("t"), now()).map(|_| ()),
                };
                if result.is_err() {
                    let after: Vec<Option<i64>> = USERS.iter().map(|u| l.balance(u)).collect();
                    let moved = before.iter().zip(&after).any(|(b, a)| b.unwrap_or(0) != a.unwrap_or(0));
                    prop_assert!(!moved, "a refused {:?} moved money", op);
                }
                l.check().map_err(|e| TestCaseError::fail(format!("after {op:?}: {e}")))?;
            }
        }
    }
}
