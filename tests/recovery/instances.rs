//! Two gateway processes on one PostgreSQL (DESIGN §8), behind clients that alternate
//! between them and retry with their idempotency keys, the providers injecting faults, one
//! process SIGKILLed mid-run and restarted: every refund reaches a final status, no provider
//! effect happens twice, and no merchant event is delivered by both processes at once.
//!
//! `INSTANCES_REFUNDS` sets the number of refunds (default 120).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;

use crate::chaos_kit::{
    answered_id, assert_each_succeeded_refund_paid_once, env_count, ids_where, is_open,
    send_until_answered, wait_until_settled, Simulators,
};
use crate::harness::{database_url, temp_dir, Gateway};

/// One delivery of a merchant event, as the merchant's endpoint saw it.
#[derive(Debug, Clone)]
struct Delivery {
    event_id: String,
    started: Instant,
    ended: Instant,
}

type Deliveries = Arc<Mutex<Vec<Delivery>>>;

/// The merchant's webhook endpoint: records every delivery and takes 30 ms to answer, so
/// two deliveries of one event at once would overlap.
async fn merchant_endpoint(
    State(seen): State<Deliveries>,
    _headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    if let Ok(mut seen) = seen.lock() {
        seen.push(Delivery {
            event_id,
            started,
            ended: Instant::now(),
        });
    }
    "ok"
}

async fn start_merchant_endpoint(seen: Deliveries) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("address"));
    let app = axum::Router::new()
        .route("/events", axum::routing::post(merchant_endpoint))
        .with_state(seen);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_with_faults_retries_and_a_crash_pay_nothing_twice_on_postgres() {
    let total = env_count("INSTANCES_REFUNDS", 120);
    let started = Instant::now();
    let dirs = [temp_dir(), temp_dir()];
    let Some(db) = database_url(&dirs[0], true).await else {
        return;
    };
    let sims = Simulators::start().await;
    let deliveries: Deliveries = Arc::new(Mutex::new(Vec::new()));
    let endpoint = start_merchant_endpoint(deliveries.clone()).await;
    let merchant = format!("webhook_url = \"{endpoint}\"\nwebhook_secret = \"whsec_instances\"");
    let providers = sims.providers_toml();
    let mut a = Gateway::start_with(&dirs[0], &db, &merchant, &providers).await;
    let b = Gateway::start_with(&dirs[1], &db, &merchant, &providers).await;
    let client = reqwest::Client::new();

    let faults = sims.inject_random_faults(&client, 0x7a0_1a57);
    let (lost, retries) = send_all_killing_one_process(&mut a, &b, &client, total).await;
    sims.calm(faults);
    // Both processes settle what is open and deliver the merchant events.
    let refunds = wait_until_settled(&b, &client, Duration::from_secs(40), |refunds| {
        let delivered = delivered_events(&deliveries);
        !refunds.iter().any(is_open) && delivered.len() >= 2 * refunds.len()
    })
    .await;

    assert_eq!(lost, 0, "every client got a definite answer");
    assert_eq!(refunds.len(), total, "one refund per idempotency key");
    let open: Vec<&Value> = refunds.iter().filter(|r| is_open(r)).collect();
    assert!(
        open.is_empty(),
        "every refund reached a final status: {open:?}"
    );
    let succeeded = ids_where(&refunds, |r| r["status"] == "succeeded");
    let effects = sims.effects();
    assert_each_succeeded_refund_paid_once(&effects, &succeeded);
    for reference in effects.keys() {
        assert!(
            succeeded.contains(reference.as_str()),
            "effect {reference} without a succeeded refund"
        );
    }
    let (events, repeated) = assert_each_event_delivered_never_twice_at_once(&deliveries, total);
    println!(
        "two processes: {total} refunds, {} succeeded, {retries} client retries, {} provider effects, {events} merchant events ({repeated} delivered again after the crash), {:.1} s",
        succeeded.len(),
        effects.len(),
        started.elapsed().as_secs_f64()
    );
    a.kill().await;
}

/// Sends `total` refunds, clients alternating between `a` and `b` and retrying until
/// answered; a third of the way in `a` is SIGKILLed (the clients retry on `b` meanwhile)
/// and, once all are sent, restarted. The clients never answered, and the retries.
async fn send_all_killing_one_process(
    a: &mut Gateway,
    b: &Gateway,
    client: &reqwest::Client,
    total: usize,
) -> (usize, usize) {
    let urls = vec![a.url.clone(), b.url.clone()];
    let retries = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    let mut killed = false;
    for i in 0..total {
        let (client, urls, retries) = (client.clone(), urls.clone(), retries.clone());
        tasks.push(tokio::spawn(async move {
            (i, send_until_answered(&client, &urls, i, &retries).await)
        }));
        if i % 16 == 15 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !killed && i == total / 3 {
            // Mid-run: SIGKILL one process while requests are in flight; the clients retry
            // on the other one meanwhile.
            a.kill().await;
            killed = true;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.restart().await;
    let mut lost = 0;
    for task in tasks {
        let (_, answer) = task.await.expect("client task");
        if answered_id(answer).is_none() {
            lost += 1;
        }
    }
    (lost, retries.load(Ordering::Relaxed))
}

/// The ids of the merchant events delivered so far.
fn delivered_events(deliveries: &Deliveries) -> BTreeSet<String> {
    deliveries
        .lock()
        .map(|d| d.iter().map(|d| d.event_id.clone()).collect())
        .unwrap_or_default()
}

/// A created and a final event per refund, each delivered, and never by two processes at
/// once; the number of events and of repeated deliveries.
fn assert_each_event_delivered_never_twice_at_once(
    deliveries: &Deliveries,
    total: usize,
) -> (usize, usize) {
    let deliveries = deliveries.lock().map(|d| d.clone()).unwrap_or_default();
    let mut by_event: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for delivery in &deliveries {
        by_event
            .entry(&delivery.event_id)
            .or_default()
            .push(delivery);
    }
    assert!(
        by_event.len() >= 2 * total,
        "a created and a final event per refund: {} events for {total} refunds",
        by_event.len()
    );
    let mut repeated = 0;
    for (event, seen) in &by_event {
        repeated += seen.len() - 1;
        for (i, first) in seen.iter().enumerate() {
            for second in &seen[i + 1..] {
                let overlap = first.started < second.ended && second.started < first.ended;
                assert!(!overlap, "event {event} delivered twice at once");
            }
        }
    }
    (by_event.len(), repeated)
}
