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
use provider_authms::sandbox as authms;
use provider_efundpay::sandbox as efundpay;
use serde_json::{json, Value};

use crate::chaos::{send_until_answered, Rng};
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
async fn two_processes_with_faults_retries_and_a_crash_pay_nothing_twice() {
    let total: usize = std::env::var("INSTANCES_REFUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let started = Instant::now();
    let dirs = [temp_dir(), temp_dir()];
    let Some(db) = database_url(&dirs[0], true).await else {
        println!("skipped: REFUND_GATEWAY_TEST_POSTGRES_URL is not set");
        return;
    };
    let wallets = authms::Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        authms::SandboxConfig {
            hang_ms: 800,
            merchant_opening_minor: i64::MAX / 4,
            ..authms::SandboxConfig::default()
        },
    )
    .await
    .expect("authms sandbox");
    let cards = efundpay::Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        efundpay::SandboxConfig {
            hang_ms: 800,
            webhook_delay_ms: 50,
            ..efundpay::SandboxConfig::default()
        },
    )
    .await
    .expect("efundpay sandbox");
    let deliveries: Deliveries = Arc::new(Mutex::new(Vec::new()));
    let endpoint = start_merchant_endpoint(deliveries.clone()).await;
    let merchant = format!("webhook_url = \"{endpoint}\"\nwebhook_secret = \"whsec_instances\"");
    let providers = format!(
        r#"
[providers.authms]
base_url = "{}"
token = "sandbox-authms-token"
timeout_ms = 300

[providers.efundpay]
base_url = "{}"
token = "sandbox-efundpay-token"
merchant_account_id = "sandbox-merchant"
webhook_secret = "sandbox-efundpay-whsec"
timeout_ms = 300

[[routes]]
provider = "authms"
payment_id_prefix = "txn_"

[[routes]]
provider = "efundpay"
"#,
        wallets.base_url(),
        cards.base_url()
    );
    let mut a = Gateway::start_with(&dirs[0], &db, &merchant, &providers).await;
    let b = Gateway::start_with(&dirs[1], &db, &merchant, &providers).await;
    let urls = vec![a.url.clone(), b.url.clone()];
    let client = reqwest::Client::new();
    let retries = Arc::new(AtomicUsize::new(0));

    let chaos = {
        let (wallet_faults, card_faults) = (wallets.base_url(), cards.base_url());
        let client = client.clone();
        tokio::spawn(async move {
            let mut rng = Rng(0x7a0_1a57);
            loop {
                for url in [&wallet_faults, &card_faults] {
                    let n = |rng: &mut Rng| u32::from(rng.below(4) == 0);
                    let faults = json!({
                        "fail_next": n(&mut rng), "timeout_next": n(&mut rng),
                        "apply_then_hang_next": n(&mut rng), "drop_after_apply_next": n(&mut rng),
                    });
                    let _ = client
                        .post(format!("{url}/_sandbox/faults"))
                        .json(&faults)
                        .send()
                        .await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

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
        if answer
            .and_then(|a| a["id"].as_str().map(str::to_owned))
            .is_none()
        {
            lost += 1;
        }
    }
    chaos.abort();
    wallets.set_faults(authms::Faults::default());
    cards.set_faults(efundpay::Faults::default());

    // Both processes settle what is open and deliver the merchant events.
    let deadline = Instant::now() + Duration::from_secs(40);
    let refunds = loop {
        let refunds = b.all_refunds(&client).await;
        let open = refunds
            .iter()
            .filter(|r| r["status"] == "pending" || r["status"] == "processing")
            .count();
        let delivered: BTreeSet<String> = deliveries
            .lock()
            .map(|d| d.iter().map(|d| d.event_id.clone()).collect())
            .unwrap_or_default();
        if (open == 0 && delivered.len() >= 2 * refunds.len()) || Instant::now() > deadline {
            break refunds;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    assert_eq!(lost, 0, "every client got a definite answer");
    assert_eq!(refunds.len(), total, "one refund per idempotency key");
    let open: Vec<&Value> = refunds
        .iter()
        .filter(|r| r["status"] == "pending" || r["status"] == "processing")
        .collect();
    assert!(
        open.is_empty(),
        "every refund reached a final status: {open:?}"
    );
    let succeeded: BTreeSet<&str> = refunds
        .iter()
        .filter(|r| r["status"] == "succeeded")
        .filter_map(|r| r["id"].as_str())
        .collect();
    let mut effects: BTreeMap<String, usize> = BTreeMap::new();
    for e in wallets.effects() {
        *effects.entry(e.reference).or_default() += 1;
    }
    for e in cards
        .effects()
        .into_iter()
        .filter(|e| e.status == "succeeded" || e.status == "processing")
    {
        *effects.entry(e.reference).or_default() += 1;
    }
    let twice: Vec<_> = effects.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "paid twice: {twice:?}");
    for id in &succeeded {
        assert_eq!(effects.get(*id), Some(&1), "{id} has exactly one effect");
    }
    for reference in effects.keys() {
        assert!(
            succeeded.contains(reference.as_str()),
            "effect {reference} without a succeeded refund"
        );
    }

    // Merchant events: each one delivered, and never by two processes at once.
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
    println!(
        "two processes: {total} refunds, {} succeeded, {} client retries, {} provider effects, {} merchant events ({} delivered again after the crash), {:.1} s",
        succeeded.len(),
        retries.load(Ordering::Relaxed),
        effects.len(),
        by_event.len(),
        repeated,
        started.elapsed().as_secs_f64()
    );
    a.kill().await;
}
