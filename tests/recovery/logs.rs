//! Secrets never reach the logs: the gateway runs at debug level while merchants, providers
//! and webhooks exercise every secret it holds, and its whole output is searched for them.

use provider_efundpay::sandbox::{Faults, Sandbox, SandboxConfig};
use refund_provider::signature::sign_header;
use serde_json::json;

use crate::harness::{temp_dir, Gateway, API_KEY};

const SECRETS: [&str; 5] = [
    API_KEY,
    "sandbox-efundpay-token",
    "sandbox-efundpay-whsec",
    "sandbox-authms-token",
    "whsec_merchant_secret",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_the_logs_even_at_debug_level() {
    let dir = temp_dir();
    let db = refund_test_support::sqlite_url(&dir);
    let cards = Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        SandboxConfig {
            webhook_delay_ms: 50,
            faults: Faults {
                fail_next: 1,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox");
    let wallets = provider_authms::sandbox::Sandbox::start(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        Default::default(),
    )
    .await
    .expect("sandbox");
    let providers = format!(
        "[providers.efundpay]\nbase_url = \"{}\"\ntoken = \"sandbox-efundpay-token\"\nmerchant_account_id = \"sandbox-merchant\"\nwebhook_secret = \"sandbox-efundpay-whsec\"\ntimeout_ms = 500\n\n\
         [providers.authms]\nbase_url = \"{}\"\ntoken = \"sandbox-authms-token\"\ntimeout_ms = 750\n\n[[routes]]\nprovider = \"authms\"\npayment_id_prefix = \"txn_\"\n\n[[routes]]\nprovider = \"efundpay\"\n",
        cards.base_url(),
        wallets.base_url()
    );
    let mut gateway = Gateway::start(&dir, &db, &providers).await;
    gateway.set_log_filter("debug");
    gateway.restart().await;
    let client = reqwest::Client::new();
    let post = |body: serde_json::Value, key: &'static str| {
        client
            .post(format!("{}/v1/refunds", gateway.url))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    // A 5xx (unknown outcome, resolved by sync), a success, a wallet refund, a bad key.
    post(
        json!({"payment_id": "pay_log_1", "amount": "1.00", "currency": "EUR"}),
        API_KEY,
    )
    .await
    .expect("send");
    post(
        json!({"payment_id": "pay_log_2", "amount": "2.00", "currency": "EUR"}),
        API_KEY,
    )
    .await
    .expect("send");
    post(json!({"payment_id": "txn_log", "amount": "3.00", "currency": "CNY", "customer_id": "usr_log"}), API_KEY).await.expect("send");
    post(
        json!({"payment_id": "pay_log_3", "amount": "1.00", "currency": "EUR"}),
        "whsec_merchant_secret",
    )
    .await
    .expect("send");
    // A forged webhook signed with the wrong secret, and a genuine-looking header.
    let body = "{\"id\":\"evt_log\"}";
    let forged = sign_header(b"sandbox-efundpay-whsec", 1, body.as_bytes());
    client
        .post(format!("{}/v1/webhooks/efundpay", gateway.url))
        .header("eFundPay-Signature", &forged)
        .body(body)
        .send()
        .await
        .expect("send");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    gateway.kill().await;
    let log = gateway.log();
    assert!(
        log.contains("DEBUG") || log.contains("INFO"),
        "the gateway logged something: {log}"
    );
    for secret in SECRETS {
        assert!(!log.contains(secret), "secret `{secret}` found in the logs");
    }
    let v1 = forged.split("v1=").nth(1).unwrap_or_default();
    assert!(!log.contains(v1), "a signature found in the logs");
}
