//! What a simulator can be told to do wrong: the counted faults a request draws
//! ([`FaultCounters`]), the webhook switches of the simulators that send webhooks
//! ([`WebhookFaults`]), the one fault a request takes ([`FaultPlan`]) and the countdown they
//! share ([`CountedFaults`], implemented by [`counted_faults!`](crate::counted_faults)).

use serde::{Deserialize, Serialize};

use super::outage::Outage;

/// Faults injected into the next requests to a provider API (control endpoints excluded).
/// Each request takes at most one counted fault, checked in this order: `fail_next`,
/// `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next`; the counter it takes goes
/// down by one. JSON: `POST /_sandbox/faults` with any of these fields (others refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultCounters {
    /// Extra delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Answer this many requests 503 without applying them.
    pub fail_next: u32,
    /// Hang this many requests for `hang_ms`, then refuse them, without applying them.
    pub timeout_next: u32,
    /// Apply this many requests, then hang for `hang_ms` before answering.
    pub apply_then_hang_next: u32,
    /// Apply this many requests, then break the answer, so the client sees a transport
    /// error after the effect happened.
    pub drop_after_apply_next: u32,
    /// An outage starting now (see [`outage`](super::outage)); shown with the seconds it has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
}

/// The faults of a simulator that sends webhooks: the counters of [`FaultCounters`] and
/// switches for what its webhooks do. JSON: `POST /_sandbox/faults` with any of these fields
/// (others refused); the switches keep their defaults when left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFaults {
    /// Extra delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Answer this many requests 503 without applying them.
    pub fail_next: u32,
    /// Hang this many requests for `hang_ms`, then refuse them, without applying them.
    pub timeout_next: u32,
    /// Apply this many requests, then hang for `hang_ms` before answering.
    pub apply_then_hang_next: u32,
    /// Apply this many requests, then break the answer.
    pub drop_after_apply_next: u32,
    /// An outage starting now (see [`outage`](super::outage)); shown with the seconds it has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// Send every webhook twice, with the same event id.
    pub duplicate_webhooks: bool,
    /// After a refund's final event, send a stale earlier one (new id, older timestamp);
    /// which one is the provider's, in its README.
    pub out_of_order_webhooks: bool,
    /// Send webhooks at all (refunds still reach their final status when off).
    pub webhooks_enabled: bool,
}

impl Default for WebhookFaults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            fail_next: 0,
            timeout_next: 0,
            apply_then_hang_next: 0,
            drop_after_apply_next: 0,
            outage: None,
            duplicate_webhooks: false,
            out_of_order_webhooks: false,
            webhooks_enabled: true,
        }
    }
}

/// The fault one request is subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPlan {
    None,
    /// Refused at once, not applied.
    Fail,
    /// Refused after hanging, not applied.
    Timeout,
    /// Applied, then answered after hanging.
    ApplyThenHang,
    /// Applied, then the answer is broken.
    DropAfterApply,
    /// An outage: answered 503, not applied.
    OutageRefuse,
    /// An outage: applied, then answered 503.
    OutageApplyThenRefuse,
}

/// A set of faults with the four counters of [`FaultCounters`]; a sandbox whose `Faults`
/// carries more switches implements this to share the countdown.
pub trait CountedFaults {
    /// Extra delay before every answer, in milliseconds.
    fn latency_ms(&self) -> u64;

    /// `fail_next`, `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next`, in the
    /// order they are drawn.
    fn counters_mut(&mut self) -> [&mut u32; 4];

    /// The extra latency and the four counters as they stand (what `Simulator::faults`
    /// reports).
    fn counters(&self) -> FaultCounters;

    /// Replaces the extra latency and the four counters with `counted`'s; switches of the
    /// provider's own (webhook faults) stay as they are (what `Simulator::set_faults` does).
    fn set_counters(&mut self, counted: FaultCounters);

    /// The `outage` field: taken out when the faults are set (it starts then), filled in
    /// with the outage in force when they are shown.
    fn outage_mut(&mut self) -> &mut Option<Outage>;

    /// The fault the next request takes, counting its counter down.
    fn take(&mut self) -> FaultPlan {
        const PLANS: [FaultPlan; 4] = [
            FaultPlan::Fail,
            FaultPlan::Timeout,
            FaultPlan::ApplyThenHang,
            FaultPlan::DropAfterApply,
        ];
        for (counter, plan) in self.counters_mut().into_iter().zip(PLANS) {
            if *counter > 0 {
                *counter -= 1;
                return plan;
            }
        }
        FaultPlan::None
    }
}

/// Implements [`CountedFaults`] for a struct with the public fields `latency_ms: u64` and
/// `fail_next`, `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next: u32` (a
/// sandbox's own `Faults` that carries more switches than [`FaultCounters`]).
#[macro_export]
macro_rules! counted_faults {
    ($faults:ty) => {
        impl $crate::sandbox_kit::CountedFaults for $faults {
            fn latency_ms(&self) -> u64 {
                self.latency_ms
            }

            fn counters_mut(&mut self) -> [&mut u32; 4] {
                [
                    &mut self.fail_next,
                    &mut self.timeout_next,
                    &mut self.apply_then_hang_next,
                    &mut self.drop_after_apply_next,
                ]
            }

            fn counters(&self) -> $crate::sandbox_kit::FaultCounters {
                $crate::sandbox_kit::FaultCounters {
                    latency_ms: self.latency_ms,
                    fail_next: self.fail_next,
                    timeout_next: self.timeout_next,
                    apply_then_hang_next: self.apply_then_hang_next,
                    drop_after_apply_next: self.drop_after_apply_next,
                    outage: self.outage,
                }
            }

            fn outage_mut(&mut self) -> &mut Option<$crate::sandbox_kit::Outage> {
                &mut self.outage
            }

            fn set_counters(&mut self, counted: $crate::sandbox_kit::FaultCounters) {
                self.latency_ms = counted.latency_ms;
                self.fail_next = counted.fail_next;
                self.timeout_next = counted.timeout_next;
                self.apply_then_hang_next = counted.apply_then_hang_next;
                self.drop_after_apply_next = counted.drop_after_apply_next;
                if counted.outage.is_some() {
                    self.outage = counted.outage;
                }
            }
        }
    };
}

counted_faults!(FaultCounters);
counted_faults!(WebhookFaults);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_drawn_in_order_one_per_request() {
        let mut faults = FaultCounters {
            fail_next: 1,
            timeout_next: 1,
            apply_then_hang_next: 1,
            drop_after_apply_next: 2,
            ..FaultCounters::default()
        };
        let drawn: Vec<FaultPlan> = (0..6).map(|_| faults.take()).collect();
        assert_eq!(
            drawn,
            [
                FaultPlan::Fail,
                FaultPlan::Timeout,
                FaultPlan::ApplyThenHang,
                FaultPlan::DropAfterApply,
                FaultPlan::DropAfterApply,
                FaultPlan::None,
            ]
        );
        assert_eq!(faults, FaultCounters::default());
    }

    #[test]
    fn the_faults_json_has_the_documented_field_names_and_refuses_others() {
        let faults: FaultCounters = serde_json::from_value(serde_json::json!({
            "fail_next": 1, "timeout_next": 2, "apply_then_hang_next": 3, "drop_after_apply_next": 4
        }))
        .expect("faults");
        assert_eq!(
            faults,
            FaultCounters {
                latency_ms: 0,
                fail_next: 1,
                timeout_next: 2,
                apply_then_hang_next: 3,
                drop_after_apply_next: 4,
                outage: None,
            }
        );
        let unknown: Result<FaultCounters, _> =
            serde_json::from_value(serde_json::json!({"fail_nxt": 1}));
        assert!(unknown.is_err());
    }
}
