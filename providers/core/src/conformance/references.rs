//! The reference table: what `provider_reference` must be for the provider to recognise a
//! re-sent refund (DESIGN §4): the same for the same refund id, different for different ids,
//! printable ASCII, and within the provider's length limit.

use std::collections::HashSet;

use super::harness::TIMEOUT;
use super::target::{ConformanceTarget, Failures};
use crate::ids::{is_printable_ascii, RefundId};

/// How many refund ids the table derives references for.
const SAMPLES: usize = 2_000;

pub(super) fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let provider = target.build("http://127.0.0.1:9", TIMEOUT);
    let limit = target.reference_limit();
    let mut seen = HashSet::new();
    for _ in 0..SAMPLES {
        let id = RefundId::generate();
        let reference = provider.provider_reference(&id);
        let rows = [
            (reference.is_empty(), "is empty"),
            (
                reference.len() > limit,
                "is longer than the provider's limit",
            ),
            (!is_printable_ascii(&reference), "is not printable ASCII"),
            (
                provider.provider_reference(&id) != reference,
                "changes from one call to the next",
            ),
            (
                !seen.insert(reference.clone()),
                "is shared with another refund id",
            ),
        ];
        if let Some((_, why)) = rows.iter().find(|(broken, _)| *broken) {
            failures.push(format!(
                "the reference `{reference}` of {id} {why} (limit {limit})"
            ));
            break;
        }
    }
    failures
}
