//! Two gateway processes on one PostgreSQL (DESIGN §8, §14): concurrent partial refunds of
//! one payment, sent to both processes at once, never exceed the payment. The serialization
//! is the payment row's lock in the database, not anything in either process, so this test
//! fails if that lock is removed.

use std::sync::Arc;

use provider_efundpay::sandbox as efundpay;
use serde_json::json;

use crate::harness::{database_url, temp_dir, Gateway, API_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partial_refunds_through_two_processes_never_exceed_the_payment_on_postgres() {
    const REQUESTS: usize = 24;
    let dir_a = temp_dir();
    let dir_b = temp_dir();
    let Some(db) = database_url(&dir_a, true).await else {
        return;
    };
    let sandbox = efundpay::Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        efundpay::SandboxConfig::default(),
    )
    .await
    .expect("sandbox");
    let providers = format!(
        r#"
[providers.efundpay]
base_url = "{}"
token = "sandbox-efundpay-token"
merchant_account_id = "sandbox-merchant"
webhook_secret = "sandbox-efundpay-whsec"
# At most half of the harness's 1.5 s not-found grace (check-config's rule).
timeout_ms = 750

[[routes]]
provider = "efundpay"
"#,
        sandbox.base_url()
    );
    let a = Gateway::start(&dir_a, &db, &providers).await;
    let b = Gateway::start(&dir_b, &db, &providers).await;
    let urls = Arc::new([a.url.clone(), b.url.clone()]);
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (client, urls) = (client.clone(), urls.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{}/v1/refunds", urls[i % 2]))
                    .bearer_auth(API_KEY)
                    .header("Idempotency-Key", format!("two-processes-{i}"))
                    .json(&json!({
                        "payment_id": "pay_two_processes", "amount": "10.00",
                        "payment_amount": "50.00", "currency": "EUR", "reason": "return"
                    }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task").expect("answered"));
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 400).count();
    let effects = sandbox.effects();
    println!(
        "two processes on one PostgreSQL: {REQUESTS} requests, {created} created, {refused} refused, {} provider effects",
        effects.len()
    );
    assert_eq!(created, 5, "{statuses:?}");
    assert_eq!(refused, REQUESTS - 5, "{statuses:?}");
    assert_eq!(effects.len(), 5, "the provider refunded exactly 50.00");
    assert_eq!(a.all_refunds(&client).await.len(), 5);
}
