//! eFundPay webhooks through the gateway: verified, applied once, never moving a final
//! refund, refused with a 4xx (and nothing changed) when not provably genuine.

use provider_efundpay::sandbox::{Faults, Sandbox, SandboxConfig};
use refund_provider::signature::sign_header;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_live_with, Db, TestApp, ACME_KEY};

const SECRET: &str = "sandbox-efundpay-whsec";

async fn setup(db: Db) -> Option<(TestApp, Sandbox, Value)> {
    setup_with(db, "").await
}

/// [`setup`] with more `[server]` lines.
async fn setup_with(db: Db, server_lines: &str) -> Option<(TestApp, Sandbox, Value)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = SandboxConfig {
        faults: Faults {
            webhooks_enabled: false,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(listener, config).await.expect("sandbox");
    let tail = format!(
        r#"
[providers.efundpay]
base_url = "{}"
token = "sandbox-efundpay-token"
merchant_account_id = "sandbox-merchant"
webhook_secret = "{SECRET}"
timeout_ms = 2000

[[routes]]
provider = "efundpay"
"#,
        sandbox.base_url()
    );
    let app = spawn_live_with(db, server_lines, "", &tail).await?;
    let response = app
        .post_refund(ACME_KEY, None, &json!({"payment_id": "pay_wh", "amount": "12.99", "currency": "EUR", "reason": "Product return"}))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let refund: Value = response.json().await.expect("json");
    assert_eq!(refund["status"], "processing");
    Some((app, sandbox, refund))
}

fn event(id: &str, status: &str, refund: &Value, amount: i64) -> String {
    json!({
        "id": id,
        "type": "refund.updated",
        "created_at": "2026-11-23T10:00:00.000+00:00",
        "data": {
            "type": "refund",
            "id": refund["provider_refund_id"].as_str().unwrap_or("6a1d4e46-14ed-4fe1-a45f-eff4e025d211"),
            "transaction_id": "pay_wh",
            "status": status,
            "currency": "EUR",
            "amount": amount,
            "reason": "Product return",
            "external_identifier": refund["id"],
            "transaction_external_identifier": "transaction-12345",
            "created_at": "2026-11-23T10:00:00.000+00:00"
        }
    })
    .to_string()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn send(app: &TestApp, body: &str, signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/v1/webhooks/efundpay", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("eFundPay-Signature", signature);
    }
    request.send().await.expect("send")
}

async fn refund_now(app: &TestApp, id: &str) -> Value {
    app.get_json(ACME_KEY, &format!("/v1/refunds/{id}")).await
}

both_backends!(
    webhooks_that_are_not_provably_genuine_change_nothing,
    |db: Db| async move {
        let Some((app, _sandbox, refund)) = setup(db).await else {
            return;
        };
        let id = refund["id"].as_str().expect("id");
        let body = event("evt_bad", "succeeded", &refund, 1299);
        let cases = [
            ("missing header", None),
            (
                "wrong secret",
                Some(sign_header(b"not-the-secret", now(), body.as_bytes())),
            ),
            (
                "stale",
                Some(sign_header(SECRET.as_bytes(), now() - 400, body.as_bytes())),
            ),
            (
                "from the future",
                Some(sign_header(SECRET.as_bytes(), now() + 400, body.as_bytes())),
            ),
            (
                "tampered",
                Some(sign_header(
                    SECRET.as_bytes(),
                    now(),
                    event("evt_bad", "failed", &refund, 1299).as_bytes(),
                )),
            ),
            ("garbage header", Some("t=abc,v1=zz".to_owned())),
        ];
        for (name, signature) in cases {
            let response = send(&app, &body, signature).await;
            assert_eq!(response.status().as_u16(), 400, "{name}");
            let error: Value = response.json().await.expect("json");
            assert_eq!(error["error"]["code"], "webhook_invalid", "{name}");
        }
        let signed_garbage = "{not json";
        let response = send(
            &app,
            signed_garbage,
            Some(sign_header(
                SECRET.as_bytes(),
                now(),
                signed_garbage.as_bytes(),
            )),
        )
        .await;
        assert_eq!(response.status().as_u16(), 400, "unparseable body");
        assert_eq!(refund_now(&app, id).await["status"], "processing");
    }
);

both_backends!(
    a_genuine_webhook_is_applied_once_and_never_moves_a_final_refund,
    |db: Db| async move {
        let Some((app, _sandbox, refund)) = setup(db).await else {
            return;
        };
        let id = refund["id"].as_str().expect("id");
        let body = event("evt_1", "succeeded", &refund, 1299);
        let signature = sign_header(SECRET.as_bytes(), now(), body.as_bytes());
        let first = send(&app, &body, Some(signature.clone())).await;
        assert_eq!(first.status().as_u16(), 200);
        let after = refund_now(&app, id).await;
        assert_eq!(after["status"], "succeeded");
        assert!(after["provider_refund_id"].is_string());

        // The same event again: acknowledged, applied once.
        let duplicate = send(&app, &body, Some(signature)).await;
        assert_eq!(duplicate.status().as_u16(), 200);
        let duplicate: Value = duplicate.json().await.expect("json");
        assert_eq!(duplicate["duplicate"], true);

        // A late `processing` (out of order) is recorded and ignored.
        let late = event("evt_2", "processing", &refund, 1299);
        assert_eq!(
            send(
                &app,
                &late,
                Some(sign_header(SECRET.as_bytes(), now(), late.as_bytes()))
            )
            .await
            .status()
            .as_u16(),
            200
        );
        let after = refund_now(&app, id).await;
        assert_eq!(after["status"], "succeeded");
        assert_eq!(after["requires_attention"], false);

        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        let data = events["data"].as_array().expect("events");
        let to_succeeded = data.iter().filter(|e| e["status"] == "succeeded").count();
        assert_eq!(to_succeeded, 1, "{events}");
        assert!(
            data.iter()
                .any(|e| e["kind"] == "ignored" && e["source"] == "webhook"),
            "{events}"
        );
        assert!(
            data.iter()
                .any(|e| e["source"] == "webhook" && e["status"] == "succeeded"),
            "{events}"
        );

        // A void after success contradicts the final status: flagged for finance, not moved.
        let voided = event("evt_3", "voided", &refund, 1299);
        assert_eq!(
            send(
                &app,
                &voided,
                Some(sign_header(SECRET.as_bytes(), now(), voided.as_bytes()))
            )
            .await
            .status()
            .as_u16(),
            200
        );
        let after = refund_now(&app, id).await;
        assert_eq!(after["status"], "succeeded");
        assert_eq!(after["requires_attention"], true);
    }
);

both_backends!(
    a_webhook_with_another_amount_never_succeeds_silently,
    |db: Db| async move {
        let Some((app, _sandbox, refund)) = setup(db).await else {
            return;
        };
        let id = refund["id"].as_str().expect("id");
        let body = event("evt_amount", "succeeded", &refund, 9999);
        assert_eq!(
            send(
                &app,
                &body,
                Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes()))
            )
            .await
            .status()
            .as_u16(),
            200
        );
        let after = refund_now(&app, id).await;
        assert_eq!(after["status"], "processing");
        assert_eq!(after["requires_attention"], true);
        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        let flagged = events["data"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["kind"] == "requires_attention")
            .cloned()
            .expect("flag event");
        assert_eq!(flagged["detail"]["asked"]["amount"], "12.99");
        assert_eq!(flagged["detail"]["reported"]["amount"], "99.99");
    }
);

both_backends!(
    a_webhook_for_an_unknown_refund_is_acknowledged_and_changes_nothing,
    |db: Db| async move {
        let Some((app, _sandbox, refund)) = setup(db).await else {
            return;
        };
        let mut stranger = refund.clone();
        stranger["id"] = json!("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e");
        let body = event("evt_stranger", "succeeded", &stranger, 1299);
        let response = send(
            &app,
            &body,
            Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes())),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["refund"], Value::Null);
        assert_eq!(
            refund_now(&app, refund["id"].as_str().expect("id")).await["status"],
            "processing"
        );
        // Nothing stored (DESIGN §16): no receipt, so the same event again is not a
        // "duplicate" either, and a flood of such events cannot fill the table.
        let again = send(
            &app,
            &body,
            Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes())),
        )
        .await;
        let again: Value = again.json().await.expect("json");
        assert_eq!(again, json!({"received": true, "refund": null}));
        assert_eq!(receipt_count(&app).await, 0);
    }
);

/// Rows of the webhook receipts table.
async fn receipt_count(app: &TestApp) -> i64 {
    use sqlx::Row;
    let store = refund_gateway::store::Store::connect(&app.database_url, 1)
        .await
        .expect("store");
    let count = sqlx::query("SELECT COUNT(*) AS n FROM webhook_receipts")
        .fetch_one(store.pool())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("n");
    store.close().await;
    count
}

both_backends!(
    verified_events_beyond_the_accounts_rate_get_429_and_a_retry_applies_them,
    |db: Db| async move {
        let Some((app, _sandbox, refund)) =
            setup_with(db, "webhook_rate_limit_per_second = 1").await
        else {
            return;
        };
        // A rate of 1 per second allows a burst of 2: the third event at once is refused.
        let mut statuses = Vec::new();
        for n in 0..3 {
            let body = event(&format!("evt_rate_{n}"), "processing", &refund, 1299);
            let response = send(
                &app,
                &body,
                Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes())),
            )
            .await;
            let retry_after = response.headers().get("retry-after").cloned();
            statuses.push(response.status().as_u16());
            if n == 2 {
                assert!(retry_after.is_some(), "429 says when to retry");
                let error: Value = response.json().await.expect("json");
                assert_eq!(error["error"]["code"], "rate_limited");
            }
        }
        assert_eq!(statuses, [200, 200, 429]);
        // A forged event is refused as before and does not count against the account.
        let forged = event("evt_forged", "succeeded", &refund, 1299);
        let response = send(
            &app,
            &forged,
            Some(sign_header(b"not-the-secret", now(), forged.as_bytes())),
        )
        .await;
        assert_eq!(response.status().as_u16(), 400);
        // The provider's retry, a second later, is applied.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let body = event("evt_rate_2", "succeeded", &refund, 1299);
        let response = send(
            &app,
            &body,
            Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes())),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            refund_now(&app, refund["id"].as_str().expect("id")).await["status"],
            "succeeded"
        );
    }
);

both_backends!(
    a_refund_that_failed_after_succeeding_matches_a_statement_saying_failed_and_a_void_one_saying_canceled,
    |db: Db| async move {
        let Some((app, _sandbox, failed_later)) = setup(db).await else {
            return;
        };
        let response = app
            .post_refund(ACME_KEY, None, &json!({"payment_id": "pay_wh", "amount": "12.99", "currency": "EUR", "reason": "Product return"}))
            .await;
        let voided: Value = response.json().await.expect("json");
        // Both succeed, then one fails later and the other is voided: each keeps
        // `succeeded`, flagged, its lines reversed.
        for (refund, later) in [(&failed_later, "failed"), (&voided, "voided")] {
            for (n, status) in ["succeeded", later].into_iter().enumerate() {
                let body = event(
                    &format!("evt_{n}_{}", refund["id"].as_str().expect("id")),
                    status,
                    refund,
                    1299,
                );
                let response = send(
                    &app,
                    &body,
                    Some(sign_header(SECRET.as_bytes(), now(), body.as_bytes())),
                )
                .await;
                assert_eq!(response.status().as_u16(), 200);
            }
            let now = refund_now(&app, refund["id"].as_str().expect("id")).await;
            assert_eq!(now["status"], "succeeded");
            assert_eq!(now["requires_attention"], true);
        }
        let refreshed = |refund: &Value| {
            let app = &app;
            let id = refund["id"].as_str().expect("id").to_owned();
            async move { refund_now(app, &id).await }
        };
        let failed_later = refreshed(&failed_later).await;
        let voided = refreshed(&voided).await;
        let line = |refund: &Value, status: &str| {
            format!(
                "{},{},12.99,EUR,{status},\n",
                refund["provider_refund_id"].as_str().expect("provider id"),
                refund["id"].as_str().expect("id"),
            )
        };
        let header = "provider_refund_id,provider_reference,amount,currency,status,settled_at\n";
        // What the provider's statement says of each: no variance.
        let csv = format!("{header}{}{}", line(&failed_later, "failed"), line(&voided, "canceled"));
        let report = import(&app, csv).await;
        assert_eq!(report["by_kind"]["status_mismatch"]["count"], 0, "{report}");
        assert_eq!(report["matched"]["count"], 2, "{report}");
        // The other way round, both are status mismatches.
        let csv = format!("{header}{}{}", line(&failed_later, "canceled"), line(&voided, "failed"));
        let report = import(&app, csv).await;
        assert_eq!(report["by_kind"]["status_mismatch"]["count"], 2, "{report}");
        let expected: Vec<&str> = report["variances"]
            .as_array()
            .expect("variances")
            .iter()
            .filter(|v| v["kind"] == "status_mismatch")
            .filter_map(|v| v["expected"].as_str())
            .collect();
        assert_eq!(expected, ["failed", "canceled"], "{report}");
    }
);

/// Imports an eFundPay statement in the gateway's CSV format as the merchant; the report.
async fn import(app: &TestApp, csv: String) -> Value {
    let response =
        crate::reconciliation::post_statement(app, ACME_KEY, "efundpay", "", csv, "text/csv").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("json")
}
