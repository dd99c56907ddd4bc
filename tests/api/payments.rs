//! Whose payment a refund draws on and how much of it is left (DESIGN §14), on SQLite and
//! PostgreSQL: ownership on a shared account, currency, the captured amount, the refundable
//! rest (omitted amounts, failed refunds giving back) and concurrent refunds that can never
//! exceed the payment.

use std::sync::Arc;

use serde_json::{json, Value};

use refund_provider::{FailureCode, ProviderError};

use crate::both_backends;
use crate::helpers::{assert_error, fake, spawn_app, Db, Script, TestApp, ACME_KEY, GLOBEX_KEY};

fn refund_body(payment: &str, amount: Option<&str>, payment_amount: Option<&str>) -> Value {
    let mut body = json!({"payment_id": payment, "currency": "EUR"});
    if let Some(amount) = amount {
        body["amount"] = json!(amount);
    }
    if let Some(captured) = payment_amount {
        body["payment_amount"] = json!(captured);
    }
    body
}

async fn created(app: &TestApp, key: &str, body: &Value) -> Value {
    let response = app.post_refund(key, None, body).await;
    assert_eq!(response.status().as_u16(), 201, "{body}");
    response.json().await.expect("json")
}

async fn rollup(app: &TestApp, key: &str, payment: &str) -> Value {
    let response = app
        .get(key, &format!("/v1/payments/{payment}/refunds"))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("json")
}

async fn refund_count(app: &TestApp, key: &str) -> usize {
    let page: Value = app.get_json(key, "/v1/refunds?limit=100").await;
    page["data"].as_array().map_or(0, Vec::len)
}

both_backends!(
    another_merchants_payment_on_a_shared_account_is_not_found_and_nothing_is_sent,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_shared", Some("5.00"), None),
        )
        .await;
        let error = assert_error(
            app.post_refund(
                GLOBEX_KEY,
                None,
                &refund_body("pay_shared", Some("5.00"), None),
            )
            .await,
            404,
            "payment_not_found",
        )
        .await;
        assert_eq!(error["type"], "not_found");
        assert_eq!(error["param"], "payment_id");
        assert_eq!(provider.calls(), 1, "globex's refund was never sent");
        assert_eq!(refund_count(&app, GLOBEX_KEY).await, 0, "nothing recorded");
        // The owner keeps refunding it.
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_shared", Some("1.00"), None),
        )
        .await;
    }
);

both_backends!(
    a_taken_reference_answers_the_same_whoever_owns_the_payment,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_acmes", Some("5.00"), None),
        )
        .await;
        let mut own = refund_body("pay_globex", Some("1.00"), None);
        own["reference"] = json!("ref-1");
        created(&app, GLOBEX_KEY, &own).await;
        // globex reuses its reference on its own payment, on a new one and on acme's: the
        // same 409 each time, so the answer never says who owns a payment.
        for (payment, captured) in [
            ("pay_globex", None),
            ("pay_new", None),
            ("pay_acmes", None),
            ("pay_acmes", Some("100.00")),
        ] {
            let mut body = refund_body(payment, Some("1.00"), captured);
            body["reference"] = json!("ref-1");
            assert_error(
                app.post_refund(GLOBEX_KEY, None, &body).await,
                409,
                "reference_in_use",
            )
            .await;
        }
        assert_eq!(provider.calls(), 2, "nothing more was sent");
    }
);

both_backends!(
    a_refund_in_another_currency_than_the_payments_is_refused,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        created(&app, ACME_KEY, &refund_body("pay_cur", Some("5.00"), None)).await;
        let error = assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_cur", "amount": "5.00", "currency": "USD"}),
            )
            .await,
            400,
            "currency_mismatch",
        )
        .await;
        assert_eq!(error["param"], "currency");
        assert!(error["message"].as_str().is_some_and(|m| m.contains("EUR")));
        assert_eq!(provider.calls(), 1);
    }
);

both_backends!(
    the_first_payment_amount_given_is_kept_and_another_is_refused,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        // Unknown at first, then given, then the same again: all accepted.
        created(&app, ACME_KEY, &refund_body("pay_pa", Some("1.00"), None)).await;
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_pa", Some("1.00"), Some("50.00")),
        )
        .await;
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_pa", Some("1.00"), Some("50.00")),
        )
        .await;
        let error = assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &refund_body("pay_pa", Some("1.00"), Some("60.00")),
            )
            .await,
            400,
            "payment_amount_mismatch",
        )
        .await;
        assert_eq!(error["param"], "payment_amount");
        assert!(error["message"]
            .as_str()
            .is_some_and(|m| m.contains("50.00")));
        assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &refund_body("pay_pa", Some("1.00"), Some("12.345")),
            )
            .await,
            400,
            "amount_invalid",
        )
        .await;
        assert_eq!(provider.calls(), 3);
        let rollup = rollup(&app, ACME_KEY, "pay_pa").await;
        assert_eq!(
            rollup["payment_amount"],
            json!([{"currency": "EUR", "amount": "50.00"}])
        );
        assert_eq!(
            rollup["refundable"],
            json!([{"currency": "EUR", "amount": "47.00"}])
        );
    }
);

both_backends!(
    a_refund_past_the_refundable_rest_is_refused_with_the_rest_and_neither_recorded_nor_sent,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_x", Some("30.00"), Some("50.00")),
        )
        .await;
        let error = assert_error(
            app.post_refund(
                ACME_KEY,
                Some("over-1"),
                &refund_body("pay_x", Some("20.01"), None),
            )
            .await,
            400,
            "amount_exceeds_refundable",
        )
        .await;
        assert_eq!(error["type"], "invalid_request");
        assert_eq!(error["param"], "amount");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("20.00")),
            "the message says what is left: {error}"
        );
        assert_eq!(provider.calls(), 1);
        assert_eq!(refund_count(&app, ACME_KEY).await, 1);
        // Exactly the rest is fine, and then nothing is left.
        created(&app, ACME_KEY, &refund_body("pay_x", Some("20.00"), None)).await;
        assert_error(
            app.post_refund(ACME_KEY, None, &refund_body("pay_x", Some("0.01"), None))
                .await,
            400,
            "amount_exceeds_refundable",
        )
        .await;
        assert_eq!(provider.calls(), 2);
    }
);

both_backends!(
    an_omitted_amount_refunds_the_rest_and_nothing_left_is_refused,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        created(
            &app,
            ACME_KEY,
            &refund_body("pay_rest", Some("12.50"), Some("50.00")),
        )
        .await;
        let rest = created(&app, ACME_KEY, &refund_body("pay_rest", None, None)).await;
        assert_eq!(rest["amount"], "37.50");
        assert_eq!(rest["amount_minor"], 3750);
        assert_eq!(rest["status"], "succeeded");
        assert_eq!(
            provider.sent_amounts(),
            vec![Some("12.50".to_owned()), Some("37.50".to_owned())],
            "the rest is sent as the amount"
        );
        assert_error(
            app.post_refund(ACME_KEY, None, &refund_body("pay_rest", None, None))
                .await,
            400,
            "amount_exceeds_refundable",
        )
        .await;
        // Without a known payment amount, a provider that needs one still says so.
        assert_error(
            app.post_refund(ACME_KEY, None, &refund_body("pay_unknown", None, None))
                .await,
            400,
            "parameter_missing",
        )
        .await;
        assert_eq!(provider.calls(), 2);
    }
);

both_backends!(a_failed_refund_gives_its_amount_back, |db: Db| async move {
    let provider = fake(Script::Succeed);
    let Some(app) = spawn_app(db, provider.clone()).await else {
        return;
    };
    provider.then(Script::Fail(ProviderError::rejected(
        FailureCode::InsufficientBalance,
        "too low",
    )));
    let failed = created(
        &app,
        ACME_KEY,
        &refund_body("pay_back", Some("40.00"), Some("50.00")),
    )
    .await;
    assert_eq!(failed["status"], "failed");
    let again = created(
        &app,
        ACME_KEY,
        &refund_body("pay_back", Some("50.00"), None),
    )
    .await;
    assert_eq!(again["status"], "succeeded");
    let rollup = rollup(&app, ACME_KEY, "pay_back").await;
    assert_eq!(
        rollup["refundable"],
        json!([{"currency": "EUR", "amount": "0.00"}])
    );
});

/// Twelve concurrent 10.00 refunds of a 50.00 payment (Hyperswitch #13182): exactly five are
/// created and sent, seven refused, whatever the interleaving.
async fn concurrent_refunds_never_exceed_the_payment(db: Db) {
    const REQUESTS: usize = 12;
    let provider = fake(Script::Succeed);
    let Some(app) = spawn_app(db, provider.clone()).await else {
        return;
    };
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post_refund(
                    ACME_KEY,
                    Some(&format!("race-{i}")),
                    &refund_body("pay_race", Some("10.00"), Some("50.00")),
                )
                .await
                .status()
                .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 400).count();
    println!(
        "{db:?}: {REQUESTS} requests, {created} created, {refused} refused, {} provider calls",
        provider.calls()
    );
    assert_eq!(created, 5, "{statuses:?}");
    assert_eq!(refused, REQUESTS - 5, "{statuses:?}");
    assert_eq!(provider.calls(), 5);
    let rollup = rollup(&app, ACME_KEY, "pay_race").await;
    assert_eq!(
        rollup["refunded"],
        json!([{"currency": "EUR", "amount": "50.00"}])
    );
}

both_backends!(
    twelve_concurrent_refunds_of_a_payment_never_exceed_it,
    |db: Db| async move { concurrent_refunds_never_exceed_the_payment(db).await }
);
