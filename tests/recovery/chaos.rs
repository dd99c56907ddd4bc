//! Chaos: a few hundred refunds through AuthMS and eFundPay simulators injecting random
//! faults (5xx, hangs, answers lost after applying), clients retrying with their idempotency
//! keys, and one SIGKILL + restart of the gateway mid-run. At the end every refund is final
//! or explainably pending, the simulators' effects match the gateway's succeeded refunds one
//! to one, and nothing was paid twice.
//!
//! `CHAOS_REFUNDS` sets the number of refunds (default 200; run a larger one with
//! `CHAOS_REFUNDS=2000 cargo test --test recovery chaos -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use provider_authms::sandbox as authms;
use provider_efundpay::sandbox as efundpay;
use serde_json::{json, Value};

use crate::harness::{database_url, temp_dir, Gateway, API_KEY};

/// A tiny deterministic generator (xorshift), so a failing run can be replayed by seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) fn request_body(i: usize) -> Value {
    if i % 2 == 0 {
        json!({"payment_id": format!("txn_chaos_{i}"), "amount": format!("{}.{:02}", 1 + i % 50, i % 100), "currency": "CNY", "customer_id": format!("usr_{i}")})
    } else {
        json!({"payment_id": format!("pay_chaos_{i}"), "amount": format!("{}.{:02}", 1 + i % 50, i % 100), "currency": "EUR", "reason": "chaos"})
    }
}

/// Sends one refund until a gateway gives a definite answer, retrying with the same key;
/// attempt `n` goes to `urls[(i + n) % len]`, so retries alternate between instances.
pub(crate) async fn send_until_answered(
    client: &reqwest::Client,
    urls: &[String],
    i: usize,
    retries: &AtomicUsize,
) -> Option<Value> {
    let key = format!("chaos-{i}");
    for attempt in 0..200 {
        let url = &urls[(i + attempt) % urls.len()];
        let sent = client
            .post(format!("{url}/v1/refunds"))
            .bearer_auth(API_KEY)
            .header("Idempotency-Key", &key)
            .json(&request_body(i))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(response)
                if response.status().as_u16() == 201 || response.status().as_u16() == 200 =>
            {
                return response.json().await.ok();
            }
            Ok(response) => {
                assert!(
                    [409, 408, 503].contains(&response.status().as_u16()),
                    "unexpected answer {}",
                    response.status()
                );
            }
            Err(_) => {}
        }
        retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_with_faults_retries_and_a_crash_pays_nothing_twice() {
    let total: usize = std::env::var("CHAOS_REFUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let started = Instant::now();
    let dir = temp_dir();
    let db = database_url(&dir, false).await.expect("sqlite");
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
    let mut gateway = Gateway::start(&dir, &db, &providers).await;
    let client = reqwest::Client::new();
    let retries = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));

    // Faults change every 100 ms while the clients run.
    let chaos = {
        let (wallet_faults, card_faults) = (wallets.base_url(), cards.base_url());
        let client = client.clone();
        tokio::spawn(async move {
            let mut rng = Rng(seed);
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

    let url = gateway.url.clone();
    let mut refund_ids: BTreeMap<usize, String> = BTreeMap::new();
    let mut lost = 0;
    for half in [0..total / 2, total / 2..total] {
        let mut tasks = Vec::new();
        let first_half = half.start == 0;
        for chunk in half.collect::<Vec<_>>().chunks(16) {
            for &i in chunk {
                let (client, url, retries, answered) = (
                    client.clone(),
                    url.clone(),
                    retries.clone(),
                    answered.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let answer = send_until_answered(&client, &[url], i, &retries).await;
                    answered.fetch_add(1, Ordering::Relaxed);
                    (i, answer)
                }));
            }
            if first_half && tasks.len() >= total / 4 && gateway_alive_once(&mut gateway).await {
                // Mid-run: SIGKILL and restart while requests are in flight.
                gateway.restart().await;
            }
        }
        for task in tasks {
            let (i, answer) = task.await.expect("client task");
            match answer.and_then(|a| a["id"].as_str().map(str::to_owned)) {
                Some(id) => {
                    refund_ids.insert(i, id);
                }
                None => lost += 1,
            }
        }
    }
    chaos.abort();
    wallets.set_faults(authms::Faults::default());
    cards.set_faults(efundpay::Faults::default());

    // Let sync and webhooks settle what is still open.
    let deadline = Instant::now() + Duration::from_secs(30);
    let refunds = loop {
        let refunds = gateway.all_refunds(&client).await;
        let open = refunds
            .iter()
            .filter(|r| r["status"] == "pending" || r["status"] == "processing")
            .count();
        if open == 0 || Instant::now() > deadline {
            break refunds;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    gateway.kill().await;

    assert_eq!(lost, 0, "every client got a definite answer");
    assert_eq!(refunds.len(), total, "one refund per idempotency key");
    let ids: BTreeSet<&str> = refunds.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), total);
    for id in refund_ids.values() {
        assert!(
            ids.contains(id.as_str()),
            "the id a client was given exists"
        );
    }
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for r in &refunds {
        *by_status
            .entry(r["status"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    let succeeded: BTreeSet<&str> = refunds
        .iter()
        .filter(|r| r["status"] == "succeeded")
        .filter_map(|r| r["id"].as_str())
        .collect();
    let open: BTreeSet<&str> = refunds
        .iter()
        .filter(|r| r["status"] == "pending" || r["status"] == "processing")
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
        assert_eq!(
            effects.get(*id),
            Some(&1),
            "succeeded refund {id} has exactly one effect"
        );
    }
    for reference in effects.keys() {
        assert!(
            succeeded.contains(reference.as_str()) || open.contains(reference.as_str()),
            "effect {reference} at a provider without a succeeded (or still open) refund"
        );
    }
    println!(
        "chaos: {total} refunds, statuses {by_status:?}, {} client retries, {} provider effects, seed {seed}, {:.1} s",
        retries.load(Ordering::Relaxed),
        effects.len(),
        started.elapsed().as_secs_f64()
    );
}

/// True the first time it is called (the run restarts the gateway once).
async fn gateway_alive_once(_gateway: &mut Gateway) -> bool {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    !DONE.swap(true, Ordering::SeqCst)
}
