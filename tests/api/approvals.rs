//! Refunds held for an operator's approval (DESIGN §19), on SQLite and PostgreSQL: held
//! unsent with their amount reserved, approved (sent at once, exactly once), rejected (the
//! amount refundable again), expired, for operators only, each decision in the audit log,
//! and the merchant told `refund.awaiting_approval`.

use std::time::Duration;

use refund_test_support::poll_until;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app_with, spawn_live, Db, Script, TestApp, ACME_KEY, OPERATOR_KEY,
};

/// Refunds of 100.00 EUR or more wait for approval.
const RULE: &str = "[[approval_rules]]\ncurrency = \"EUR\"\namount_at_least = \"100.00\"\n";

fn body(payment: &str, amount: &str) -> Value {
    json!({"payment_id": payment, "amount": amount, "payment_amount": "200.00", "currency": "EUR"})
}

async fn decide(
    app: &TestApp,
    key: &str,
    id: &str,
    action: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .request(reqwest::Method::POST, &format!("/v1/refunds/{id}/{action}"))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("decide")
}

async fn audit(app: &TestApp, kind: &str) -> Vec<Value> {
    let page = app
        .get_json(OPERATOR_KEY, &format!("/v1/audit_events?kind={kind}"))
        .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

both_backends!(
    a_refund_at_the_threshold_waits_unsent_with_its_amount_reserved_then_is_sent_once_approved,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", RULE).await else {
            return;
        };
        let held = app
            .post_refund(ACME_KEY, Some("big"), &body("pay_a", "150.00"))
            .await;
        assert_eq!(held.status().as_u16(), 201);
        let held: Value = held.json().await.expect("json");
        assert_eq!(held["status"], "pending", "{held}");
        assert_eq!(held["pending_reason"], "awaiting_approval", "{held}");
        assert_eq!(provider.calls(), 0, "nothing is sent before approval");
        let id = held["id"].as_str().expect("id");

        // 150.00 of 200.00 is reserved: 60.00 more would exceed the payment.
        let over = app
            .post_refund(ACME_KEY, None, &body("pay_a", "60.00"))
            .await;
        assert_error(over, 400, "amount_exceeds_refundable").await;
        // Below the threshold: sent at once.
        let small = app.create(ACME_KEY, None, &body("pay_a", "10.00")).await;
        assert_eq!(small["status"], "succeeded", "{small}");
        assert_eq!(provider.calls(), 1);

        // The queue, for operators; a merchant may not decide.
        let queue = app
            .get_json(OPERATOR_KEY, "/v1/refunds?pending_reason=awaiting_approval")
            .await;
        let listed: Vec<&str> = queue["data"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(listed, vec![id], "{queue}");
        assert_error(
            decide(&app, ACME_KEY, id, "approve", None).await,
            403,
            "operator_only",
        )
        .await;
        assert_error(
            decide(&app, ACME_KEY, id, "reject", Some(json!({"reason": "no"}))).await,
            403,
            "operator_only",
        )
        .await;
        assert_eq!(provider.calls(), 1);

        let approved = decide(
            &app,
            OPERATOR_KEY,
            id,
            "approve",
            Some(json!({"note": "checked with the customer"})),
        )
        .await;
        assert_eq!(approved.status().as_u16(), 200);
        let approved: Value = approved.json().await.expect("json");
        assert_eq!(approved["status"], "succeeded", "{approved}");
        assert_eq!(approved["pending_reason"], Value::Null, "{approved}");
        assert_eq!(provider.calls(), 2);
        let sent: Vec<String> = provider
            .requests()
            .iter()
            .map(|r| r.refund_id.to_string())
            .collect();
        assert_eq!(sent.iter().filter(|s| *s == id).count(), 1, "{sent:?}");

        // Decided once: a second approve, or a reject, finds nothing awaiting.
        assert_error(
            decide(&app, OPERATOR_KEY, id, "approve", None).await,
            409,
            "not_awaiting_approval",
        )
        .await;
        assert_error(
            decide(
                &app,
                OPERATOR_KEY,
                id,
                "reject",
                Some(json!({"reason": "late"})),
            )
            .await,
            409,
            "not_awaiting_approval",
        )
        .await;
        let small_id = small["id"].as_str().expect("id");
        assert_error(
            decide(&app, OPERATOR_KEY, small_id, "approve", None).await,
            409,
            "not_awaiting_approval",
        )
        .await;
        assert_eq!(provider.calls(), 2, "no decision sent anything again");

        let entries = audit(&app, "refund.approved").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["actor"], "finance");
        assert_eq!(entries[0]["target"], id);
        assert_eq!(entries[0]["detail"]["note"], "checked with the customer");
        let events = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        let kinds: Vec<&str> = events["data"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert!(
            kinds.contains(&"awaiting_approval") && kinds.contains(&"approved"),
            "{kinds:?}"
        );
        let queue = app
            .get_json(OPERATOR_KEY, "/v1/refunds?pending_reason=awaiting_approval")
            .await;
        assert_eq!(queue["data"], json!([]), "{queue}");
    }
);

both_backends!(
    a_rejected_refund_is_canceled_never_sent_and_its_amount_is_refundable_again,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", RULE).await else {
            return;
        };
        let held = app.create(ACME_KEY, None, &body("pay_r", "150.00")).await;
        let id = held["id"].as_str().expect("id");
        assert_error(
            decide(&app, OPERATOR_KEY, id, "reject", Some(json!({}))).await,
            400,
            "parameter_missing",
        )
        .await;
        assert_error(
            decide(&app, OPERATOR_KEY, id, "reject", None).await,
            400,
            "body_invalid",
        )
        .await;
        let rejected = decide(
            &app,
            OPERATOR_KEY,
            id,
            "reject",
            Some(json!({"reason": "duplicate of an earlier refund"})),
        )
        .await;
        assert_eq!(rejected.status().as_u16(), 200);
        let rejected: Value = rejected.json().await.expect("json");
        assert_eq!(rejected["status"], "canceled", "{rejected}");
        assert_eq!(
            rejected["failure_code"], "rejected_by_operator",
            "{rejected}"
        );
        assert_eq!(rejected["pending_reason"], Value::Null);
        assert_error(
            decide(&app, OPERATOR_KEY, id, "approve", None).await,
            409,
            "not_awaiting_approval",
        )
        .await;
        // A held refund is not resolved by hand, and its merchant may cancel it (never sent).
        let other = app.create(ACME_KEY, None, &body("pay_r2", "120.00")).await;
        let other = other["id"].as_str().expect("id");
        assert_error(
            decide(
                &app,
                OPERATOR_KEY,
                other,
                "resolve",
                Some(json!({"status": "succeeded", "reason": "x"})),
            )
            .await,
            400,
            "parameter_invalid",
        )
        .await;
        let canceled = decide(&app, ACME_KEY, other, "cancel", None).await;
        assert_eq!(canceled.status().as_u16(), 200);
        let canceled: Value = canceled.json().await.expect("json");
        assert_eq!(
            canceled["failure_code"], "canceled_by_merchant",
            "{canceled}"
        );
        // The whole 200.00 is refundable again (held again: it is over the threshold).
        let again = app
            .post_refund(ACME_KEY, None, &body("pay_r", "200.00"))
            .await;
        assert_eq!(again.status().as_u16(), 201);
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["pending_reason"], "awaiting_approval", "{again}");
        assert_eq!(provider.calls(), 0);
        let entries = audit(&app, "refund.rejected").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0]["target"], id);
        assert_eq!(
            entries[0]["detail"]["reason"],
            "duplicate of an earlier refund"
        );
    }
);

both_backends!(
    a_refund_awaiting_approval_longer_than_the_expiry_is_canceled_approval_expired,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let rules = format!("{RULE}\n[[approval_rules]]\ncurrency = \"USD\"\namount_at_least = \"1.00\"\nmerchant = \"globex\"\n");
        let Some(app) = spawn_app_with(db, provider.clone(), "", &rules).await else {
            return;
        };
        // acme's USD refunds are not held (the USD rule is globex's).
        let usd = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_usd", "amount": "500.00", "currency": "USD"}),
            )
            .await;
        assert_eq!(usd["status"], "succeeded", "{usd}");
        let held = app.create(ACME_KEY, None, &body("pay_e", "150.00")).await;
        let id = held["id"].as_str().expect("id");
        let now = refund_gateway::store::now_ms();
        assert_eq!(app.engine.expire_approvals(now).await.expect("pass"), 0);
        let week = 168 * 3_600_000;
        assert_eq!(
            app.engine
                .expire_approvals(now + week - 60_000)
                .await
                .expect("pass"),
            0,
            "not yet a week"
        );
        assert_eq!(
            app.engine
                .expire_approvals(now + week + 60_000)
                .await
                .expect("pass"),
            1
        );
        let expired = app.get_json(ACME_KEY, &format!("/v1/refunds/{id}")).await;
        assert_eq!(expired["status"], "canceled", "{expired}");
        assert_eq!(expired["failure_code"], "approval_expired", "{expired}");
        assert_error(
            decide(&app, OPERATOR_KEY, id, "approve", None).await,
            409,
            "not_awaiting_approval",
        )
        .await;
        assert_eq!(
            app.engine
                .expire_approvals(now + 2 * week)
                .await
                .expect("pass"),
            0,
            "once"
        );
        assert_eq!(provider.calls(), 1, "only the USD refund was sent");
    }
);

both_backends!(
    an_approval_while_the_breaker_is_open_queues_the_refund_instead_of_sending_it,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        provider.then(Script::Fail(refund_provider::ProviderError::not_sent(
            "connection refused",
        )));
        provider.then(Script::Fail(refund_provider::ProviderError::not_sent(
            "connection refused",
        )));
        let extra = format!("{RULE}\n[providers.scripted.breaker]\nfailures = 2\nopen_ms = 600000\nmax_open_ms = 600000\n");
        let Some(app) = spawn_app_with(db, provider.clone(), "", &extra).await else {
            return;
        };
        let held = app.create(ACME_KEY, None, &body("pay_b", "150.00")).await;
        let id = held["id"].as_str().expect("id");
        // Two refused calls open the breaker (the first refund is queued by them).
        let queued = app
            .create(ACME_KEY, None, &body("pay_other", "10.00"))
            .await;
        assert_eq!(queued["pending_reason"], "provider_unavailable", "{queued}");
        let calls = provider.calls();
        let approved = decide(&app, OPERATOR_KEY, id, "approve", None).await;
        assert_eq!(approved.status().as_u16(), 200);
        let approved: Value = approved.json().await.expect("json");
        assert_eq!(approved["status"], "pending", "{approved}");
        assert_eq!(
            approved["pending_reason"], "provider_unavailable",
            "{approved}"
        );
        assert_eq!(provider.calls(), calls, "an open breaker sends nothing");
    }
);

both_backends!(
    the_merchant_is_told_refund_awaiting_approval_then_the_outcome_once_approved,
    |db: Db| async move {
        let merchant = MockServer::start().await;
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
            "webhook_url = \"{}/events\"\nwebhook_secret = \"whsec_acme\"",
            merchant.uri()
        );
        let tail = format!(
            "[[operators]]\nid = \"finance\"\napi_key = \"{OPERATOR_KEY}\"\n\n[providers.authms]\nbase_url = \"{}\"\ntoken = \"sandbox-authms-token\"\n\n[[routes]]\nprovider = \"authms\"\n\n\
             [[approval_rules]]\nprovider = \"authms\"\ncurrency = \"CNY\"\namount_at_least = \"10.00\"\n\n[sync]\npoll_interval_ms = 50\n",
            sandbox.base_url()
        );
        let Some(app) = spawn_live(db, &merchant_extra, &tail).await else {
            return;
        };
        let held = app
            .create(ACME_KEY, None, &json!({"payment_id": "txn_approval", "amount": "50.00", "currency": "CNY", "customer_id": "usr_abc123"}))
            .await;
        assert_eq!(held["pending_reason"], "awaiting_approval", "{held}");
        let id = held["id"].as_str().expect("id").to_owned();
        let types = || async {
            merchant
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
                .filter_map(|event| event["type"].as_str().map(str::to_owned))
                .collect::<Vec<String>>()
        };
        let seen = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            types,
            |t: &Vec<String>| t.iter().any(|t| t == "refund.awaiting_approval"),
        )
        .await;
        assert!(
            seen.contains(&"refund.awaiting_approval".to_owned()),
            "{seen:?}"
        );
        let approved = decide(&app, OPERATOR_KEY, &id, "approve", None).await;
        let approved: Value = approved.json().await.expect("json");
        assert_eq!(approved["status"], "succeeded", "{approved}");
        let seen = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            types,
            |t: &Vec<String>| t.iter().any(|t| t == "refund.succeeded"),
        )
        .await;
        assert_eq!(
            seen,
            vec![
                "refund.created",
                "refund.awaiting_approval",
                "refund.succeeded"
            ],
            "{seen:?}"
        );
    }
);
