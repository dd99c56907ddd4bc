//! A SIGKILL while a provider call is in flight: after the restart the refund is recorded
//! once and resolved, with exactly one effect at the provider.

use std::time::Duration;

use provider_authms::sandbox::{Faults, Sandbox, SandboxConfig};
use serde_json::json;

use crate::harness::{database_url, temp_dir, Gateway, API_KEY};

async fn killed_mid_call_then_restarted(postgres: bool) {
    let dir = temp_dir();
    let Some(db) = database_url(&dir, postgres).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sandbox = Sandbox::start(
        listener,
        SandboxConfig {
            hang_ms: 3_000,
            faults: Faults {
                apply_then_hang_next: 1,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox");
    // The call hangs 3 s after applying; the kill comes within ~50 ms of the effect, well
    // inside the 750 ms timeout (at most half of the harness's 1.5 s not-found grace).
    let providers = format!(
        "[providers.authms]\nbase_url = \"{}\"\ntoken = \"sandbox-authms-token\"\ntimeout_ms = 750\n\n[[routes]]\nprovider = \"authms\"\n",
        sandbox.base_url()
    );
    let mut gateway = Gateway::start(&dir, &db, &providers).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/refunds", gateway.url);
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .post(url)
                .bearer_auth(API_KEY)
                .header("Idempotency-Key", "crash-1")
                .json(&json!({"payment_id": "txn_crash", "amount": "20.00", "currency": "CNY", "customer_id": "usr_crash"}))
                .send()
                .await
        }
    });
    // Wait until the provider has applied the refund and is holding the answer back.
    for _ in 0..100 {
        if !sandbox.effects().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sandbox.effects().len(),
        1,
        "the provider applied the refund"
    );
    gateway.kill().await;
    assert!(
        in_flight.await.expect("task").is_err(),
        "the client saw the process die"
    );

    gateway.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let refunds = loop {
        let refunds = gateway.all_refunds(&client).await;
        let settled = refunds
            .iter()
            .all(|r| r["status"] != "pending" && r["status"] != "processing");
        if (settled && !refunds.is_empty()) || tokio::time::Instant::now() > deadline {
            break refunds;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refunds.len(), 1, "recorded once: {refunds:?}");
    assert_eq!(refunds[0]["status"], "succeeded", "{refunds:?}");
    assert_eq!(
        sandbox.effects().len(),
        1,
        "exactly one effect at the provider"
    );
    assert_eq!(
        sandbox.effects()[0].reference,
        refunds[0]["id"].as_str().unwrap_or_default()
    );

    // The client's retry with the same key replays the refund; no second effect.
    let retry = client
        .post(format!("{}/v1/refunds", gateway.url))
        .bearer_auth(API_KEY)
        .header("Idempotency-Key", "crash-1")
        .json(&json!({"payment_id": "txn_crash", "amount": "20.00", "currency": "CNY", "customer_id": "usr_crash"}))
        .send()
        .await
        .expect("retry");
    assert_eq!(retry.status().as_u16(), 200);
    assert_eq!(sandbox.effects().len(), 1);
    gateway.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_killed_mid_call_is_recorded_once_and_resolved_on_sqlite() {
    killed_mid_call_then_restarted(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_killed_mid_call_is_recorded_once_and_resolved_on_postgres() {
    killed_mid_call_then_restarted(true).await;
}
