//! The conformance kit (feature `testkit`): the whole `RefundProvider` contract as tables of
//! checks that every adapter must pass, so that a new provider gets the same guarantees as
//! the first ones by implementing [`ConformanceTarget`] and calling [`run`]. One module per
//! table:
//!
//! - [`failures`]: for `refund` and `refund_status`, a delay past the timeout, a connection
//!   closed after sending, 5xx and unreadable answers are `Unknown`; a refused connection is
//!   `NotSent`; 401 is `Misconfigured`.
//! - [`statuses`]: every documented status word maps to its gateway status and failure code,
//!   from the create answer and from the status query; the provider's "no such refund" is
//!   `NotFound` from `refund_status`.
//! - [`refusals`]: every documented 4xx of the create call is `Rejected` with its code.
//! - [`references`]: `provider_reference` is deterministic, distinct per refund id, printable
//!   ASCII and within the provider's length limit.
//! - [`webhooks`]: an unsigned webhook is refused; a genuine one is accepted and names our
//!   reference; the same body with one byte changed is refused.
//! - [`faults`]: against the provider's own simulator, each injected fault gives the
//!   documented classification, and a refund applied then dropped is applied exactly once.
//! - [`proofs`]: what the engine concludes from an answer lost then not found, a success
//!   without an amount and a success in another currency follows from the adapter's declared
//!   proofs (DESIGN §16), never from an assumption.
//!
//! The target supplies the wire bodies (it knows the wire format, the kit does not), built
//! from the request it is given so that they echo its reference and payment.
//! What the target supplies, and the cases it documents, are in `target`; how a check
//! drives an adapter (the timeout, a wiremock answer, the call of a row) in `harness`.

mod failures;
mod faults;
mod harness;
mod proofs;
mod references;
mod refusals;
mod statuses;
mod target;
mod webhooks;

pub use harness::{unused_port, Operation};
pub use target::{ConformanceTarget, Failures, RefusalCase, SignedWebhook, StatusCase, WireAnswer};

/// Runs every table and panics with every failed row listed.
pub async fn run(target: &dyn ConformanceTarget) {
    let mut failures = Failures::new();
    failures.extend(failures::check(target).await);
    failures.extend(statuses::check(target).await);
    failures.extend(refusals::check(target).await);
    failures.extend(references::check(target));
    failures.extend(webhooks::check(target));
    failures.extend(faults::check(target).await);
    failures.extend(proofs::check(target).await);
    assert!(
        failures.is_empty(),
        "conformance failures:\n  {}",
        failures.join("\n  ")
    );
}
