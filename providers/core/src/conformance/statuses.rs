//! The success-mapping table: every documented status word becomes its gateway status (and
//! failure code), from the create answer and from the status query, with our reference and
//! an amount; and the provider's "no such refund" is `NotFound` from `refund_status`.

use super::harness::{call, sample_for, serve, Operation, TIMEOUT};
use super::target::{ConformanceTarget, Failures};
use crate::outcome::{ProviderRefund, ProviderRefundStatus};

pub(super) async fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let offline = target.build("http://127.0.0.1:9", TIMEOUT);
    let sample = sample_for(target, offline.as_ref());
    let cases = target.statuses(&sample);
    if cases.is_empty() {
        failures.push("statuses: the target documents no status word".into());
    }
    for expected in [
        ProviderRefundStatus::Processing,
        ProviderRefundStatus::Succeeded,
        ProviderRefundStatus::Failed,
    ] {
        if !cases.iter().any(|case| case.expected == expected) {
            failures.push(format!(
                "statuses: no documented word maps to {}",
                expected.as_str()
            ));
        }
    }
    for case in &cases {
        for (operation, answer) in [
            (Operation::Refund, &case.create),
            (Operation::RefundStatus, &case.query),
        ] {
            let server = serve(answer).await;
            let provider = target.build(&server.uri(), TIMEOUT);
            let result = call(provider.as_ref(), &sample, operation).await;
            let row = format!("{operation:?} answered `{}`", case.word);
            match result {
                Ok(refund) => failures.extend(mismatches(&row, &refund, case, &sample)),
                Err(e) => failures.push(format!(
                    "{row}: expected {}, got {e:?}",
                    case.expected.as_str()
                )),
            }
        }
    }
    let server = serve(&target.not_found_answer(&sample)).await;
    let provider = target.build(&server.uri(), TIMEOUT);
    match provider.refund_status(&sample).await {
        Ok(refund) if refund.status == ProviderRefundStatus::NotFound => {}
        other => failures.push(format!(
            "a never-made refund: refund_status should be Ok(NotFound), got {other:?}"
        )),
    }
    failures
}

fn mismatches(
    row: &str,
    refund: &ProviderRefund,
    case: &super::target::StatusCase,
    sample: &crate::request::ProviderRefundRequest,
) -> Failures {
    let mut failures = Failures::new();
    if refund.status != case.expected {
        failures.push(format!(
            "{row}: expected {}, got {}",
            case.expected.as_str(),
            refund.status.as_str()
        ));
    }
    let code = refund.failure.as_ref().map(|f| f.code);
    if code != case.failure_code {
        failures.push(format!(
            "{row}: expected failure code {:?}, got {code:?}",
            case.failure_code
        ));
    }
    if case.expected == ProviderRefundStatus::Failed && refund.failure.is_none() {
        failures.push(format!("{row}: a failed refund carries no failure"));
    }
    if refund.provider_reference.as_deref() != Some(sample.provider_reference.as_str()) {
        failures.push(format!(
            "{row}: the refund should name our reference {}, got {:?}",
            sample.provider_reference, refund.provider_reference
        ));
    }
    if let Some(contradiction) = &refund.contradiction {
        failures.push(format!(
            "{row}: a documented answer about this very refund is read as contradicting it: \
             {contradiction}"
        ));
    }
    if refund.raw_status.is_empty() {
        failures.push(format!(
            "{row}: the provider's word is not kept in raw_status"
        ));
    }
    if sample.amount.is_some() && refund.amount != sample.amount && refund.breakdown.is_empty() {
        failures.push(format!(
            "{row}: the answer's amount should be reported ({:?}), got {:?}",
            sample.amount, refund.amount
        ));
    }
    failures
}
