//! Injected provider faults and the gateway status each must produce (DESIGN §4, §8): an
//! outcome the gateway cannot know leaves the refund `pending` (never `failed`, never sent
//! again blindly), and whatever the provider applied is applied exactly once.

use std::time::Duration;

use refund_provider::SimulatorOptions;
use serde_json::Value;

use crate::helpers::{
    options, providers, sends_webhooks, spawn, spawn_with, tag, transitions_to, E2e, Fault,
};
use crate::providers::reference_of;

/// Long enough for a blind retry, had there been one, to reach the simulator.
const SETTLE: Duration = Duration::from_millis(300);

/// Injects `fault` into `provider`'s next request, creates a refund routed there, and checks
/// the answer is `201 pending` after one request reached the simulator. Returns the refund.
///
/// A provider that sends webhooks may tell the gateway about a refund it applied while the
/// call hangs or breaks (Stripe posts `refund.created` at once): then the answer may already
/// be `processing`, moved there by that webhook and nothing else.
async fn create_under_fault(app: &E2e, provider: &str, fault: Fault) -> Value {
    app.sims.inject(provider, fault);
    let (status, refund) = app.create(&app.sims.sample(provider, &tag())).await;
    let what = format!("{fault:?} at {provider}");
    assert_eq!(status, 201, "{what}: {refund}");
    assert_eq!(refund["provider"], provider, "{what}: {refund}");
    if refund["status"] != "pending" {
        assert!(
            fault.applies() && sends_webhooks(provider) && refund["status"] == "processing",
            "{what}: {refund}"
        );
        let id = refund["id"].as_str().expect("id");
        let events = app.events(id).await;
        assert_eq!(
            transitions_to(&events, "processing"),
            ["webhook"],
            "{what}: only a webhook moved it: {events:?}"
        );
    }
    assert!(refund["failure_code"].is_null(), "{what}: {refund}");
    assert!(
        app.sims.fault_consumed(provider),
        "{what}: the request reached the simulator"
    );
    refund
}

/// After a fault that did not apply the refund: still pending, nothing applied, nothing sent again.
async fn assert_pending_and_not_applied(app: &E2e, provider: &str, fault: Fault, refund: &Value) {
    let what = format!("{fault:?} at {provider}");
    tokio::time::sleep(SETTLE).await;
    let id = refund["id"].as_str().expect("id");
    let now = app.refund(id).await;
    assert_eq!(now["status"], "pending", "{what}: {now}");
    assert_eq!(
        app.sims.effects_for(provider, &reference_of(refund)),
        0,
        "{what}: nothing applied"
    );
    assert_eq!(app.sims.all_effects(provider), 0, "{what}: not sent again");
}

/// After a fault that applied the refund: the effect is there once. A provider without
/// webhooks (AuthMS, e-Buy) leaves the refund pending for the status sync; one with webhooks
/// (eFundPay, Stripe) settles it by webhook.
async fn assert_applied_once(app: &E2e, provider: &str, fault: Fault, refund: &Value) {
    let what = format!("{fault:?} at {provider}");
    let id = refund["id"].as_str().expect("id");
    let reference = reference_of(refund);
    match sends_webhooks(provider) {
        false => {
            tokio::time::sleep(SETTLE).await;
            let now = app.refund(id).await;
            assert_eq!(now["status"], "pending", "{what}: {now}");
        }
        true => {
            let now = app
                .wait_for_status(id, "succeeded", Duration::from_secs(5))
                .await;
            assert_eq!(
                now["status"], "succeeded",
                "{what}: settled by the webhook: {now}"
            );
            let events = app.events(id).await;
            assert_eq!(
                transitions_to(&events, "succeeded"),
                ["webhook"],
                "{what}: {events:?}"
            );
        }
    }
    assert_eq!(
        app.sims.effects_for(provider, &reference),
        1,
        "{what}: applied once"
    );
    assert_eq!(app.sims.all_effects(provider), 1, "{what}: applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_from_any_provider_leaves_the_refund_pending_and_sends_nothing_again() {
    for provider in providers() {
        let app = spawn().await;
        let refund = create_under_fault(&app, provider, Fault::Fail).await;
        assert_pending_and_not_applied(&app, provider, Fault::Fail, &refund).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_500_magic_value_leaves_the_refund_pending_not_failed() {
    let app = spawn().await;
    // Each provider's magic value for a 500 (see its README).
    let cases = [
        (
            "authms",
            serde_json::json!({"payment_id": "txn_server_error", "amount": "20.00",
                                               "currency": "CNY", "customer_id": "usr_500"}),
        ),
        (
            "efundpay",
            serde_json::json!({"payment_id": format!("pay_{}", tag()),
                                                 "amount": "50.01", "currency": "EUR"}),
        ),
        (
            "stripe",
            serde_json::json!({"provider": "stripe", "payment_id": format!("pi_{}", tag()),
                               "amount": "50.01", "currency": "EUR"}),
        ),
    ];
    for (provider, body) in cases {
        let (status, refund) = app.create(&body).await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["provider"], provider);
        assert_eq!(refund["status"], "pending", "{refund}");
        tokio::time::sleep(SETTLE).await;
        let id = refund["id"].as_str().expect("id");
        assert_eq!(app.refund(id).await["status"], "pending");
        assert_eq!(
            app.sims.all_effects(provider),
            0,
            "{provider}: nothing applied"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_hangs_past_the_timeout_leaves_the_refund_pending() {
    for provider in providers() {
        let app = spawn().await;
        let started = std::time::Instant::now();
        let refund = create_under_fault(&app, provider, Fault::Timeout).await;
        assert!(
            started.elapsed() < Duration::from_millis(crate::helpers::HANG_MS),
            "{provider}: the adapter gave up at its timeout, not when the simulator answered"
        );
        assert_pending_and_not_applied(&app, provider, Fault::Timeout, &refund).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_after_the_provider_applied_leaves_it_pending_with_the_effect_recorded_once() {
    for provider in providers() {
        // A provider's settlement (and its webhook) is scheduled when it applies the refund;
        // during the hang it would settle the refund before the create call gives up, so it
        // comes later here.
        let later = SimulatorOptions {
            settle_after_ms: Some(2 * crate::helpers::PROVIDER_TIMEOUT_MS),
            ..options()
        };
        let app = spawn_with(&[(provider, later)]).await;
        let refund = create_under_fault(&app, provider, Fault::ApplyThenHang).await;
        assert_applied_once(&app, provider, Fault::ApplyThenHang, &refund).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_dropped_after_applying_leaves_it_pending_with_the_effect_recorded_once() {
    for provider in providers() {
        let app = spawn().await;
        let refund = create_under_fault(&app, provider, Fault::DropAfterApply).await;
        assert_applied_once(&app, provider, Fault::DropAfterApply, &refund).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_retry_after_a_dropped_answer_replays_and_never_reaches_the_provider_again() {
    let app = spawn().await;
    let provider = "authms";
    app.sims.inject(provider, Fault::DropAfterApply);
    let body = app.sims.sample(provider, &tag());
    let (status, first) = app.create_with_key(Some("retry-after-drop"), &body).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "pending", "{first}");
    for _ in 0..3 {
        let (status, again) = app.create_with_key(Some("retry-after-drop"), &body).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], first["id"], "{again}");
    }
    assert_eq!(
        app.sims.all_effects(provider),
        1,
        "applied once whatever the retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_below_the_adapter_timeout_only_slows_the_refund_down() {
    let app = spawn().await;
    let latency = crate::helpers::PROVIDER_TIMEOUT_MS / 4;
    app.sims.set_latency(latency);
    for provider in providers() {
        let started = std::time::Instant::now();
        let (status, refund) = app.create(&app.sims.sample(provider, &tag())).await;
        assert_eq!(status, 201, "{refund}");
        assert!(
            refund["status"] == "succeeded" || refund["status"] == "processing",
            "{provider}: {refund}"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(latency),
            "{provider}: the latency applied"
        );
    }
}
