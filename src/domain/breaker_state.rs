//! A provider account's circuit breaker as metrics and the console show it (DESIGN §17): its
//! state, one text form each, and the account's view (breaker and queue of refunds never
//! sent). The breaker itself, which decides the state, is `crate::engine::breaker`.

/// The state of one breaker, as metrics and the console show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub(crate) const ALL: [BreakerState; 3] = [Self::Closed, Self::Open, Self::HalfOpen];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// What metrics and the console show of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountView {
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) state: BreakerState,
    pub(crate) enabled: bool,
    pub(crate) queued: u64,
    pub(crate) oldest_queued_at: Option<i64>,
}
