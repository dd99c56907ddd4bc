//! Stripe's webhooks through the gateway's generic routes (DESIGN §7, §14): `Stripe-Signature`
//! verified by the account's adapter at `/v1/webhooks/stripe` and
//! `/v1/webhooks/stripe/{merchant_id}`, and the event types Stripe sends that the gateway
//! need not act on (`charge.refunded`) acknowledged with 200 without touching anything, not
//! even the receipts.

use std::time::Duration;

use provider_stripe::sandbox::{Sandbox, SandboxConfig, SECRET_KEY, WEBHOOK_SECRET};
use refund_provider::signature::sign_header;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_live, wait_for_refund, TestApp, ACME_KEY};

const DEFAULT_SECRET: &str = "whsec_default_account";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Stripe event of `kind` with id `id` about `object`.
fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "created": now(),
           "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
           "request": {"id": null, "idempotency_key": null}, "type": kind})
    .to_string()
}

/// A refund object of a refund the gateway never made (the documentation's, ours by shape).
fn unknown_refund() -> Value {
    let path = format!(
        "{}/fixtures/stripe/refund-ours.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture")
}

/// Posts `body` to `path`, signed with `secret` (none: unsigned); the status and the answer.
async fn post(app: &TestApp, path: &str, body: &str, secret: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.header(
            "Stripe-Signature",
            sign_header(secret.as_bytes(), now(), body.as_bytes()),
        );
    }
    let response = request.send().await.expect("webhook");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

both_backends!(
    stripe_events_the_gateway_need_not_act_on_are_acknowledged_and_record_nothing,
    |db| async move {
        let tail = format!(
            r#"
[providers.stripe]
base_url = "http://127.0.0.1:9"
secret_key = "sk_test_unused"
webhook_secret = "{DEFAULT_SECRET}"
"#
        );
        let Some(app) = spawn_live(db, "", &tail).await else {
            return;
        };
        let charge = json!({"id": "ch_1", "object": "charge", "amount_refunded": 1000});
        let ignored = event("evt_same_id", "charge.refunded", charge);
        for attempt in 1..=2 {
            let (status, answer) =
                post(&app, "/v1/webhooks/stripe", &ignored, Some(DEFAULT_SECRET)).await;
            assert_eq!(status, 200, "attempt {attempt}: {answer}");
            assert_eq!(
                answer,
                json!({"received": true, "ignored": true}),
                "attempt {attempt}"
            );
        }
        // No receipt was written for it: an event about a refund with the same id is not
        // taken for a duplicate.
        let about_a_refund = event("evt_same_id", "refund.updated", unknown_refund());
        let (status, answer) = post(
            &app,
            "/v1/webhooks/stripe",
            &about_a_refund,
            Some(DEFAULT_SECRET),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer, json!({"received": true, "refund": null}));
        let (status, answer) = post(
            &app,
            "/v1/webhooks/stripe",
            &about_a_refund,
            Some(DEFAULT_SECRET),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        // An event for a refund the gateway does not know stores nothing either (DESIGN
        // §16), so its second delivery is acknowledged the same way, not as a duplicate.
        assert_eq!(answer, json!({"received": true, "refund": null}));

        // Ignored or not, an event must be genuine.
        for secret in [None, Some("whsec_someone_else")] {
            let (status, answer) = post(&app, "/v1/webhooks/stripe", &ignored, secret).await;
            assert_eq!(status, 400, "{secret:?}: {answer}");
            assert_eq!(answer["error"]["code"], "webhook_invalid");
        }
    }
);

both_backends!(
    a_merchants_own_stripe_account_is_settled_by_events_at_its_own_path,
    |db| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stripe = Sandbox::start(
            listener,
            SandboxConfig {
                settle_after_ms: 100,
                ..SandboxConfig::default()
            },
        )
        .await
        .expect("Stripe simulator");
        let own_account = format!(
            "[merchants.providers.stripe]\nsecret_key = \"{SECRET_KEY}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n"
        );
        let tail = format!(
            "[providers.stripe]\nbase_url = \"{}\"\ntimeout_ms = 2000\n",
            stripe.base_url()
        );
        let Some(app) = spawn_live(db, &own_account, &tail).await else {
            return;
        };
        stripe.set_webhook_url(Some(format!("{}/v1/webhooks/stripe/acme", app.address)));

        let response = app
            .post_refund(
                ACME_KEY,
                None,
                &json!({"provider": "stripe", "payment_id": "pi_own_account", "amount": "7.00",
                        "currency": "EUR", "metadata": {"order": "A-7"}}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
        let refund: Value = response.json().await.expect("json");
        assert_eq!(refund["status"], "processing", "{refund}");
        let id = refund["id"].as_str().expect("id");
        let settled = wait_for_refund(&app, id, Duration::from_secs(5), |r| {
            r["status"] == "succeeded"
        })
        .await;
        assert_eq!(settled["status"], "succeeded", "{settled}");
        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        let sources: Vec<&str> = events["data"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter(|e| e["kind"] == "status_changed" && e["status"] == "succeeded")
                    .filter_map(|e| e["source"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(sources, ["webhook"], "{events}");
        assert!(
            stripe
                .deliveries()
                .iter()
                .all(|d| d.answer == Some(200) && d.url.ends_with("/v1/webhooks/stripe/acme")),
            "{:?}",
            stripe.deliveries()
        );

        // The default path has no account here, and the merchant's path takes only its secret.
        let body = event("evt_x", "refund.updated", unknown_refund());
        let (status, answer) = post(&app, "/v1/webhooks/stripe", &body, Some(WEBHOOK_SECRET)).await;
        assert_eq!(status, 404, "{answer}");
        let (status, answer) = post(
            &app,
            "/v1/webhooks/stripe/acme",
            &body,
            Some(DEFAULT_SECRET),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "webhook_invalid");
    }
);
