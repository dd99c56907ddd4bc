//! Operators (DESIGN §14), on SQLite and PostgreSQL: reading across merchants and narrowing
//! with `?merchant=`, the actions only operators take (resolve) and the one they never take
//! (creating refunds), and `GET /v1/me`.

use serde_json::{json, Value};

use refund_provider::ProviderError;

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app, Db, Script, TestApp, ACME_KEY, GLOBEX_KEY, OPERATOR_KEY,
};

async fn refund(app: &TestApp, key: &str, payment: &str, amount: &str) -> Value {
    let response = app
        .post_refund(
            key,
            None,
            &json!({"payment_id": payment, "amount": amount, "currency": "EUR", "payment_amount": "100.00"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("json")
}

async fn json_at(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get(key, path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.expect("json")
}

fn merchants_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["merchant_id"].as_str().expect("merchant").to_owned())
        .collect();
    ids.sort();
    ids
}

async fn resolve(app: &TestApp, key: &str, id: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/refunds/{id}/resolve", app.address))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("request")
}

both_backends!(
    an_operator_reads_every_merchant_and_narrows_to_one,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        refund(&app, ACME_KEY, "pay_a", "10.00").await;
        let globex = refund(&app, GLOBEX_KEY, "pay_g", "3.00").await;
        let globex_id = globex["id"].as_str().expect("id");

        let all = json_at(&app, OPERATOR_KEY, "/v1/refunds").await;
        assert_eq!(merchants_of(&all), ["acme", "globex"]);
        let acme = json_at(&app, OPERATOR_KEY, "/v1/refunds?merchant=acme").await;
        assert_eq!(merchants_of(&acme), ["acme"]);
        let one = json_at(&app, OPERATOR_KEY, &format!("/v1/refunds/{globex_id}")).await;
        assert_eq!(one["merchant_id"], "globex");
        let events = json_at(
            &app,
            OPERATOR_KEY,
            &format!("/v1/refunds/{globex_id}/events"),
        )
        .await;
        assert!(!events["data"].as_array().expect("events").is_empty());

        let summary = json_at(&app, OPERATOR_KEY, "/v1/reconciliation/summary").await;
        assert_eq!(summary["merchant_id"], Value::Null);
        let succeeded: i64 = summary["by_status"]
            .as_array()
            .expect("groups")
            .iter()
            .filter(|g| g["status"] == "succeeded")
            .map(|g| g["count"].as_i64().expect("count"))
            .sum();
        assert_eq!(succeeded, 2);
        let narrowed = json_at(
            &app,
            OPERATOR_KEY,
            "/v1/reconciliation/summary?merchant=globex",
        )
        .await;
        assert_eq!(narrowed["merchant_id"], "globex");

        let payment = json_at(&app, OPERATOR_KEY, "/v1/payments/pay_g/refunds").await;
        assert_eq!(payment["data"].as_array().expect("data").len(), 1);
        assert_eq!(
            payment["refundable"],
            json!([{"currency": "EUR", "amount": "97.00"}])
        );
        let export = app
            .get(OPERATOR_KEY, "/v1/refunds/export?format=jsonl")
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(export.lines().count(), 2);
        let export = app
            .get(
                OPERATOR_KEY,
                "/v1/refunds/export?format=jsonl&merchant=acme",
            )
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(export.lines().count(), 1);

        // An unknown merchant is a bad parameter; a merchant naming another is not allowed.
        let error = assert_error(
            app.get(OPERATOR_KEY, "/v1/refunds?merchant=nobody").await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "merchant");
        let error = assert_error(
            app.get(ACME_KEY, "/v1/refunds?merchant=globex").await,
            403,
            "operator_only",
        )
        .await;
        assert_eq!(error["type"], "permission");
        let own = json_at(&app, ACME_KEY, "/v1/refunds?merchant=acme").await;
        assert_eq!(merchants_of(&own), ["acme"]);
        assert_error(
            app.get(ACME_KEY, &format!("/v1/refunds/{globex_id}")).await,
            404,
            "refund_not_found",
        )
        .await;
    }
);

both_backends!(
    an_operator_key_never_creates_a_refund,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        let error = assert_error(
            app.post_refund(
                OPERATOR_KEY,
                None,
                &json!({"payment_id": "pay_op", "amount": "1.00", "currency": "EUR"}),
            )
            .await,
            403,
            "merchant_only",
        )
        .await;
        assert_eq!(error["type"], "permission");
        assert_eq!(provider.calls(), 0);
    }
);

both_backends!(
    an_operator_resolves_a_stuck_refund_with_the_same_ledger_and_history_as_any_change,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        provider.then(Script::Fail(ProviderError::unknown(
            "timeout after sending",
        )));
        let stuck = refund(&app, ACME_KEY, "pay_stuck", "25.00").await;
        assert_eq!(stuck["status"], "pending");
        let id = stuck["id"].as_str().expect("id").to_owned();
        let body = json!({"status": "succeeded", "reason": "confirmed on the provider's dashboard", "provider_refund_id": "prov_manual_1"});

        let error = assert_error(
            resolve(&app, ACME_KEY, &id, &body).await,
            403,
            "operator_only",
        )
        .await;
        assert_eq!(error["type"], "permission");
        assert_error(
            resolve(
                &app,
                OPERATOR_KEY,
                "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e",
                &body,
            )
            .await,
            404,
            "refund_not_found",
        )
        .await;

        let response = resolve(&app, OPERATOR_KEY, &id, &body).await;
        assert_eq!(response.status().as_u16(), 200);
        let resolved: Value = response.json().await.expect("json");
        assert_eq!(resolved["status"], "succeeded");
        assert_eq!(resolved["provider_refund_id"], "prov_manual_1");

        let events = json_at(&app, ACME_KEY, &format!("/v1/refunds/{id}/events")).await;
        let last = events["data"]
            .as_array()
            .and_then(|e| e.last())
            .cloned()
            .expect("an event");
        assert_eq!(last["source"], "operator");
        assert_eq!(last["status"], "succeeded");
        assert_eq!(last["previous_status"], "pending");
        assert_eq!(last["detail"]["operator"], "finance");
        assert_eq!(
            last["detail"]["reason"],
            "confirmed on the provider's dashboard"
        );

        // The ledger posted as for any success: the provider owes it.
        let summary = json_at(&app, ACME_KEY, "/v1/reconciliation/summary").await;
        assert_eq!(
            summary["clearing_balances"][0]["balance"], "-25.00",
            "{summary}"
        );

        // Final now: it never moves again.
        let again = json!({"status": "failed", "reason": "changed my mind"});
        let error = assert_error(
            resolve(&app, OPERATOR_KEY, &id, &again).await,
            409,
            "refund_final",
        )
        .await;
        assert_eq!(error["type"], "conflict");
        let unchanged = json_at(&app, ACME_KEY, &format!("/v1/refunds/{id}")).await;
        assert_eq!(unchanged["status"], "succeeded");

        // The resolve, and only it (the refused second one is not), is in the audit log.
        let audit = json_at(&app, OPERATOR_KEY, "/v1/audit_events").await;
        let entries = audit["data"].as_array().expect("entries");
        assert_eq!(entries.len(), 1, "{audit}");
        assert_eq!(entries[0]["kind"], "refund.resolved");
        assert_eq!(entries[0]["actor"], "finance");
        assert_eq!(entries[0]["target"], id.as_str());
        assert_eq!(
            entries[0]["detail"]["reason"],
            "confirmed on the provider's dashboard"
        );
        assert_eq!(entries[0]["detail"]["previous_status"], "pending");
    }
);

both_backends!(
    a_refund_resolved_as_failed_says_so_and_gives_its_amount_back,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        provider.then(Script::Processing);
        let open = refund(&app, ACME_KEY, "pay_open", "100.00").await;
        assert_eq!(open["status"], "processing");
        let id = open["id"].as_str().expect("id").to_owned();
        assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_open", "amount": "1.00", "currency": "EUR"}),
            )
            .await,
            400,
            "amount_exceeds_refundable",
        )
        .await;
        let response = resolve(
            &app,
            OPERATOR_KEY,
            &id,
            &json!({"status": "failed", "reason": "the provider confirmed it never paid out"}),
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        let resolved: Value = response.json().await.expect("json");
        assert_eq!(resolved["status"], "failed");
        assert_eq!(resolved["failure_code"], "resolved_by_operator");
        assert_eq!(
            resolved["failure_message"],
            "the provider confirmed it never paid out"
        );
        refund(&app, ACME_KEY, "pay_open", "100.00").await;
    }
);

both_backends!(me_tells_a_key_its_role_and_merchants, |db: Db| async move {
    let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
        return;
    };
    assert_eq!(
        json_at(&app, ACME_KEY, "/v1/me").await,
        json!({"object": "principal", "role": "merchant", "id": "acme", "merchants": ["acme"], "key_expires_at": null})
    );
    assert_eq!(
        json_at(&app, OPERATOR_KEY, "/v1/me").await,
        json!({"object": "principal", "role": "operator", "id": "finance", "merchants": ["acme", "globex"], "key_expires_at": null})
    );
    assert_error(app.get("sk_wrong", "/v1/me").await, 401, "api_key_invalid").await;
});
