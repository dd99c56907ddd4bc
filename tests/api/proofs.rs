//! What a provider's answer proves (DESIGN §16), through the API with the real adapters
//! against wiremock: providers that stay within their documents but behave otherwise than our
//! simulators. An answer lost after the provider applied the refund, then a status query that
//! finds nothing, flags the refund and never fails or re-sends it; a success that does not
//! prove its amount (none, zero, lines that do not add up) books nothing; an AuthMS transfer
//! the wrong way round is never a refund; an amount learnt later beyond the refundable is
//! booked and flagged; an operator never books more than is refundable.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::both_backends;
use crate::helpers::{spawn_live, wait_for_refund, Db, TestApp, ACME_KEY, OPERATOR_KEY};

/// A short grace so that "no record after the grace period" comes within a test.
const SYNC: &str = "[sync]\npoll_interval_ms = 50\nfirst_retry_ms = 100\nmax_retry_ms = 300\nnot_found_grace_ms = 700\n";

/// An answer that arrives after the adapter gave up (its `timeout_ms` is 300): the provider
/// applied the refund, the gateway never hears it.
fn lost(answer: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(answer)
        .set_delay(Duration::from_millis(1500))
}

async fn gateway(db: Db, server: &MockServer, provider_section: &str) -> Option<TestApp> {
    let tail = format!(
        "{}\nbase_url = \"{}\"\ntimeout_ms = 300\n\n{SYNC}\n[[operators]]\nid = \"finance\"\napi_key = \"{OPERATOR_KEY}\"\n",
        provider_section,
        server.uri()
    );
    spawn_live(db, "", &tail).await
}

/// How many requests the provider received for `method_name` `path_prefix…`.
async fn received(server: &MockServer, method_name: &str, path_prefix: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r: &&Request| {
            r.method.as_str() == method_name && r.url.path().starts_with(path_prefix)
        })
        .count()
}

async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    let page: Value = app
        .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
        .await;
    page["data"].as_array().cloned().unwrap_or_default()
}

/// The reasons of the refund's `requires_attention` events, oldest first.
async fn attention_reasons(app: &TestApp, id: &str) -> Vec<String> {
    events(app, id)
        .await
        .iter()
        .filter(|e| e["kind"] == "requires_attention")
        .filter_map(|e| e["detail"]["reason"].as_str().map(str::to_owned))
        .collect()
}

fn flagged(refund: &Value) -> bool {
    refund["requires_attention"] == true
}

/// AuthMS's section last, so that the base URL and timeout appended belong to it.
const AUTHMS: &str = "[[routes]]\nprovider = \"authms\"\ncurrency = [\"CNY\"]\n\n[providers.authms]\ntoken = \"t\"\ntransfer_source_user_id = \"usr_merchant\"";

both_backends!(
    an_authms_refund_whose_answer_was_lost_and_that_its_query_cannot_find_is_flagged_never_failed,
    |db: Db| async move {
        let server = MockServer::start().await;
        let Some(app) = gateway(db, &server, AUTHMS).await else {
            return;
        };
        Mock::given(method("POST"))
            .and(path("/wallets/usr_abc123/refund"))
            .respond_with(lost(json!({"code": 200, "message": "success", "data": {}})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/wallets/usr_abc123/transactions"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"code": 200, "data": [], "message": "success"})),
            )
            .mount(&server)
            .await;
        let created = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "txn_lost_1", "amount": "50.00", "currency": "CNY", "customer_id": "usr_abc123"}),
            )
            .await;
        assert_eq!(created["status"], "pending", "{created}");
        let id = created["id"].as_str().expect("id").to_owned();
        let seen = wait_for_refund(&app, &id, Duration::from_secs(10), flagged).await;
        assert_eq!(seen["status"], "pending", "never failed: {seen}");
        assert!(flagged(&seen), "{seen}");
        // More status queries come and find nothing: it stays pending, flagged once, and is
        // never sent again.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let later = app.get_json(ACME_KEY, &format!("/v1/refunds/{id}")).await;
        assert_eq!(later["status"], "pending", "{later}");
        assert_eq!(
            attention_reasons(&app, &id).await,
            ["provider_has_no_record"]
        );
        assert_eq!(
            received(&server, "POST", "/wallets").await,
            1,
            "never re-sent"
        );
        assert!(received(&server, "GET", "/wallets").await >= 2);

        // A late record still settles it.
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/wallets/usr_abc123/transactions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "code": 200, "message": "success",
                "data": [{"id": "txn_rfd_late", "type": "refund", "status": "completed",
                          "amount": "50.00", "currency": "CNY", "reference_id": id}]
            })))
            .mount(&server)
            .await;
        let settled = wait_for_refund(&app, &id, Duration::from_secs(10), |r| {
            r["status"] == "succeeded"
        })
        .await;
        assert_eq!(settled["status"], "succeeded", "{settled}");
        assert_eq!(settled["provider_refund_id"], "txn_rfd_late");
        assert_eq!(received(&server, "POST", "/wallets").await, 0);
    }
);

both_backends!(
    an_efundpay_refund_whose_query_finds_nothing_is_sent_once_only,
    |db: Db| async move {
        let server = MockServer::start().await;
        let section = "[[routes]]\nprovider = \"efundpay\"\n\n[providers.efundpay]\ntoken = \"t\"\nmerchant_account_id = \"m\"\nwebhook_secret = \"w\"";
        let Some(app) = gateway(db, &server, section).await else {
            return;
        };
        Mock::given(method("POST"))
            .and(path("/v4/transactions/pay_lost_1/refunds"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v4/transactions/pay_lost_1/refunds"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
            .mount(&server)
            .await;
        let created = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_lost_1", "amount": "12.99", "currency": "EUR"}),
            )
            .await;
        assert_eq!(created["status"], "pending", "a 503 is an unknown outcome");
        let id = created["id"].as_str().expect("id").to_owned();
        let seen = wait_for_refund(&app, &id, Duration::from_secs(10), flagged).await;
        assert!(flagged(&seen), "{seen}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let later = app.get_json(ACME_KEY, &format!("/v1/refunds/{id}")).await;
        assert_eq!(later["status"], "pending", "{later}");
        assert_eq!(
            received(&server, "POST", "/v4/").await,
            1,
            "eFundPay promises no duplicate refusal: never re-sent"
        );
        assert!(events(&app, &id)
            .await
            .iter()
            .all(|e| e["kind"] != "resent"));

        // An operator who confirmed with eFundPay resolves it.
        let resolved: Value = app
            .client
            .post(format!("{}/v1/refunds/{id}/resolve", app.address))
            .bearer_auth(OPERATOR_KEY)
            .json(&json!({"status": "failed", "reason": "eFundPay support: never received"}))
            .send()
            .await
            .expect("resolve")
            .json()
            .await
            .expect("json");
        assert_eq!(resolved["status"], "failed", "{resolved}");
        assert_eq!(resolved["failure_code"], "resolved_by_operator");
    }
);

both_backends!(
    a_trusted_provider_gets_a_refund_it_has_no_record_of_resent_once_and_never_twice,
    |db: Db| async move {
        let server = MockServer::start().await;
        let section = "[[routes]]\nprovider = \"efundpay\"\n\n[providers.efundpay]\ntoken = \"t\"\nmerchant_account_id = \"m\"\nwebhook_secret = \"w\"\ntrust_not_found = true\ntrust_resend = true";
        let Some(app) = gateway(db, &server, section).await else {
            return;
        };
        // Every send is lost, every query finds nothing.
        Mock::given(method("POST"))
            .and(path("/v4/transactions/pay_lost_2/refunds"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v4/transactions/pay_lost_2/refunds"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
            .mount(&server)
            .await;
        let created = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_lost_2", "amount": "12.99", "currency": "EUR"}),
            )
            .await;
        let id = created["id"].as_str().expect("id").to_owned();
        let done = wait_for_refund(&app, &id, Duration::from_secs(15), |r| {
            r["status"] == "failed"
        })
        .await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["failure_code"], "provider_unavailable");
        assert!(
            done["failure_message"]
                .as_str()
                .is_some_and(|m| m.contains("no record")),
            "{done}"
        );
        let kinds: Vec<Value> = events(&app, &id)
            .await
            .iter()
            .map(|e| e["kind"].clone())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| *k == "resent").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            received(&server, "POST", "/v4/").await,
            2,
            "sent, then re-sent once: never twice"
        );
    }
);

/// e-Buy's answer envelope (unsigned: e-Buy's answers are verified only when signed).
fn ebuy_answer(content: Value) -> Value {
    json!({"uuid": "20250317-k3x9q2m8v7b1n4c6z0a5s8d2f7g1h3j9", "success": true,
           "action": "refund", "timestamp": 1742226986532_i64, "errorCode": "",
           "errorMessage": "", "content": content})
}

fn ebuy_line(fen: &str) -> Value {
    json!({"refundAmount": fen, "refundStatus": "SUCCESS"})
}

const EBUY: &str = "[[routes]]\nprovider = \"ebuy\"\ncurrency = [\"CNY\"]\n\n[providers.ebuy]\napp_id = \"a\"\napp_secret = \"s\"";

both_backends!(
    an_ebuy_success_that_does_not_prove_its_amount_books_nothing,
    |db: Db| async move {
        let server = MockServer::start().await;
        let Some(app) = gateway(db, &server, EBUY).await else {
            return;
        };
        let answers = [
            // No refundAmount (the document requires it) and a cash line of 1.00 for 12.50.
            json!({"outTradeNo": "ORDER_1", "refundTime": "2025-03-17 23:56:26",
                   "cashRefund": ebuy_line("100"), "cardRefund": ebuy_line("0"),
                   "couponRefund": ebuy_line("0"), "pointsRefund": ebuy_line("0")}),
            // Every amount "0".
            json!({"outTradeNo": "ORDER_2", "refundTime": "2025-03-17 23:56:26",
                   "refundAmount": "0", "cashRefund": ebuy_line("0"), "cardRefund": ebuy_line("0"),
                   "couponRefund": ebuy_line("0"), "pointsRefund": ebuy_line("0")}),
            // The amount asked, but lines that do not add up to it.
            json!({"outTradeNo": "ORDER_3", "refundTime": "2025-03-17 23:56:26",
                   "refundAmount": "1250", "cashRefund": ebuy_line("100"), "cardRefund": ebuy_line("0"),
                   "couponRefund": ebuy_line("0"), "pointsRefund": ebuy_line("0")}),
        ];
        for (i, content) in answers.into_iter().enumerate() {
            server.reset().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_json(ebuy_answer(content)))
                .mount(&server)
                .await;
            let created = app
                .create(
                    ACME_KEY,
                    None,
                    &json!({"payment_id": format!("ORDER_{}", i + 1), "amount": "12.50", "currency": "CNY"}),
                )
                .await;
            assert_eq!(created["status"], "pending", "case {i}: {created}");
            assert_eq!(created["requires_attention"], true, "case {i}: {created}");
            let id = created["id"].as_str().expect("id");
            assert_eq!(
                attention_reasons(&app, id)
                    .await
                    .first()
                    .map(String::as_str),
                Some("amount_mismatch"),
                "case {i}"
            );
        }
        // Nothing was booked: every refund pending, no clearing balance.
        let summary: Value = app
            .get_json(OPERATOR_KEY, "/v1/reconciliation/summary")
            .await;
        let by_status = summary["by_status"].as_array().expect("summary");
        assert!(
            by_status.iter().all(|t| t["status"] == "pending"),
            "nothing booked: {summary}"
        );
        assert_eq!(
            by_status
                .iter()
                .map(|t| t["count"].as_i64().unwrap_or(0))
                .sum::<i64>(),
            3
        );
        assert_eq!(summary["requires_attention"]["count"], 3);
        assert!(
            summary["clearing_balances"]
                .as_array()
                .is_some_and(|b| b.iter().all(|b| b["balance"] == "0.00")),
            "{summary}"
        );
    }
);

both_backends!(
    a_balanced_authms_transfer_from_the_customer_to_the_merchant_is_never_the_customers_refund,
    |db: Db| async move {
        let server = MockServer::start().await;
        let Some(app) = gateway(db, &server, AUTHMS).await else {
            return;
        };
        let leg = |amount: &str, before: &str, after: &str, kind: &str| {
            json!({"amount": amount, "balance_before": before, "balance_after": after,
                   "currency": "CNY", "status": "completed", "type": kind, "id": format!("txn_{kind}")})
        };
        // Balanced, and the wrong way round: the customer's wallet pays the merchant's.
        Mock::given(method("POST"))
            .and(path("/wallets/transfer"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "code": 200, "message": "success",
                "data": {
                    "from_transaction": leg("30.00", "100.00", "70.00", "transfer_out"),
                    "from_wallet": {"user_id": "usr_customer"},
                    "to_transaction": leg("30.00", "500.00", "530.00", "transfer_in"),
                    "to_wallet": {"user_id": "usr_merchant"}
                }
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"code": 200, "data": [], "message": "success"})),
            )
            .mount(&server)
            .await;
        let created = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "txn_transfer_1", "amount": "30.00", "currency": "CNY",
                        "customer_id": "usr_customer",
                        "provider_options": {"authms": {"method": "transfer"}}}),
            )
            .await;
        assert_eq!(created["status"], "pending", "{created}");
        assert_eq!(created["requires_attention"], true, "{created}");
        let id = created["id"].as_str().expect("id");
        assert_eq!(
            attention_reasons(&app, id)
                .await
                .first()
                .map(String::as_str),
            Some("answer_contradicts_request")
        );
    }
);

/// e-Buy answering every refund with `fen` refunded in cash.
async fn ebuy_refunds(server: &MockServer, fen: &str, times: Option<u64>) {
    let content = json!({"outTradeNo": "ORDER_PAID", "refundTime": "2025-03-17 23:56:26",
        "refundAmount": fen, "cashRefund": ebuy_line(fen), "cardRefund": ebuy_line("0"),
        "couponRefund": ebuy_line("0"), "pointsRefund": ebuy_line("0")});
    let mock = Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ebuy_answer(content)));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

both_backends!(
    an_amount_learnt_beyond_the_refundable_is_booked_as_reported_and_flagged,
    |db: Db| async move {
        let server = MockServer::start().await;
        let Some(app) = gateway(db, &server, EBUY).await else {
            return;
        };
        ebuy_refunds(&server, "6000", Some(1)).await;
        ebuy_refunds(&server, "5000", None).await;
        let first = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "ORDER_PAID", "amount": "60.00", "payment_amount": "100.00", "currency": "CNY"}),
            )
            .await;
        assert_eq!(first["status"], "succeeded", "{first}");
        // The whole cash asset, sized by e-Buy: it reports 50.00 where 40.00 was left.
        let second = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "ORDER_PAID", "currency": "CNY",
                        "provider_options": {"ebuy": {"asset_type": "cash"}}}),
            )
            .await;
        assert_eq!(second["status"], "succeeded", "the money moved: {second}");
        assert_eq!(second["amount"], "50.00");
        assert_eq!(second["requires_attention"], true, "{second}");
        let id = second["id"].as_str().expect("id");
        let flags: Vec<Value> = events(&app, id)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "requires_attention")
            .collect();
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!(flags[0]["detail"]["reason"], "exceeds_refundable");
        assert_eq!(flags[0]["detail"]["refundable"], "40.00");
    }
);

both_backends!(
    an_operator_never_resolves_a_refund_for_more_than_was_refundable,
    |db: Db| async move {
        let server = MockServer::start().await;
        let Some(app) = gateway(db, &server, EBUY).await else {
            return;
        };
        ebuy_refunds(&server, "6000", Some(1)).await;
        // Then e-Buy's answers are lost, and its queries find nothing.
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let first = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "ORDER_OP", "amount": "60.00", "payment_amount": "100.00", "currency": "CNY"}),
            )
            .await;
        assert_eq!(first["status"], "succeeded", "{first}");
        let unsized_refund = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "ORDER_OP", "currency": "CNY",
                        "provider_options": {"ebuy": {"asset_type": "cash"}}}),
            )
            .await;
        assert_eq!(unsized_refund["status"], "pending", "{unsized_refund}");
        assert_eq!(unsized_refund["amount"], Value::Null);
        let id = unsized_refund["id"].as_str().expect("id");
        let resolve = |amount: &'static str| {
            app.client
                .post(format!("{}/v1/refunds/{id}/resolve", app.address))
                .bearer_auth(OPERATOR_KEY)
                .json(
                    &json!({"status": "succeeded", "reason": "e-Buy statement", "amount": amount}),
                )
                .send()
        };
        let beyond = resolve("50.00").await.expect("resolve");
        assert_eq!(beyond.status().as_u16(), 400);
        let error: Value = beyond.json().await.expect("json");
        assert_eq!(
            error["error"]["code"], "amount_exceeds_refundable",
            "{error}"
        );
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("40.00")),
            "{error}"
        );
        let within = resolve("40.00").await.expect("resolve");
        assert_eq!(within.status().as_u16(), 200);
        let resolved: Value = within.json().await.expect("json");
        assert_eq!(resolved["status"], "succeeded");
        assert_eq!(resolved["amount"], "40.00");
    }
);
