//! The documented-refusal table: each 4xx the provider documents as "not done" is
//! `Rejected` with its failure code when it answers the create call.

use super::harness::{sample_for, serve, TIMEOUT};
use super::target::{ConformanceTarget, Failures};
use crate::error::ProviderError;

pub(super) async fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let offline = target.build("http://127.0.0.1:9", TIMEOUT);
    let sample = sample_for(target, offline.as_ref());
    for case in target.refusals(&sample) {
        let server = serve(&case.answer).await;
        let provider = target.build(&server.uri(), TIMEOUT);
        match provider.refund(&sample).await {
            Err(ProviderError::Rejected { code, .. }) if code == case.code => {}
            other => failures.push(format!(
                "refund refused with {} (HTTP {}): expected Rejected {}, got {other:?}",
                case.name, case.answer.status, case.code
            )),
        }
    }
    failures
}
