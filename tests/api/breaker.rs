//! Provider outages (DESIGN §17): the circuit breaker of a provider account, the queue of
//! refunds never sent, its drain, cancel and expiry, on both backends.

use std::time::Duration;

use refund_provider::ProviderError;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app_with, wait_for_refund, Db, Script, TestApp, ACME_KEY, GLOBEX_KEY,
    OPERATOR_KEY,
};

/// A breaker that opens after two failures and probes after `open_ms`; sync polls often.
fn breaker(open_ms: u64) -> String {
    format!(
        "[providers.scripted.breaker]\nfailures = 2\nopen_ms = {open_ms}\nmax_open_ms = {open_ms}\n\n\
         [sync]\npoll_interval_ms = 20\nfirst_retry_ms = 20\nnot_found_grace_ms = 200\n"
    )
}

fn body(payment: &str, amount: &str) -> Value {
    json!({"payment_id": payment, "amount": amount, "payment_amount": "100.00", "currency": "EUR"})
}

fn refused() -> Script {
    Script::Fail(ProviderError::not_sent("connection refused"))
}

async fn cancel(app: &TestApp, key: &str, id: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/v1/refunds/{id}/cancel"))
        .bearer_auth(key)
        .send()
        .await
        .expect("cancel")
}

/// Two refunds that could not be sent: the second finds the breaker open.
async fn two_queued(app: &TestApp) -> (Value, Value) {
    let first = app
        .create(ACME_KEY, Some("first"), &body("pay_q", "10.00"))
        .await;
    let second = app.create(ACME_KEY, None, &body("pay_q", "20.00")).await;
    (first, second)
}

both_backends!(
    refunds_that_cannot_be_sent_are_queued_then_sent_once_each_when_the_provider_is_back,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        provider.then(refused());
        provider.then(refused());
        let Some(app) = spawn_app_with(db, provider.clone(), "", &breaker(300)).await else {
            return;
        };
        let (first, second) = two_queued(&app).await;
        for queued in [&first, &second] {
            assert_eq!(queued["status"], "pending", "{queued}");
            assert_eq!(queued["pending_reason"], "provider_unavailable", "{queued}");
            assert_eq!(queued["failure_code"], Value::Null, "{queued}");
        }
        assert_eq!(
            provider.calls(),
            2,
            "the second failure opened it: no third try, and the second refund was not sent"
        );
        // A retry of the first answers the queued refund it was given.
        let replay = app
            .post_refund(ACME_KEY, Some("first"), &body("pay_q", "10.00"))
            .await;
        assert_eq!(replay.status().as_u16(), 200);
        let replay: Value = replay.json().await.expect("json");
        assert_eq!(replay["pending_reason"], "provider_unavailable");
        // After open_ms the oldest is the probe; its success closes the breaker and the rest drains.
        for queued in [&first, &second] {
            let id = queued["id"].as_str().expect("id");
            let done = wait_for_refund(&app, id, Duration::from_secs(10), |r| {
                r["status"] == "succeeded"
            })
            .await;
            assert_eq!(done["status"], "succeeded", "{done}");
            assert_eq!(done["pending_reason"], Value::Null, "{done}");
        }
        let sent: Vec<String> = provider
            .requests()
            .iter()
            .map(|r| r.refund_id.to_string())
            .collect();
        let first_id = first["id"].as_str().expect("id");
        let second_id = second["id"].as_str().expect("id");
        assert_eq!(
            sent.iter().filter(|id| *id == second_id).count(),
            1,
            "{sent:?}"
        );
        // Two refused attempts (never left), then the one that went out.
        assert_eq!(
            sent.iter().filter(|id| *id == first_id).count(),
            3,
            "{sent:?}"
        );
        assert_eq!(sent[2], first_id, "the oldest queued refund is the probe");
        let events = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{second_id}/events"))
            .await;
        let kinds: Vec<&str> = events["data"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert!(
            kinds.contains(&"queued") && kinds.contains(&"sent_from_queue"),
            "{kinds:?}"
        );
    }
);

both_backends!(
    a_queued_refund_is_canceled_by_its_merchant_and_gives_its_amount_back,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        provider.then(refused());
        provider.then(refused());
        let Some(app) = spawn_app_with(db, provider.clone(), "", &breaker(600_000)).await else {
            return;
        };
        let (first, second) = two_queued(&app).await;
        let id = second["id"].as_str().expect("id");
        assert_error(cancel(&app, GLOBEX_KEY, id).await, 404, "refund_not_found").await;
        assert_error(cancel(&app, OPERATOR_KEY, id).await, 403, "merchant_only").await;
        let response = cancel(&app, ACME_KEY, id).await;
        assert_eq!(response.status().as_u16(), 200);
        let canceled: Value = response.json().await.expect("json");
        assert_eq!(canceled["status"], "canceled", "{canceled}");
        assert_eq!(canceled["failure_code"], "canceled_by_merchant");
        assert_eq!(canceled["pending_reason"], Value::Null);
        assert_error(cancel(&app, ACME_KEY, id).await, 409, "refund_final").await;
        // 10.00 is still queued and counts; the canceled 20.00 is refundable again.
        let payment = app.get_json(ACME_KEY, "/v1/payments/pay_q/refunds").await;
        assert_eq!(payment["refundable"][0]["amount"], "90.00", "{payment}");
        assert_eq!(provider.calls(), 2);
        assert_eq!(first["pending_reason"], "provider_unavailable");
    }
);

both_backends!(
    a_refund_already_sent_cannot_be_canceled,
    |db: Db| async move {
        let provider = fake(Script::Fail(ProviderError::unknown("HTTP 503")));
        let Some(app) = spawn_app_with(db, provider.clone(), "", &breaker(600_000)).await else {
            return;
        };
        let unknown = app.create(ACME_KEY, None, &body("pay_u", "10.00")).await;
        assert_eq!(unknown["status"], "pending");
        assert_eq!(
            unknown["pending_reason"],
            Value::Null,
            "sent, outcome unknown: not queued"
        );
        let id = unknown["id"].as_str().expect("id");
        assert_error(cancel(&app, ACME_KEY, id).await, 409, "refund_sent").await;
    }
);

both_backends!(
    status_queries_wait_while_the_breaker_is_open,
    |db: Db| async move {
        let provider = fake(Script::Fail(ProviderError::unknown("timed out")));
        // Their first query would be due after the breaker opened.
        let config = breaker(600_000).replace("first_retry_ms = 20", "first_retry_ms = 1000");
        let Some(app) = spawn_app_with(db, provider.clone(), "", &config).await else {
            return;
        };
        for n in 0..2 {
            let refund = app
                .create(ACME_KEY, None, &body(&format!("pay_w{n}"), "1.00"))
                .await;
            assert_eq!(refund["status"], "pending");
        }
        // Two timeouts opened it: a third refund is queued, and nothing is queried.
        let third = app.create(ACME_KEY, None, &body("pay_w2", "1.00")).await;
        assert_eq!(third["pending_reason"], "provider_unavailable");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(
            provider.status_calls(),
            0,
            "no query storm on a provider that is down"
        );
        assert_eq!(provider.calls(), 2);
        let metrics = app
            .request(reqwest::Method::GET, "/metrics")
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics.contains(
                "refund_gateway_breaker_state{provider=\"scripted\",account=\"default\",state=\"open\"} 1"
            ),
            "{metrics}"
        );
        assert!(
            metrics.contains(
                "refund_gateway_queue_depth{provider=\"scripted\",account=\"default\"} 1"
            ),
            "{metrics}"
        );
        let ready = app
            .request(reqwest::Method::GET, "/readyz")
            .send()
            .await
            .expect("readyz");
        assert_eq!(
            ready.status().as_u16(),
            200,
            "the gateway works; a provider does not"
        );
    }
);

both_backends!(
    a_refund_queued_longer_than_queue_max_age_fails_unsent,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        provider.then(refused());
        provider.then(refused());
        let config = breaker(600_000).replace("[sync]", "queue_max_age_ms = 1000\n\n[sync]");
        let Some(app) = spawn_app_with(db, provider.clone(), "", &config).await else {
            return;
        };
        let queued = app.create(ACME_KEY, None, &body("pay_old", "5.00")).await;
        let id = queued["id"].as_str().expect("id");
        let done = wait_for_refund(&app, id, Duration::from_secs(10), |r| {
            r["status"] == "failed"
        })
        .await;
        assert_eq!(done["failure_code"], "provider_unavailable", "{done}");
        assert_eq!(done["pending_reason"], Value::Null);
        assert_eq!(provider.calls(), 2, "never sent");
    }
);
