//! The audit log's API (DESIGN §18), on SQLite and PostgreSQL: operators only, newest first,
//! paged like the refunds list, filtered by actor, kind and time.

use serde_json::{json, Value};

use refund_provider::ProviderError;

use crate::both_backends;
use crate::helpers::{assert_error, fake, spawn_app, Db, Script, ACME_KEY, OPERATOR_KEY};

both_backends!(
    the_audit_log_pages_newest_first_filters_and_is_for_operators_only,
    |db: Db| async move {
        let provider = fake(Script::Fail(ProviderError::unknown(
            "timeout after sending",
        )));
        let Some(app) = spawn_app(db, provider).await else {
            return;
        };
        let mut ids = Vec::new();
        for n in 0..3 {
            let refund: Value = app
                .create(
                    ACME_KEY,
                    None,
                    &json!({"payment_id": format!("pay_audit_{n}"), "amount": "5.00", "currency": "EUR"}),
                )
                .await;
            let id = refund["id"].as_str().expect("id").to_owned();
            let response = app
                .client
                .post(format!("{}/v1/refunds/{id}/resolve", app.address))
                .bearer_auth(OPERATOR_KEY)
                .json(&json!({"status": "failed", "reason": format!("case {n}")}))
                .send()
                .await
                .expect("resolve");
            assert_eq!(response.status().as_u16(), 200);
            ids.push(id);
        }
        assert_error(
            app.get(ACME_KEY, "/v1/audit_events").await,
            403,
            "operator_only",
        )
        .await;
        assert_error(
            app.get("sk_nobody", "/v1/audit_events").await,
            401,
            "api_key_invalid",
        )
        .await;
        assert_error(
            app.get(OPERATOR_KEY, "/v1/audit_events?kind=refund.deleted")
                .await,
            400,
            "parameter_invalid",
        )
        .await;

        let first = app.get_json(OPERATOR_KEY, "/v1/audit_events?limit=2").await;
        assert_eq!(first["object"], "list");
        assert_eq!(first["has_more"], true);
        let page: Vec<&Value> = first["data"].as_array().expect("data").iter().collect();
        assert_eq!(page[0]["target"], ids[2].as_str(), "newest first");
        assert_eq!(page[1]["target"], ids[1].as_str());
        let cursor = page[1]["id"].as_str().expect("id");
        let rest = app
            .get_json(
                OPERATOR_KEY,
                &format!("/v1/audit_events?limit=2&starting_after={cursor}"),
            )
            .await;
        assert_eq!(rest["has_more"], false);
        assert_eq!(rest["data"][0]["target"], ids[0].as_str());
        assert_eq!(rest["data"][0]["detail"]["reason"], "case 0");

        for (query, count) in [
            ("actor=finance", 3),
            ("actor=signal", 0),
            ("kind=refund.resolved", 3),
            ("kind=statement.settled", 0),
            ("created_gte=2000-01-01T00:00:00Z", 3),
            ("created_lt=2000-01-01T00:00:00Z", 0),
        ] {
            let list = app
                .get_json(OPERATOR_KEY, &format!("/v1/audit_events?{query}"))
                .await;
            assert_eq!(
                list["data"].as_array().map(Vec::len),
                Some(count),
                "{query}: {list}"
            );
        }
    }
);
