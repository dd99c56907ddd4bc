//! Stripe end to end (DESIGN §7): a refund through the gateway's Stripe adapter against the
//! Stripe simulator, settled by its signed `Stripe-Signature` events at
//! `/v1/webhooks/stripe`; what the merchant sent reaching Stripe as metadata; the later
//! failure or cancellation of a refund by webhook; a refund Stripe fails after it succeeded
//! (kept `succeeded`, flagged, its ledger lines reversed); and Stripe's refusals. The counted
//! faults are `faults.rs`'s, for every provider.

use std::time::Duration;

use provider_stripe::sandbox::{Sandbox, SECRET_KEY};
use refund_provider::SimulatorOptions;
use serde_json::{json, Value};

use crate::helpers::{options, spawn, spawn_with, tag, transitions_to, E2e};

fn stripe(app: &E2e) -> &Sandbox {
    app.sims.concrete::<Sandbox>("stripe")
}

/// The refund as the Stripe simulator holds it (`GET /v1/refunds/{id}`).
async fn at_stripe(app: &E2e, stripe_id: &str) -> Value {
    app.client
        .get(format!("{}/v1/refunds/{stripe_id}", stripe(app).base_url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("GET the refund at Stripe")
        .json()
        .await
        .expect("JSON")
}

/// The summary's clearing balance of Stripe in `currency`, if any line was posted.
async fn stripe_clearing(app: &E2e, currency: &str) -> Option<String> {
    let summary = app.get("/v1/reconciliation/summary").await;
    summary["clearing_balances"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|row| row["provider"] == "stripe" && row["currency"] == currency)
        })
        .and_then(|row| row["balance"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stripe_refund_is_processing_until_its_signed_event_and_carries_the_merchants_metadata() {
    let app = spawn().await;
    let t = tag();
    let body = app.sims.sample("stripe", &t);
    let (status, refund) = app.create(&body).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["provider"], "stripe");
    assert_eq!(refund["status"], "processing", "{refund}");
    let id = refund["id"].as_str().expect("id");

    let settled = app
        .wait_for_status(id, "succeeded", Duration::from_secs(5))
        .await;
    assert_eq!(settled["status"], "succeeded", "{settled}");
    let events = app.events(id).await;
    assert_eq!(
        transitions_to(&events, "succeeded"),
        ["webhook"],
        "{events:?}"
    );
    assert_eq!(app.sims.effects_for("stripe", id), 1);

    // Every event (refund.created, charge.refunded, refund.updated) was acknowledged.
    let deliveries = stripe(&app).deliveries();
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
    assert!(kinds.contains(&"charge.refunded"), "{deliveries:?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.answer == Some(200) && d.url.ends_with("/v1/webhooks/stripe")),
        "{deliveries:?}"
    );

    // The merchant, its metadata and the gateway refund id reached Stripe.
    let stripe_id = settled["provider_refund_id"].as_str().expect("Stripe id");
    let stored = at_stripe(&app, stripe_id).await;
    assert_eq!(
        stored["metadata"],
        json!({"gateway_refund_id": id, "merchant_id": "acme", "order": format!("order-{t}")}),
        "{stored}"
    );
    assert_eq!(stored["reason"], "requested_by_customer", "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_refunds_that_fail_or_are_canceled_later_reach_that_status_by_webhook() {
    let app = spawn().await;
    for (amount, final_status) in [("60.60", "failed"), ("80.80", "canceled")] {
        let (status, refund) = app
            .create(
                &json!({"provider": "stripe", "payment_id": format!("pi_{}", tag()),
                            "amount": amount, "currency": "EUR"}),
            )
            .await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "processing", "{amount}: {refund}");
        let id = refund["id"].as_str().expect("id");
        let settled = app
            .wait_for_status(id, final_status, Duration::from_secs(5))
            .await;
        assert_eq!(settled["status"], final_status, "{amount}: {settled}");
        assert_eq!(
            transitions_to(&app.events(id).await, final_status),
            ["webhook"],
            "{amount}"
        );
        if final_status == "failed" {
            assert_eq!(settled["failure_code"], "provider_failed", "{settled}");
            assert!(
                settled["failure_message"]
                    .as_str()
                    .is_some_and(|m| m.contains("expired_or_canceled_card")),
                "{settled}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_stripe_fails_after_it_succeeded_stays_succeeded_flagged_and_reversed() {
    // The late failure comes 1.5 s after the answer, time to read the books before it.
    let app = spawn_with(&[(
        "stripe",
        SimulatorOptions {
            settle_after_ms: Some(1_500),
            ..options()
        },
    )])
    .await;
    let (status, refund) = app
        .create(
            &json!({"provider": "stripe", "payment_id": format!("pi_{}", tag()),
                        "amount": "30.30", "currency": "EUR"}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    let id = refund["id"].as_str().expect("id");
    assert_eq!(
        stripe_clearing(&app, "EUR").await.as_deref(),
        Some("-30.30"),
        "Stripe owes the succeeded refund"
    );

    let flagged = app
        .wait_for(id, Duration::from_secs(5), |r| {
            r["requires_attention"] == true
        })
        .await;
    assert_eq!(flagged["requires_attention"], true, "{flagged}");
    assert_eq!(flagged["status"], "succeeded", "a final status never moves");
    assert!(flagged["failure_code"].is_null(), "{flagged}");
    let events = app.events(id).await;
    let flag = events
        .iter()
        .find(|e| e["kind"] == "requires_attention")
        .unwrap_or_else(|| panic!("no flag in {events:?}"));
    assert_eq!(flag["source"], "webhook");
    assert_eq!(
        flag["detail"]["reason"], "contradicts_final_status",
        "{flag}"
    );
    assert_eq!(
        stripe_clearing(&app, "EUR").await.as_deref(),
        Some("0.00"),
        "the refund's lines are reversed"
    );
    let summary = app.get("/v1/reconciliation/summary").await;
    assert_eq!(summary["requires_attention"]["count"], 1, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripes_refusals_become_failed_refunds_and_what_it_cannot_take_is_refused_before() {
    let app = spawn().await;
    let stripe_body = |payment: String, amount: &str, currency: &str| {
        json!({"provider": "stripe", "payment_id": payment, "amount": amount,
               "currency": currency})
    };
    let cases = [
        // (what, body, failure_code)
        (
            "402 card_declined (40.20)",
            stripe_body(format!("pi_{}", tag()), "40.20", "EUR"),
            "provider_declined",
        ),
        (
            "400 resource_missing",
            stripe_body("pi_missing".into(), "10.00", "EUR"),
            "provider_rejected",
        ),
        (
            "400 more than the payment (param amount)",
            stripe_body(format!("pi_{}", tag()), "20000.00", "EUR"),
            "amount_invalid",
        ),
    ];
    for (what, body, failure_code) in cases {
        let (status, refund) = app.create(&body).await;
        assert_eq!(status, 201, "{what}: {refund}");
        assert_eq!(refund["status"], "failed", "{what}: {refund}");
        assert_eq!(refund["failure_code"], failure_code, "{what}: {refund}");
    }
    // A 429 on every attempt processed nothing: the refund waits in the queue (DESIGN §17)
    // rather than failing.
    let (status, limited) = app
        .create(&stripe_body(format!("pi_{}", tag()), "42.90", "EUR"))
        .await;
    assert_eq!(status, 201, "{limited}");
    assert_eq!(limited["status"], "pending", "{limited}");
    assert_eq!(
        limited["pending_reason"], "provider_unavailable",
        "{limited}"
    );

    // Refused with a 400 before anything is recorded or sent.
    let mut reserved = stripe_body(format!("pi_{}", tag()), "10.00", "EUR");
    reserved["metadata"] = json!({"merchant_id": "someone-else"});
    let mut bad_reason = stripe_body(format!("pi_{}", tag()), "10.00", "EUR");
    bad_reason["provider_options"] = json!({"stripe": {"reason": "changed my mind"}});
    for (what, body, code, param) in [
        (
            "a KWD amount Stripe cannot carry",
            stripe_body(format!("pi_{}", tag()), "5.124", "KWD"),
            "amount_invalid",
            "amount",
        ),
        (
            "a reserved metadata key",
            reserved,
            "parameter_invalid",
            "metadata.merchant_id",
        ),
        (
            "a reason Stripe does not take",
            bad_reason,
            "parameter_invalid",
            "provider_options.stripe.reason",
        ),
    ] {
        let (status, answer) = app.create(&body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert_eq!(answer["error"]["param"], param, "{what}: {answer}");
    }
    assert_eq!(app.sims.all_effects("stripe"), 0, "Stripe refunded nothing");
    let listed = app.get("/v1/refunds?provider=stripe&limit=100").await;
    assert_eq!(
        listed["data"].as_array().map(Vec::len),
        Some(4),
        "the four refusals are recorded, the 400s are not: {listed}"
    );
}
