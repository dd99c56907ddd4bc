//! `/openapi.json` describes request bodies field by field, every error answer with the error
//! schema, and the real formats of query parameters (DESIGN §5, §15); `ci/schemathesis.sh`
//! checks the running gateway against it.

use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

both_backends!(
    the_openapi_document_describes_bodies_errors_and_query_formats,
    |db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let doc: Value = app
            .client
            .get(format!("{}/openapi.json", app.address))
            .send()
            .await
            .expect("openapi")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));

        let create = &doc["paths"]["/v1/refunds"]["post"];
        let body = &doc["components"]["schemas"]["CreateRefundRequest"];
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreateRefundRequest"
        );
        assert_eq!(
            body["required"],
            serde_json::json!(["payment_id", "currency"])
        );
        assert_eq!(body["additionalProperties"], false);
        for field in [
            "payment_id",
            "amount",
            "payment_amount",
            "currency",
            "reason",
            "provider",
            "reference",
            "customer_id",
            "metadata",
            "provider_options",
        ] {
            assert!(body["properties"][field].is_object(), "{field}");
        }
        assert!(body["properties"]["amount"]["pattern"].is_string());
        let currencies = body["properties"]["currency"]["enum"]
            .as_array()
            .expect("enum");
        assert!(currencies.iter().any(|c| c == "JPY") && currencies.iter().any(|c| c == "KWD"));
        // Every provider of the registry, with its own options' schema.
        let mut ids: Vec<Value> = refund_gateway::providers::PLUGINS
            .iter()
            .map(|plugin| {
                let options = &body["properties"]["provider_options"]["properties"][plugin.id()];
                assert_eq!(options, &plugin.options_schema(), "{}", plugin.id());
                Value::from(plugin.id())
            })
            .collect();
        assert!(
            body["properties"]["provider_options"]["properties"]["authms"]["properties"]["method"]
                .is_object()
        );
        ids.push(Value::Null);
        assert_eq!(body["properties"]["provider"]["enum"], Value::Array(ids));
        for status in [
            "400", "401", "403", "404", "409", "413", "422", "429", "503",
        ] {
            assert!(
                create["responses"][status].is_object(),
                "create answers {status}"
            );
        }
        let too_many = &doc["components"]["responses"]["TooManyRequests"];
        assert!(too_many["headers"]["Retry-After"]["required"] == true);
        assert_eq!(
            too_many["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );

        let list = doc["paths"]["/v1/refunds"]["get"]["parameters"]
            .as_array()
            .expect("parameters");
        let param = |name: &str| {
            list.iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{name}"))["schema"]
                .clone()
        };
        assert_eq!(param("created_gte")["format"], "date-time");
        assert_eq!(param("limit")["minimum"], 1);
        assert_eq!(param("limit")["maximum"], 100);
        assert_eq!(param("status")["enum"].as_array().map(Vec::len), Some(5));
        assert!(param("merchant")["pattern"].is_string());
        let statements = &doc["paths"]["/v1/reconciliation/statements/{provider}"]["post"];
        assert!(statements["requestBody"]["content"]["text/csv"].is_object());
        // GBK statements come as bytes; the report names every variance kind, batches included.
        assert!(statements["requestBody"]["content"]["application/octet-stream"].is_object());
        let report = &doc["components"]["schemas"]["ReconciliationReport"];
        let kinds = &report["properties"]["variances"]["items"]["properties"]["kind"]["enum"];
        assert!(
            kinds
                .as_array()
                .is_some_and(|k| k.len() == 6 && k.contains(&serde_json::json!("batch_mismatch"))),
            "{kinds}"
        );
        assert!(report["properties"]["by_kind"]["properties"]["batch_mismatch"].is_object());
        assert!(report["properties"]["settlement"]["properties"]["fees_posted"].is_object());
    }
);

both_backends!(
    a_period_whose_end_is_not_after_its_start_is_empty_not_an_error,
    |db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let answer = app
            .post_refund(
                ACME_KEY,
                None,
                &serde_json::json!({"payment_id": "pay_1", "amount": "1.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(answer.status().as_u16(), 201);
        let inverted = "from=2030-01-02T00:00:00Z&to=2020-01-01T00:00:00Z";
        let export = app
            .get(ACME_KEY, &format!("/v1/refunds/export?{inverted}"))
            .await;
        assert_eq!(export.status().as_u16(), 200);
        assert_eq!(
            export.text().await.expect("text").lines().count(),
            1,
            "header only"
        );
        let summary = app
            .get(ACME_KEY, &format!("/v1/reconciliation/summary?{inverted}"))
            .await;
        assert_eq!(summary.status().as_u16(), 200);
    }
);
