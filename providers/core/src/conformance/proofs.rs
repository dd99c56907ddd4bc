//! The proof table (DESIGN §16): what the engine concludes from an adapter's answers must
//! follow from what the adapter declares its provider proves ([`crate::proof::Proofs`]),
//! never from an assumption. Each row drives the adapter through wiremock and feeds what it
//! reports to the same pure rules the engine uses ([`crate::proof`]):
//!
//! - an answer lost after the provider applied the refund (a delay past the timeout), then a
//!   status query that finds nothing: the create must be `Unknown` and the query `NotFound`,
//!   and the conclusion is to flag it for an operator unless the adapter declares that its
//!   "not found" proves absence (and to re-send only where it also declares deduplication);
//! - a success without an amount: never a proven amount where the adapter declares that its
//!   answers carry one (an error, or a report the engine refuses to book);
//! - a success in another currency than asked: never a proven amount.

use super::harness::{sample_for, serve, TIMEOUT};
use super::target::{ConformanceTarget, Failures};
use crate::error::ProviderError;
use crate::money::Currency;
use crate::proof::{after_no_record, proven_amount, Asked, NoRecord};
use crate::request::ProviderRefundRequest;

pub(super) async fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let offline = target.build("http://127.0.0.1:9", TIMEOUT);
    let sample = sample_for(target, offline.as_ref());
    let proofs = offline.proofs();
    failures.extend(lost_then_not_found(target, &sample).await);
    let asked = Asked {
        currency: sample.currency,
        amount_minor: sample.amount.map(|m| m.minor_units().get()),
    };
    let mut unproven = vec![(
        "a success without an amount".to_owned(),
        target.success_without_amount(&sample),
    )];
    if let Some(other) = other_currency(sample.currency) {
        if let Some(answer) = target.success_in_currency(&sample, other) {
            unproven.push((format!("a success in {other}"), answer));
        }
    }
    for (row, answer) in unproven {
        let server = serve(&answer).await;
        let provider = target.build(&server.uri(), TIMEOUT);
        match provider.refund(&sample).await {
            // The adapter could not read it as this refund: nothing is concluded.
            Err(ProviderError::Unknown { .. }) => {}
            Err(other) => failures.push(format!(
                "proofs, {row}: the refund may have been made, so it must be Unknown or a \
                 report, got {other:?}"
            )),
            Ok(report) => {
                let carries = proofs.answers_carry_amount || report.amount.is_some();
                if let Ok(Some(amount)) = proven_amount(asked, &report, carries) {
                    failures.push(format!(
                        "proofs, {row}: the engine would book {amount} from it ({report:?})"
                    ));
                }
            }
        }
    }
    failures
}

/// The create answer lost after the provider applied it, then a status query that finds
/// nothing: what the engine may conclude follows from the declared proofs alone.
async fn lost_then_not_found(
    target: &dyn ConformanceTarget,
    sample: &ProviderRefundRequest,
) -> Failures {
    let mut failures = Failures::new();
    let lost = super::target::WireAnswer {
        status: 200,
        body: String::new(),
        headers: Vec::new(),
    };
    let server = serve_late(&lost).await;
    let provider = target.build(&server.uri(), TIMEOUT);
    match provider.refund(sample).await {
        Err(ProviderError::Unknown { .. }) => {}
        other => failures.push(format!(
            "proofs, an answer lost after applying: the outcome is unknown, got {other:?}"
        )),
    }
    let server = serve(&target.not_found_answer(sample)).await;
    let provider = target.build(&server.uri(), TIMEOUT);
    match provider.refund_status(sample).await {
        Ok(found) if found.status == crate::outcome::ProviderRefundStatus::NotFound => {}
        other => failures.push(format!(
            "proofs, the status query after a lost answer: expected NotFound, got {other:?}"
        )),
    }
    let proofs = provider.proofs();
    let concluded = after_no_record(proofs, false);
    let allowed = match (
        proofs.not_found_proves_absence,
        proofs.resend_is_deduplicated,
    ) {
        (false, _) => NoRecord::Flag,
        (true, true) => NoRecord::Resend,
        (true, false) => NoRecord::Fail,
    };
    if concluded != allowed {
        failures.push(format!(
            "proofs, no record after the grace period: concluded {concluded:?}, the declared \
             proofs ({proofs:?}) allow only {allowed:?}"
        ));
    }
    if after_no_record(proofs, true) == NoRecord::Resend {
        failures.push("proofs: a refund would be re-sent twice".into());
    }
    failures
}

/// A wiremock server that answers `answer` only after the adapter's timeout.
async fn serve_late(answer: &super::target::WireAnswer) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(answer.status)
                .set_body_string(answer.body.clone())
                .set_delay(TIMEOUT * 5),
        )
        .mount(&server)
        .await;
    server
}

/// A currency other than `asked` for the "another currency" row.
fn other_currency(asked: Currency) -> Option<Currency> {
    ["USD", "EUR"]
        .into_iter()
        .filter_map(|code| Currency::parse(code).ok())
        .find(|c| *c != asked)
}
