//! Merchant webhooks from the outbox: every event reaches a merchant whose endpoint fails and
//! then recovers, in order, correctly signed, with each attempt in the refund's history.

use std::time::Duration;

use refund_provider::signature::verify_header;
use refund_test_support::poll_until;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both_backends;
use crate::helpers::{spawn_live, Db, ACME_KEY};

both_backends!(
    a_merchant_endpoint_that_fails_then_recovers_receives_every_event_signed,
    |db: Db| async move {
        let merchant = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/events"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(2)
            .mount(&merchant)
            .await;
        Mock::given(method("POST"))
            .and(path("/events"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&merchant)
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let sandbox = provider_authms::sandbox::Sandbox::start(listener, Default::default())
            .await
            .expect("sandbox");
        let merchant_extra = format!(
            "webhook_url = \"{}/events\"\nwebhook_secret = \"whsec_acme\"\nwebhook_secrets = [\"whsec_acme_previous\"]",
            merchant.uri()
        );
        let tail = format!(
        "[providers.authms]\nbase_url = \"{}\"\ntoken = \"sandbox-authms-token\"\n\n[[routes]]\nprovider = \"authms\"\n\n[sync]\npoll_interval_ms = 50\n",
        sandbox.base_url()
    );
        let Some(app) = spawn_live(db, &merchant_extra, &tail).await else {
            return;
        };
        let response = app
        .post_refund(ACME_KEY, None, &json!({"payment_id": "txn_outbox", "amount": "50.00", "currency": "CNY", "customer_id": "usr_abc123"}))
        .await;
        let refund: Value = response.json().await.expect("json");
        assert_eq!(refund["status"], "succeeded");
        let id = refund["id"].as_str().expect("id").to_owned();

        // Two failures (1 s, then 2 s of backoff), then both events in order.
        let received = || async {
            let received = merchant.received_requests().await.unwrap_or_default();
            received.into_iter().skip(2).collect::<Vec<_>>()
        };
        let delivered = poll_until(
            Duration::from_secs(15),
            Duration::from_millis(100),
            received,
            |ok| ok.len() >= 2,
        )
        .await;
        assert_eq!(
            delivered.len(),
            2,
            "every event delivered once the endpoint recovered"
        );
        let mut types = Vec::new();
        for request in &delivered {
            let signature = request
                .headers
                .get("Refund-Gateway-Signature")
                .and_then(|v| v.to_str().ok());
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            // Signed with both secrets of the rotation: a receiver knowing either accepts it.
            for secret in [&b"whsec_acme"[..], &b"whsec_acme_previous"[..]] {
                assert!(
                    verify_header(signature, &[secret], &request.body, now, 300).is_ok(),
                    "signature with {}",
                    String::from_utf8_lossy(secret)
                );
            }
            assert!(verify_header(signature, &[b"whsec_other"], &request.body, now, 300).is_err());
            let event: Value = serde_json::from_slice(&request.body).expect("event json");
            assert!(event["id"].as_str().is_some_and(|e| e.starts_with("evt_")));
            assert_eq!(event["data"]["id"], id.as_str());
            types.push(event["type"].as_str().unwrap_or("").to_owned());
        }
        assert_eq!(types, ["refund.created", "refund.succeeded"]);
        // The history records a delivery once the merchant's answer is in, a moment after
        // the merchant saw the request.
        let path = format!("/v1/refunds/{id}/events");
        let read = || app.get_json(ACME_KEY, &path);
        let events = poll_until(
            Duration::from_secs(5),
            Duration::from_millis(50),
            read,
            |e| delivery_results(e).len() >= 4,
        )
        .await;
        assert_eq!(
            delivery_results(&events),
            ["retry", "retry", "delivered", "delivered"],
            "{events}"
        );
    }
);

/// The results of the webhook delivery attempts in a refund's history, oldest first.
fn delivery_results(events: &Value) -> Vec<&str> {
    events["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "webhook_delivery")
        .filter_map(|e| e["detail"]["result"].as_str())
        .collect()
}
