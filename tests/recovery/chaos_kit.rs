//! What the chaos runs (`chaos.rs`: one process and a crash; `instances.rs`: two processes
//! on one PostgreSQL) share: the AuthMS and eFundPay simulators with random faults, clients
//! that retry with their idempotency keys until answered, waiting for the gateway to settle,
//! and the one-effect-per-succeeded-refund check.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use provider_authms::sandbox as authms;
use provider_efundpay::sandbox as efundpay;
use refund_test_support::poll_until;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::harness::{Gateway, API_KEY};

/// A number of refunds from the environment variable `var`, or `default`.
pub fn env_count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A tiny deterministic generator (xorshift), so a failing run can be replayed by seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Refund `i`: even ones to AuthMS (`txn_`, CNY), odd ones to eFundPay (EUR).
pub fn request_body(i: usize) -> Value {
    if i % 2 == 0 {
        json!({"payment_id": format!("txn_chaos_{i}"), "amount": format!("{}.{:02}", 1 + i % 50, i % 100), "currency": "CNY", "customer_id": format!("usr_{i}")})
    } else {
        json!({"payment_id": format!("pay_chaos_{i}"), "amount": format!("{}.{:02}", 1 + i % 50, i % 100), "currency": "EUR", "reason": "chaos"})
    }
}

/// Sends one refund until a gateway gives a definite answer, retrying with the same key;
/// attempt `n` goes to `urls[(i + n) % len]`, so retries alternate between instances.
pub async fn send_until_answered(
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

/// The refund's id from a client's answer.
pub fn answered_id(answer: Option<Value>) -> Option<String> {
    answer.and_then(|a| a["id"].as_str().map(str::to_owned))
}

/// The AuthMS (wallets) and eFundPay (cards) simulators the chaos runs refund through.
pub struct Simulators {
    pub wallets: authms::Sandbox,
    pub cards: efundpay::Sandbox,
}

impl Simulators {
    /// Both simulators: hangs of 800 ms, eFundPay webhooks after 50 ms, and an AuthMS
    /// merchant balance no run exhausts.
    pub async fn start() -> Self {
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
        Self { wallets, cards }
    }

    /// The gateway's provider sections (300 ms timeouts) and routes (`txn_` to AuthMS, the
    /// rest to eFundPay). The simulators' status queries do list every refund they made, and
    /// eFundPay's refuses a second `external_identifier`: what the `trust_not_found` /
    /// `trust_resend` keys (DESIGN §16) are for, so that a refund a fault kept from the
    /// provider reaches a final status here (failed, or re-sent once) instead of waiting,
    /// flagged, for an operator as it would on providers that prove neither.
    pub fn providers_toml(&self) -> String {
        format!(
            r#"
[providers.authms]
base_url = "{}"
token = "sandbox-authms-token"
timeout_ms = 300
trust_not_found = true

[providers.efundpay]
base_url = "{}"
token = "sandbox-efundpay-token"
merchant_account_id = "sandbox-merchant"
webhook_secret = "sandbox-efundpay-whsec"
timeout_ms = 300
trust_not_found = true
trust_resend = true

[[routes]]
provider = "authms"
payment_id_prefix = "txn_"

[[routes]]
provider = "efundpay"
"#,
            self.wallets.base_url(),
            self.cards.base_url()
        )
    }

    /// Draws new faults for both simulators every 100 ms (each kind with chance 1/4) until
    /// the task is aborted.
    pub fn inject_random_faults(&self, client: &reqwest::Client, seed: u64) -> JoinHandle<()> {
        let (wallet_faults, card_faults) = (self.wallets.base_url(), self.cards.base_url());
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
    }

    /// Stops the fault task and clears what it left armed.
    pub fn calm(&self, faults: JoinHandle<()>) {
        faults.abort();
        self.wallets.set_faults(authms::Faults::default());
        self.cards.set_faults(efundpay::Faults::default());
    }

    /// The providers' effects (money moved) by refund reference: AuthMS's all, eFundPay's
    /// succeeded or processing ones.
    pub fn effects(&self) -> BTreeMap<String, usize> {
        let mut effects: BTreeMap<String, usize> = BTreeMap::new();
        for e in self.wallets.effects() {
            *effects.entry(e.reference).or_default() += 1;
        }
        for e in self
            .cards
            .effects()
            .into_iter()
            .filter(|e| e.status == "succeeded" || e.status == "processing")
        {
            *effects.entry(e.reference).or_default() += 1;
        }
        effects
    }
}

/// Whether a refund is still open (pending or processing).
pub fn is_open(refund: &Value) -> bool {
    refund["status"] == "pending" || refund["status"] == "processing"
}

/// The ids of the refunds that satisfy `keep`.
pub fn ids_where(refunds: &[Value], keep: impl Fn(&Value) -> bool) -> BTreeSet<&str> {
    refunds
        .iter()
        .filter(|r| keep(r))
        .filter_map(|r| r["id"].as_str())
        .collect()
}

/// Reads every refund from `gateway` every 200 ms until `settled` holds or `timeout`
/// passes (sync and webhooks settling what is open); the last list read.
pub async fn wait_until_settled(
    gateway: &Gateway,
    client: &reqwest::Client,
    timeout: Duration,
    settled: impl Fn(&Vec<Value>) -> bool,
) -> Vec<Value> {
    let read = || gateway.all_refunds(client);
    poll_until(timeout, Duration::from_millis(200), read, settled).await
}

/// Nothing paid twice, and every succeeded refund has exactly one effect.
pub fn assert_each_succeeded_refund_paid_once(
    effects: &BTreeMap<String, usize>,
    succeeded: &BTreeSet<&str>,
) {
    let twice: Vec<_> = effects.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "paid twice: {twice:?}");
    for id in succeeded {
        assert_eq!(
            effects.get(*id),
            Some(&1),
            "succeeded refund {id} has exactly one effect"
        );
    }
}
