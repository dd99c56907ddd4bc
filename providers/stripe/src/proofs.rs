//! What Stripe's answers prove (DESIGN §16), each fact with the sentence of Stripe's API
//! reference that grants it (docs.stripe.com/api/refunds/list, /api/idempotent_requests,
//! /api/refunds/object).

use refund_provider::Proofs;

/// Stripe proves both absence (refunds listed to the end) and deduplication (the
/// Idempotency-Key, within 20 h of the first request); its answers carry the amount.
pub const PROOFS: Proofs = Proofs {
    // List all refunds: "Returns a list of all refunds you created", filtered by
    // `payment_intent` or `charge` ("Only return refunds for the PaymentIntent specified by
    // this ID"), paged with `has_more` / `starting_after`: the status query reads the
    // payment's refunds to the end and matches `metadata[gateway_refund_id]`, so a refund
    // not in the list was not created.
    not_found_proves_absence: true,
    // Idempotent requests: "Stripe saves the status code and body of the first request
    // made with a given idempotency key … Retries with the same key return the saved
    // response, including 500 errors", and keys may be removed "after they're at least 24
    // hours old": the adapter re-sends only within 20 h of the first request
    // (`adapter::RESEND_WINDOW`), and settles anything older by the status query.
    resend_is_deduplicated: true,
    // The Refund object: "amount integer: Amount, in cents" (Stripe's minor units).
    answers_carry_amount: true,
};
