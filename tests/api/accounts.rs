//! Provider accounts per merchant (DESIGN §14), with the real adapters: every call made for a
//! merchant goes out on its own account (credentials, account id, webhook URL, transfer
//! wallet), and a webhook is verified with, and applied only to, the account it names.

use provider_authms::sandbox as authms;
use refund_provider::signature::sign_header;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::both_backends;
use crate::helpers::{fresh_database, spawn_live, Db, TestApp, ACME_KEY, GLOBEX_KEY};

/// eFundPay answering `processing` for whatever refund it is sent (echoing its fields).
struct EfundpayEcho;

impl Respond for EfundpayEcho {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(sent) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        let transaction = request
            .url
            .path()
            .split('/')
            .nth(3)
            .unwrap_or_default()
            .to_owned();
        ResponseTemplate::new(201).set_body_json(json!({
            "type": "refund",
            "id": format!("efp_{}", sent["external_identifier"].as_str().unwrap_or_default()),
            "transaction_id": transaction,
            "status": "processing",
            "currency": sent["currency"],
            "amount": sent["amount"],
            "reason": sent["reason"],
            "external_identifier": sent["external_identifier"],
            "transaction_external_identifier": "transaction-12345",
            "created_at": "2026-11-23T10:00:00.000+00:00"
        }))
    }
}

fn accounts_config(base_url: &str) -> (String, String) {
    let acme = r#"
[merchants.providers.efundpay]
token = "tok_acme"
merchant_account_id = "acme-eu"
webhook_secret = "whsec_acme"
"#;
    let tail = format!(
        r#"
[providers.efundpay]
base_url = "{base_url}"
token = "tok_default"
merchant_account_id = "default-account"
webhook_secret = "whsec_default"
timeout_ms = 2000

[[routes]]
provider = "efundpay"
"#
    );
    (acme.to_owned(), tail)
}

async fn create(app: &TestApp, key: &str, payment: &str) -> Value {
    let response = app
        .post_refund(
            key,
            None,
            &json!({"payment_id": payment, "amount": "12.99", "currency": "EUR", "reason": "return"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("json")
}

fn webhook(refund: &Value, status: &str, event_id: &str) -> String {
    json!({
        "id": event_id,
        "type": "refund.updated",
        "created_at": "2026-11-23T10:00:01.000+00:00",
        "data": {
            "type": "refund",
            "id": refund["provider_refund_id"],
            "transaction_id": refund["payment_id"],
            "status": status,
            "currency": "EUR",
            "amount": 1299,
            "reason": "return",
            "external_identifier": refund["id"],
            "transaction_external_identifier": "transaction-12345",
            "created_at": "2026-11-23T10:00:00.000+00:00"
        }
    })
    .to_string()
}

async fn post_webhook(app: &TestApp, path: &str, body: &str, secret: &str) -> reqwest::Response {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    app.client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/json")
        .header(
            "eFundPay-Signature",
            sign_header(secret.as_bytes(), now, body.as_bytes()),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("request")
}

async fn status_of(app: &TestApp, key: &str, id: &Value) -> Value {
    let refund: Value = app
        .get_json(key, &format!("/v1/refunds/{}", id.as_str().expect("id")))
        .await;
    refund["status"].clone()
}

both_backends!(
    each_merchant_refunds_on_its_own_account_and_its_webhooks_are_verified_with_its_secret,
    |db: Db| async move {
        // Skip (no PostgreSQL here) before mounting anything: wiremock verifies `expect`ed
        // mocks when the server drops, so mocks mounted before a skip fail the test.
        let Some(database_url) = fresh_database(db).await else {
            return;
        };
        let efundpay = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v4/transactions/[^/]+/refunds$"))
            .and(header("authorization", "Bearer tok_acme"))
            .and(header("x-merchant-account-id", "acme-eu"))
            .respond_with(EfundpayEcho)
            .expect(1)
            .named("acme's own account")
            .mount(&efundpay)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v4/transactions/[^/]+/refunds$"))
            .and(header("authorization", "Bearer tok_default"))
            .and(header("x-merchant-account-id", "default-account"))
            .respond_with(EfundpayEcho)
            .expect(1)
            .named("the default account")
            .mount(&efundpay)
            .await;
        let (acme_extra, tail) = accounts_config(&efundpay.uri());
        // globex refunds on the default account (alone on it, so it needs no sharing).
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"
public_base_url = "https://gateway.example"

[database]
url = "{database_url}"

[[merchants]]
id = "acme"
api_key = "{ACME_KEY}"
{acme_extra}

[[merchants]]
id = "globex"
api_key = "{GLOBEX_KEY}"

{tail}
"#
        );
        let app = crate::helpers::spawn_config(&toml).await;

        let acme = create(&app, ACME_KEY, "pay_acme").await;
        let globex = create(&app, GLOBEX_KEY, "pay_globex").await;
        assert_eq!(acme["status"], "processing");
        assert_eq!(globex["status"], "processing");
        let sent: Vec<Value> = efundpay
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).expect("json"))
            .collect();
        let webhooks_urls: Vec<&str> = sent
            .iter()
            .map(|b| b["webhooks_url"].as_str().expect("webhooks_url"))
            .collect();
        assert_eq!(
            webhooks_urls,
            [
                "https://gateway.example/v1/webhooks/efundpay/acme",
                "https://gateway.example/v1/webhooks/efundpay"
            ]
        );

        // acme's webhook, signed with acme's account secret, at acme's URL: applied.
        let body = webhook(&acme, "succeeded", "evt_acme_1");
        let response = post_webhook(&app, "/v1/webhooks/efundpay/acme", &body, "whsec_acme").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(status_of(&app, ACME_KEY, &acme["id"]).await, "succeeded");

        // The same secret at the default URL is not the default account's: refused.
        let body = webhook(&globex, "succeeded", "evt_forged_1");
        let response = post_webhook(&app, "/v1/webhooks/efundpay", &body, "whsec_acme").await;
        assert_eq!(response.status().as_u16(), 400);
        // Nor can acme's account touch a refund made on the default account.
        let response = post_webhook(&app, "/v1/webhooks/efundpay/acme", &body, "whsec_acme").await;
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["refund"], Value::Null);
        assert_eq!(
            status_of(&app, GLOBEX_KEY, &globex["id"]).await,
            "processing"
        );
        // An event id seen on acme's account is still new on the default account.
        let body = webhook(&globex, "succeeded", "evt_forged_1");
        let response = post_webhook(&app, "/v1/webhooks/efundpay", &body, "whsec_default").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            status_of(&app, GLOBEX_KEY, &globex["id"]).await,
            "succeeded"
        );
        // globex has no account of its own.
        let response =
            post_webhook(&app, "/v1/webhooks/efundpay/globex", &body, "whsec_default").await;
        assert_eq!(response.status().as_u16(), 404);
    }
);

both_backends!(
    a_transfer_is_funded_by_the_merchants_own_wallet,
    |db: Db| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let sandbox = authms::Sandbox::start(
            listener,
            authms::SandboxConfig {
                wallets: vec![
                    authms::SandboxWallet {
                        user_id: "usr_acme_wallet".into(),
                        balance_minor: 100_000,
                    },
                    authms::SandboxWallet {
                        user_id: "usr_customer".into(),
                        balance_minor: 0,
                    },
                ],
                ..authms::SandboxConfig::default()
            },
        )
        .await
        .expect("sandbox");
        let acme_extra = r#"
[merchants.providers.authms]
token = "sandbox-authms-token"
transfer_source_user_id = "usr_acme_wallet"
"#;
        let tail = format!(
            r#"
[providers.authms]
base_url = "{}"
token = "sandbox-authms-token"
transfer_source_user_id = "usr_merchant"

[[routes]]
provider = "authms"
"#,
            sandbox.base_url()
        );
        let Some(app) = spawn_live(db, acme_extra, &tail).await else {
            return;
        };
        let merchant_before = sandbox.balance_minor("usr_merchant");
        let response = app
            .post_refund(
                ACME_KEY,
                None,
                &json!({"payment_id": "txn_goodwill", "amount": "25.00", "currency": "CNY",
                        "customer_id": "usr_customer",
                        "provider_options": {"authms": {"method": "transfer"}}}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let refund: Value = response.json().await.expect("json");
        assert_eq!(refund["status"], "succeeded", "{refund}");
        assert_eq!(sandbox.balance_minor("usr_acme_wallet"), Some(97_500));
        assert_eq!(sandbox.balance_minor("usr_customer"), Some(2_500));
        assert_eq!(
            sandbox.balance_minor("usr_merchant"),
            merchant_before,
            "the default account's wallet never pays for acme"
        );
    }
);
