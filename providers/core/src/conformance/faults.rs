//! The simulator's fault contract (DESIGN §12), against the provider's own simulator through
//! its plugin, with the real adapter in front of it: each injected fault gives the documented
//! classification and uses up its counter; nothing refused is applied (the status query finds
//! nothing); a refund applied then dropped is applied exactly once, found by the status
//! query, and (where the provider deduplicates by reference) not applied again when re-sent.
//! The outage fault (DESIGN §17): `unavailable` answers 503 (`Unknown`) while applying every
//! second refund; `refuse` refuses connections (`NotSent`, nothing applied), and the
//! simulator answers again once it ends.

use std::time::Duration;

use crate::error::ProviderError;
use crate::outcome::ProviderRefundStatus;
use crate::provider::RefundProvider;
use crate::request::ProviderRefundRequest;
use crate::sandbox_kit::{FaultCounters, Outage, OutageMode};
use crate::settings::BuildContext;
use crate::simulator::{pending_faults, Simulator, SimulatorOptions};

use super::target::{ConformanceTarget, Failures};

/// The adapter's timeout against the simulator; the simulator hangs much longer.
const ADAPTER_TIMEOUT_MS: u64 = 1_000;
const HANG_MS: u64 = 4_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// `Ok` with `processing` or `succeeded`.
    Accepted,
    /// `Unknown`.
    Unknown,
}

/// (row, the fault, what the adapter must conclude, how many times it was applied)
const TABLE: &[(&str, FaultCounters, Outcome, usize)] = &[
    ("no fault", NONE, Outcome::Accepted, 1),
    (
        "fail_next (503, not applied)",
        FaultCounters {
            fail_next: 1,
            ..NONE
        },
        Outcome::Unknown,
        0,
    ),
    (
        "timeout_next (hangs past the timeout, not applied)",
        FaultCounters {
            timeout_next: 1,
            ..NONE
        },
        Outcome::Unknown,
        0,
    ),
    (
        "apply_then_hang_next (applied, then hangs past the timeout)",
        FaultCounters {
            apply_then_hang_next: 1,
            ..NONE
        },
        Outcome::Unknown,
        1,
    ),
    (
        "drop_after_apply_next (applied, then the answer breaks)",
        FaultCounters {
            drop_after_apply_next: 1,
            ..NONE
        },
        Outcome::Unknown,
        1,
    ),
];

const NONE: FaultCounters = FaultCounters {
    latency_ms: 0,
    fail_next: 0,
    timeout_next: 0,
    apply_then_hang_next: 0,
    drop_after_apply_next: 0,
    outage: None,
};

pub(super) async fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let plugin = target.plugin();
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => return vec![format!("faults: cannot bind a loopback port: {e}")],
    };
    let options = SimulatorOptions {
        hang_ms: Some(HANG_MS),
        ..SimulatorOptions::default()
    };
    let simulator = match plugin.start_simulator(listener, options).await {
        Ok(simulator) => simulator,
        Err(e) => {
            return vec![format!(
                "faults: the {} simulator did not start: {e}",
                plugin.id()
            )]
        }
    };
    let mut section = plugin.sandbox_section(&simulator.base_url());
    if let Some(table) = section.as_object_mut() {
        table.insert("timeout_ms".into(), ADAPTER_TIMEOUT_MS.into());
    }
    let ctx = BuildContext::new(format!("providers.{}", plugin.id()), "http://127.0.0.1:9");
    let provider = match plugin.build(section, &ctx) {
        Ok(provider) => provider,
        Err(problems) => {
            return vec![format!(
                "faults: the plugin's sandbox section does not build: {problems:?}"
            )]
        }
    };
    for (index, (row, faults, outcome, applied)) in TABLE.iter().enumerate() {
        let mut req = simulator.sample_request(&format!("conf{index}{}", short_tag()));
        req.provider_reference = provider.provider_reference(&req.refund_id);
        failures.extend(
            exercise(
                simulator.as_ref(),
                provider.as_ref(),
                &req,
                row,
                faults,
                *outcome,
                *applied,
            )
            .await,
        );
    }
    failures.extend(outages(simulator.as_ref(), provider.as_ref()).await);
    failures
}

/// The outage rows: see the module doc.
async fn outages(simulator: &dyn Simulator, provider: &dyn RefundProvider) -> Failures {
    let mut failures = Failures::new();
    let outage = |mode, seconds| FaultCounters {
        outage: Some(Outage { mode, seconds }),
        ..NONE
    };
    let request = |n: u32| {
        let mut req = simulator.sample_request(&format!("out{n}{}", short_tag()));
        req.provider_reference = provider.provider_reference(&req.refund_id);
        req
    };
    simulator.set_faults(outage(OutageMode::Unavailable, 60));
    for (n, applied) in [(0, 0), (1, 1)] {
        let req = request(n);
        let result = provider.refund(&req).await;
        if !matches!(result, Err(ProviderError::Unknown { .. })) {
            failures.push(format!(
                "outage unavailable, request {n}: expected Unknown, got {result:?}"
            ));
        }
        let effects = simulator.effects_for(&req.provider_reference);
        if effects != applied {
            failures.push(format!(
                "outage unavailable, request {n}: applied {effects} times, expected {applied}"
            ));
        }
    }
    simulator.set_faults(outage(OutageMode::Unavailable, 0));
    simulator.set_faults(outage(OutageMode::Refuse, 1));
    // The server stops accepting and closes its idle connections.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let req = request(2);
    let result = provider.refund(&req).await;
    if !matches!(result, Err(ProviderError::NotSent { .. })) {
        failures.push(format!("outage refuse: expected NotSent, got {result:?}"));
    }
    let mut back = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if provider.refund(&req).await.is_ok() {
            back = true;
            break;
        }
    }
    if !back {
        failures.push("outage refuse: the simulator did not answer again after it".into());
    }
    simulator.set_faults(NONE);
    failures
}

async fn exercise(
    simulator: &dyn Simulator,
    provider: &dyn RefundProvider,
    req: &ProviderRefundRequest,
    row: &str,
    faults: &FaultCounters,
    outcome: Outcome,
    applied: usize,
) -> Failures {
    let mut failures = Failures::new();
    simulator.set_faults(faults.clone());
    let result = provider.refund(req).await;
    let concluded = match (&result, outcome) {
        (Ok(refund), Outcome::Accepted) => matches!(
            refund.status,
            ProviderRefundStatus::Processing | ProviderRefundStatus::Succeeded
        ),
        (Err(ProviderError::Unknown { .. }), Outcome::Unknown) => true,
        _ => false,
    };
    if !concluded {
        failures.push(format!(
            "simulator {row}: expected {outcome:?}, got {result:?}"
        ));
    }
    let pending = pending_faults(&simulator.faults());
    if pending != 0 {
        failures.push(format!(
            "simulator {row}: the fault was not drawn ({pending} left)"
        ));
    }
    let effects = simulator.effects_for(&req.provider_reference);
    if effects != applied {
        failures.push(format!(
            "simulator {row}: applied {effects} times, expected {applied}"
        ));
    }
    if applied == 0 {
        match provider.refund_status(req).await {
            Ok(found) if found.status == ProviderRefundStatus::NotFound => {}
            other => failures.push(format!(
                "simulator {row}: the status query should find nothing, got {other:?}"
            )),
        }
        return failures;
    }
    match provider.refund_status(req).await {
        Ok(found) if found.status != ProviderRefundStatus::NotFound => {}
        other => failures.push(format!(
            "simulator {row}: the status query should find the applied refund, got {other:?}"
        )),
    }
    if outcome == Outcome::Unknown && provider.proofs().resend_is_deduplicated {
        let resent = provider.refund(req).await;
        let effects = simulator.effects_for(&req.provider_reference);
        if effects != 1 {
            failures.push(format!(
                "simulator {row}: re-sent after the unknown outcome, applied {effects} times \
                 ({resent:?})"
            ));
        }
    }
    failures
}

/// A few characters unique to this run, so that repeated runs against one simulator never
/// share a payment.
fn short_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos();
    format!("{nanos:08x}")
}
