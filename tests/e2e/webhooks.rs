//! eFundPay's signed webhooks end to end, with the simulator's webhook faults: a duplicated
//! delivery and a stale out-of-order event are each answered 2xx, applied once, and leave the
//! final status where it is.

use std::time::Duration;

use provider_efundpay::sandbox::{Faults, Sandbox, WebhookDelivery};

use crate::helpers::{spawn, tag, transitions_to, E2e};

/// The eFundPay simulator, whose own webhook faults these tests use.
fn efundpay(app: &E2e) -> &Sandbox {
    app.sims.concrete::<Sandbox>("efundpay")
}

/// Waits until the simulator has made `count` delivery attempts that all got an answer.
/// The bound is generous (it only ends a wait that would otherwise never end): on a busy
/// machine the simulator's delayed second delivery may come seconds late, and a short bound
/// made the test read the log before it, a race rather than a failure of the gateway.
async fn wait_for_deliveries(app: &E2e, count: usize) -> Vec<WebhookDelivery> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let deliveries = efundpay(app).deliveries();
        if deliveries.len() >= count && deliveries.iter().all(|d| d.answer.is_some())
            || tokio::time::Instant::now() > deadline
        {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_delivered_twice_is_applied_once() {
    let app = spawn().await;
    efundpay(&app).set_faults(Faults {
        duplicate_webhooks: true,
        ..Faults::default()
    });
    let (status, refund) = app.create(&app.sims.sample("efundpay", &tag())).await;
    assert_eq!(status, 201, "{refund}");
    let id = refund["id"].as_str().expect("id");

    let deliveries = wait_for_deliveries(&app, 2).await;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(
        deliveries[0].event_id, deliveries[1].event_id,
        "the same event twice"
    );
    assert!(
        deliveries.iter().all(|d| d.answer == Some(200)),
        "both acknowledged: {deliveries:?}"
    );

    let now = app.refund(id).await;
    assert_eq!(now["status"], "succeeded", "{now}");
    let events = app.events(id).await;
    assert_eq!(
        transitions_to(&events, "succeeded"),
        ["webhook"],
        "{events:?}"
    );
    let webhook_entries = events.iter().filter(|e| e["source"] == "webhook").count();
    assert_eq!(
        webhook_entries, 1,
        "the duplicate left no trace in the history: {events:?}"
    );
    assert_eq!(app.sims.effects_for("efundpay", id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_out_of_order_webhook_is_recorded_and_ignored() {
    let app = spawn().await;
    efundpay(&app).set_faults(Faults {
        out_of_order_webhooks: true,
        ..Faults::default()
    });
    let (status, refund) = app.create(&app.sims.sample("efundpay", &tag())).await;
    assert_eq!(status, 201, "{refund}");
    let id = refund["id"].as_str().expect("id");

    let deliveries = wait_for_deliveries(&app, 2).await;
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries[0].status, "succeeded", "{deliveries:?}");
    assert_eq!(
        deliveries[1].status, "processing",
        "the stale one last: {deliveries:?}"
    );
    assert_ne!(deliveries[0].event_id, deliveries[1].event_id);
    assert!(
        deliveries.iter().all(|d| d.answer == Some(200)),
        "both acknowledged: {deliveries:?}"
    );

    let now = app.refund(id).await;
    assert_eq!(now["status"], "succeeded", "{now}");
    assert_ne!(
        now["requires_attention"], true,
        "a stale processing contradicts nothing: {now}"
    );
    let events = app.events(id).await;
    assert_eq!(
        transitions_to(&events, "succeeded"),
        ["webhook"],
        "{events:?}"
    );
    let last = events.last().expect("history");
    assert_eq!(last["kind"], "ignored", "{events:?}");
    assert_eq!(last["source"], "webhook", "{events:?}");
    assert_eq!(app.sims.effects_for("efundpay", id), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_out_of_order_webhooks_together_still_settle_once() {
    let app = spawn().await;
    efundpay(&app).set_faults(Faults {
        duplicate_webhooks: true,
        out_of_order_webhooks: true,
        ..Faults::default()
    });
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, refund) = app.create(&app.sims.sample("efundpay", &tag())).await;
        assert_eq!(status, 201, "{refund}");
        ids.push(refund["id"].as_str().expect("id").to_owned());
    }
    wait_for_deliveries(&app, 12).await;
    for id in &ids {
        let now = app.refund(id).await;
        assert_eq!(now["status"], "succeeded", "{now}");
        let events = app.events(id).await;
        assert_eq!(
            transitions_to(&events, "succeeded"),
            ["webhook"],
            "{events:?}"
        );
        assert_eq!(transitions_to(&events, "processing").len(), 1, "{events:?}");
    }
}
