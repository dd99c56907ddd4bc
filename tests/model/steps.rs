//! The steps a history is made of, and how proptest generates them. Steps do not depend on
//! the state: indices are taken modulo what exists when the step runs (a step with nothing
//! to act on does nothing), so every generated history is valid and shrinks freely.

use proptest::prelude::*;

use crate::provider::{RefundMode, StatusMode};

/// Which model provider a refund goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prov {
    /// Proves nothing by "not found", pays a repeated reference again.
    Plain,
    /// Proves absence, replays a repeated reference.
    Dedup,
}

impl Prov {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Dedup => "dedup",
        }
    }
}

/// A merchant's refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    /// 0: acme, 1: globex (both on the providers' one shared account).
    pub merchant: u8,
    pub payment: u8,
    /// In EUR cents; `None` refunds what is left.
    pub amount: Option<i64>,
    /// The payment's captured amount given (`payment_amount`).
    pub payment_amount: bool,
    /// An Idempotency-Key (one of three per merchant).
    pub key: Option<u8>,
    pub provider: Prov,
}

#[derive(Debug, Clone)]
pub enum Step {
    /// A new refund request; the provider treats its call as `mode` says.
    Create { create: Create, mode: RefundMode },
    /// Two requests at once; `second` refunds the same payment of the same provider as
    /// `first` (the refundable check and the insert must be one serialized step).
    Together {
        first: Create,
        second: Create,
        mode: RefundMode,
    },
    /// The `nth` earlier request with a key, sent again verbatim (a client's retry).
    Retry { nth: usize, mode: RefundMode },
    /// One status sync pass.
    Sync {
        refund: RefundMode,
        status: StatusMode,
    },
    /// The clock moves on.
    Advance { ms: i64 },
    /// The `nth` webhook a provider sent is delivered (and kept to come again if `keep`).
    Webhook { nth: usize, keep: bool },
    /// A provider settles one of its processing refunds, and sends a webhook.
    ProviderSettles { nth: usize, fail: bool },
    /// One merchant-webhook delivery pass, the merchants' endpoint up or down.
    Outbox { down: bool },
    /// One queue drain pass.
    Drain { mode: RefundMode },
    /// The providers refuse connections, or come back.
    Outage { on: bool },
    /// An operator resolves the `nth` open refund as the provider's records say.
    Resolve { nth: usize },
    /// An operator settles the `nth` refund that the provider's statement lists as paid (the
    /// lines a settling import posts, `Store::settle`; parsing and matching a statement
    /// file are not modelled).
    Settle { nth: usize },
    /// A merchant cancels the `nth` queued refund.
    Cancel { nth: usize },
    /// The process dies between two steps: the engine is dropped and rebuilt on the store.
    Crash,
    /// The process will die after `writes` more store writes, wherever that falls (SQLite:
    /// the writer refuses every write from then on; the engine is rebuilt after the step).
    /// On PostgreSQL, whose writes do not pass one point, this does nothing.
    CrashAfterWrites { writes: u8 },
    /// The clock moves past the give-up; the providers are healthy for a few rounds of
    /// drain and sync, after which every old refund must be final or flagged.
    GiveUp,
}

fn refund_mode() -> impl Strategy<Value = RefundMode> {
    prop_oneof![
        30 => Just(RefundMode::Succeed),
        12 => Just(RefundMode::Process),
        16 => Just(RefundMode::Lost),
        8 => Just(RefundMode::Timeout),
        8 => Just(RefundMode::Refuse),
        6 => Just(RefundMode::WrongAmount),
        5 => Just(RefundMode::CrashAfterApply),
        3 => Just(RefundMode::CrashBefore),
    ]
}

fn status_mode() -> impl Strategy<Value = StatusMode> {
    prop_oneof![
        45 => Just(StatusMode::Truthful),
        30 => Just(StatusMode::Hide),
        15 => Just(StatusMode::Error),
        10 => Just(StatusMode::WrongAmount),
    ]
}

fn create() -> impl Strategy<Value = Create> {
    (
        prop_oneof![4 => Just(0u8), 1 => Just(1u8)],
        0u8..3,
        prop_oneof![
            2 => Just(None),
            2 => Just(Some(1_500i64)),
            2 => Just(Some(3_000)),
            1 => Just(Some(4_500)),
            1 => Just(Some(7_000)),
        ],
        any::<bool>(),
        prop_oneof![1 => Just(None), 1 => (0u8..3).prop_map(Some)],
        prop_oneof![Just(Prov::Plain), Just(Prov::Dedup)],
    )
        .prop_map(
            |(merchant, payment, amount, payment_amount, key, provider)| Create {
                merchant,
                payment,
                amount,
                payment_amount,
                key,
                provider,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        24 => (create(), refund_mode()).prop_map(|(create, mode)| Step::Create { create, mode }),
        5 => (0usize..8, refund_mode()).prop_map(|(nth, mode)| Step::Retry { nth, mode }),
        4 => (create(), create(), refund_mode()).prop_map(|(first, mut second, mode)| {
            second.payment = first.payment;
            second.provider = first.provider;
            Step::Together { first, second, mode }
        }),
        16 => (refund_mode(), status_mode()).prop_map(|(refund, status)| Step::Sync { refund, status }),
        12 => prop_oneof![
            Just(500i64), Just(1_500), Just(6_000), Just(40_000), Just(120_000)
        ].prop_map(|ms| Step::Advance { ms }),
        10 => (0usize..8, any::<bool>()).prop_map(|(nth, keep)| Step::Webhook { nth, keep }),
        5 => (0usize..8, prop::bool::weighted(0.3)).prop_map(|(nth, fail)| Step::ProviderSettles { nth, fail }),
        6 => prop::bool::weighted(0.3).prop_map(|down| Step::Outbox { down }),
        6 => refund_mode().prop_map(|mode| Step::Drain { mode }),
        4 => prop::bool::weighted(0.6).prop_map(|on| Step::Outage { on }),
        4 => (0usize..8).prop_map(|nth| Step::Resolve { nth }),
        3 => (0usize..8).prop_map(|nth| Step::Cancel { nth }),
        3 => (0usize..8).prop_map(|nth| Step::Settle { nth }),
        2 => Just(Step::Crash),
        3 => (0u8..8).prop_map(|writes| Step::CrashAfterWrites { writes }),
        1 => Just(Step::GiveUp),
    ]
}

/// A history of 1 to `max` steps.
pub fn history(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..=max)
}

/// One step a line, numbered, for a failure's report.
pub fn describe(history: &[Step]) -> String {
    history
        .iter()
        .enumerate()
        .map(|(i, step)| format!("  {i:>2}: {step:?}\n"))
        .collect()
}
