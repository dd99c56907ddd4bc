//! Creating, reading and listing refunds; provider outcomes; every error code; isolation.

use refund_provider::{FailureCode, ProviderError};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_error, assert_error_named, fake, spawn_app, spawn_app_with, Db, Script, TestApp,
    ACME_KEY, GLOBEX_KEY, OPERATOR_KEY,
};

fn body(amount: &str, currency: &str) -> Value {
    json!({"payment_id": "pay_123", "amount": amount, "currency": currency, "reason": "Product return", "metadata": {"order": "A-1001"}})
}

both_backends!(
    a_succeeded_refund_is_created_read_and_listed,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let response = app.post_refund(ACME_KEY, None, &body("12.99", "EUR")).await;
        assert_eq!(response.status().as_u16(), 201);
        assert!(response.headers().contains_key("x-request-id"));
        let refund: Value = response.json().await.expect("json");
        assert_eq!(refund["object"], "refund");
        assert_eq!(refund["status"], "succeeded");
        assert_eq!(refund["amount"], "12.99");
        assert_eq!(refund["amount_minor"], 1299);
        assert_eq!(refund["currency"], "EUR");
        assert_eq!(refund["merchant_id"], "acme");
        assert_eq!(refund["provider"], "scripted");
        assert_eq!(refund["metadata"]["order"], "A-1001");
        let id = refund["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("rf_"));
        assert_eq!(refund["provider_reference"], id.as_str());
        assert_eq!(refund["provider_refund_id"], format!("prov_{id}"));

        let fetched: Value = app.get_json(ACME_KEY, &format!("/v1/refunds/{id}")).await;
        assert_eq!(fetched, refund);

        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        let statuses: Vec<&str> = events["data"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["status"].as_str())
            .collect();
        assert_eq!(statuses, ["pending", "succeeded"]);
        assert_eq!(events["data"][0]["source"], "api");
        assert_eq!(events["data"][1]["source"], "provider");

        let list: Value = app.get_json(ACME_KEY, "/v1/refunds?status=succeeded").await;
        assert_eq!(list["object"], "list");
        assert_eq!(list["data"][0]["id"], id.as_str());
        assert_eq!(list["has_more"], false);
        assert_eq!(app.provider.calls(), 1);

        // The provider was asked with the merchant and its metadata (Stripe sends both).
        let sent = app.provider.requests();
        assert_eq!(sent[0].merchant_id.as_deref(), Some("acme"));
        assert_eq!(
            sent[0].metadata.get("order").map(String::as_str),
            Some("A-1001")
        );
        assert_eq!(sent[0].provider_refund_id, None, "nothing known yet");
    }
);

both_backends!(
    provider_outcomes_become_statuses_and_failure_codes,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        let cases = [
            (Script::Processing, "processing", None),
            (
                Script::Fail(ProviderError::rejected(
                    FailureCode::InsufficientBalance,
                    "wallet too low",
                )),
                "failed",
                Some("insufficient_balance"),
            ),
            (
                Script::Fail(ProviderError::misconfigured("401")),
                "failed",
                Some("provider_misconfigured"),
            ),
            (
                Script::Fail(ProviderError::unknown("timed out")),
                "pending",
                None,
            ),
        ];
        for (script, status, code) in cases {
            provider.then(script);
            let response = app.post_refund(ACME_KEY, None, &body("5.00", "USD")).await;
            assert_eq!(
                response.status().as_u16(),
                201,
                "a provider's answer is a refund, not an HTTP error"
            );
            let refund: Value = response.json().await.expect("json");
            assert_eq!(refund["status"], status);
            assert_eq!(refund["failure_code"].as_str(), code);
        }
    }
);

both_backends!(
    with_the_breaker_off_a_request_that_never_left_is_retried_twice_then_fails_unavailable,
    |db: Db| async move {
        let provider = fake(Script::Fail(ProviderError::not_sent("connection refused")));
        let breaker_off = "[providers.scripted.breaker]\nenabled = false\n";
        let Some(app) = spawn_app_with(db, provider.clone(), "", breaker_off).await else {
            return;
        };
        let refund: Value = app.create(ACME_KEY, None, &body("1.00", "EUR")).await;
        assert_eq!(refund["status"], "failed");
        assert_eq!(refund["failure_code"], "provider_unavailable");
        assert_eq!(provider.calls(), 3);
        // ... and a request that succeeds on the second try is one refund.
        provider.then(Script::Fail(ProviderError::not_sent("refused")));
        provider.then(Script::Succeed);
        let refund: Value = app.create(ACME_KEY, None, &body("1.00", "EUR")).await;
        assert_eq!(refund["status"], "succeeded");
        assert_eq!(provider.calls(), 5);
    }
);

both_backends!(
    an_unknown_outcome_is_never_retried_blindly,
    |db: Db| async move {
        let provider = fake(Script::Fail(ProviderError::unknown("HTTP 502")));
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        let refund: Value = app.create(ACME_KEY, None, &body("1.00", "EUR")).await;
        assert_eq!(refund["status"], "pending");
        assert_eq!(refund["failure_code"], Value::Null);
        assert_eq!(provider.calls(), 1);
    }
);

/// One request the gateway must refuse: its name (shown when the row fails), the request,
/// and the documented status, code and (when the row checks it) `param`.
struct Refused {
    name: &'static str,
    request: fn(&TestApp) -> reqwest::RequestBuilder,
    status: u16,
    code: &'static str,
    param: Option<&'static str>,
}

impl Refused {
    const fn new(
        name: &'static str,
        request: fn(&TestApp) -> reqwest::RequestBuilder,
        status: u16,
        code: &'static str,
    ) -> Self {
        Self {
            name,
            request,
            status,
            code,
            param: None,
        }
    }

    const fn param(self, param: &'static str) -> Self {
        Self {
            param: Some(param),
            ..self
        }
    }
}

/// `POST /v1/refunds` as acme with `body`.
fn create(app: &TestApp, body: &Value) -> reqwest::RequestBuilder {
    app.request(reqwest::Method::POST, "/v1/refunds")
        .bearer_auth(ACME_KEY)
        .json(body)
}

/// `body(…)` with `field` set to `value`.
fn body_with(field: &str, value: Value) -> Value {
    let mut body = body("1.00", "EUR");
    body[field] = value;
    body
}

/// Every error code a client can meet on the refund endpoints, before any provider call.
const REFUSED: &[Refused] = &[
    Refused::new(
        "no API key",
        |app| {
            app.request(reqwest::Method::POST, "/v1/refunds")
                .json(&body("1.00", "EUR"))
        },
        401,
        "api_key_missing",
    ),
    Refused::new(
        "a wrong API key",
        |app| {
            app.request(reqwest::Method::POST, "/v1/refunds")
                .bearer_auth("sk_wrong")
                .json(&body("1.00", "EUR"))
        },
        401,
        "api_key_invalid",
    ),
    Refused::new(
        "no payment_id",
        |app| create(app, &json!({"currency": "EUR", "amount": "1.00"})),
        400,
        "parameter_missing",
    ),
    Refused::new(
        "no amount",
        |app| create(app, &json!({"payment_id": "p", "currency": "EUR"})),
        400,
        "parameter_missing",
    ),
    Refused::new(
        "more decimals than EUR has",
        |app| create(app, &body("12.999", "EUR")),
        400,
        "amount_invalid",
    )
    .param("amount"),
    Refused::new(
        "decimals in JPY",
        |app| create(app, &body("1.5", "JPY")),
        400,
        "amount_invalid",
    ),
    Refused::new(
        "an amount as a JSON number",
        |app| {
            create(
                app,
                &json!({"payment_id": "p", "amount": 12.99, "currency": "EUR"}),
            )
        },
        400,
        "amount_invalid",
    ),
    Refused::new(
        "a lower-case currency",
        |app| create(app, &body("1.00", "eur")),
        400,
        "currency_unsupported",
    ),
    Refused::new(
        "a currency that does not exist",
        |app| create(app, &body("1.00", "XYZ")),
        400,
        "currency_unsupported",
    ),
    Refused::new(
        "an unknown provider",
        |app| create(app, &body_with("provider", json!("nowhere"))),
        400,
        "provider_unsupported",
    ),
    Refused::new(
        "a currency no route takes",
        |app| create(app, &body("1.00", "GBP")),
        422,
        "no_route",
    ),
    Refused::new(
        "an unknown field",
        |app| create(app, &body_with("surprise", json!(true))),
        400,
        "body_invalid",
    ),
    Refused::new(
        "broken JSON",
        |app| {
            app.request(reqwest::Method::POST, "/v1/refunds")
                .bearer_auth(ACME_KEY)
                .header("content-type", "application/json")
                .body("{")
        },
        400,
        "body_invalid",
    ),
    Refused::new(
        "JSON without its content type",
        |app| {
            app.request(reqwest::Method::POST, "/v1/refunds")
                .bearer_auth(ACME_KEY)
                .body(body("1.00", "EUR").to_string())
        },
        400,
        "body_invalid",
    ),
    Refused::new(
        "a body over the limit",
        |app| {
            create(
                app,
                &json!({"payment_id": "p", "currency": "EUR", "amount": "1.00", "reason": "x".repeat(70_000)}),
            )
        },
        413,
        "body_too_large",
    ),
    Refused::new(
        "a refund id nobody has",
        |app| read(app, "/v1/refunds/rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"),
        404,
        "refund_not_found",
    ),
    Refused::new(
        "a refund id of the wrong shape",
        |app| read(app, "/v1/refunds/not-an-id"),
        404,
        "refund_not_found",
    ),
    Refused::new(
        "a path that is no route",
        |app| read(app, "/v1/nothing-here"),
        404,
        "route_not_found",
    ),
    Refused::new(
        "DELETE on the refunds",
        |app| {
            app.request(reqwest::Method::DELETE, "/v1/refunds")
                .bearer_auth(ACME_KEY)
        },
        405,
        "method_not_allowed",
    ),
    Refused::new(
        "a list limit of 0",
        |app| read(app, "/v1/refunds?limit=0"),
        400,
        "parameter_invalid",
    ),
    Refused::new(
        "a list status that does not exist",
        |app| read(app, "/v1/refunds?status=done"),
        400,
        "parameter_invalid",
    ),
    Refused::new(
        "a list date that is no date",
        |app| read(app, "/v1/refunds?created_gte=yesterday"),
        400,
        "parameter_invalid",
    ),
];

/// `GET path` as acme.
fn read(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.request(reqwest::Method::GET, path)
        .bearer_auth(ACME_KEY)
}

both_backends!(
    every_error_code_has_the_documented_shape,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        for case in REFUSED {
            let response = (case.request)(&app).send().await.expect("send");
            let error = assert_error_named(case.name, response, case.status, case.code).await;
            if let Some(param) = case.param {
                assert_eq!(error["param"], param, "{}", case.name);
            }
        }
        a_reference_is_refused_twice_for_one_merchant_only(&app).await;
        assert_eq!(
            app.provider.calls(),
            2,
            "no rejected request reached the provider"
        );
    }
);

/// A merchant's second refund with one reference is a conflict; another merchant may use
/// the same reference (for a payment of its own).
async fn a_reference_is_refused_twice_for_one_merchant_only(app: &TestApp) {
    let referenced = body_with("reference", json!("refund-12345"));
    assert_eq!(
        app.post_refund(ACME_KEY, None, &referenced)
            .await
            .status()
            .as_u16(),
        201
    );
    assert_error_named(
        "the same reference again",
        app.post_refund(ACME_KEY, None, &referenced).await,
        409,
        "reference_in_use",
    )
    .await;
    let mut globex_referenced = referenced.clone();
    globex_referenced["payment_id"] = json!("pay_of_globex");
    assert_eq!(
        app.post_refund(GLOBEX_KEY, None, &globex_referenced)
            .await
            .status()
            .as_u16(),
        201
    );
}

both_backends!(merchants_see_only_their_own_refunds, |db: Db| async move {
    let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
        return;
    };
    let refund: Value = app.create(ACME_KEY, None, &body("1.00", "EUR")).await;
    let id = refund["id"].as_str().expect("id");
    assert_error(
        app.get(GLOBEX_KEY, &format!("/v1/refunds/{id}")).await,
        404,
        "refund_not_found",
    )
    .await;
    assert_error(
        app.get(GLOBEX_KEY, &format!("/v1/refunds/{id}/events"))
            .await,
        404,
        "refund_not_found",
    )
    .await;
    let list: Value = app.get_json(GLOBEX_KEY, "/v1/refunds").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
});

both_backends!(
    listing_pages_newest_first_with_a_cursor,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let mut ids = Vec::new();
        for i in 1..=5 {
            let refund: Value = app
                .create(ACME_KEY, None, &body(&format!("{i}.00"), "EUR"))
                .await;
            ids.push(refund["id"].as_str().expect("id").to_owned());
        }
        ids.reverse();
        let page1: Value = app.get_json(ACME_KEY, "/v1/refunds?limit=2").await;
        let got: Vec<&str> = page1["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
        assert_eq!(page1["has_more"], true);
        let page3: Value = app
            .get_json(
                ACME_KEY,
                &format!("/v1/refunds?limit=2&starting_after={}", ids[3]),
            )
            .await;
        let got: Vec<&str> = page3["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(got, [ids[4].as_str()]);
        assert_eq!(page3["has_more"], false);
        let filtered: Value = app.get_json(ACME_KEY, "/v1/refunds?currency=USD").await;
        assert_eq!(filtered["data"].as_array().map(Vec::len), Some(0));
    }
);

both_backends!(operations_endpoints_answer, |db: Db| async move {
    let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
        return;
    };
    assert_eq!(app.get("", "/healthz").await.status().as_u16(), 200);
    assert_eq!(app.get("", "/readyz").await.status().as_u16(), 200);
    app.post_refund(ACME_KEY, None, &body("1.00", "EUR")).await;
    let metrics = app.get("", "/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("refund_gateway_http_requests_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("refund_gateway_refunds_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("refund_gateway_provider_call_duration_seconds"),
        "{metrics}"
    );
    let openapi: Value = app
        .get("", "/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert!(
        openapi["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{openapi}"
    );
    assert!(openapi["paths"]["/v1/refunds"]["post"].is_object());
});

both_backends!(
    listing_filters_by_payment_id_and_by_reference,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let mut ids = Vec::new();
        for (payment, reference) in [("pay_a", "ref-1"), ("pay_b", "ref-2"), ("pay_a", "ref-3")] {
            let refund: Value = app.create(ACME_KEY, None, &json!({"payment_id": payment, "amount": "1.00", "currency": "EUR", "reference": reference}),).await;
            ids.push(refund["id"].as_str().expect("id").to_owned());
        }
        // Another merchant's refund of the same payment id never shows.
        app.post_refund(
            GLOBEX_KEY,
            None,
            &json!({"payment_id": "pay_a", "amount": "1.00", "currency": "EUR", "reference": "ref-1"}),
        )
        .await;
        let listed = |path: String| {
            let app = &app;
            async move {
                let list: Value = app.get_json(ACME_KEY, &path).await;
                list["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .filter_map(|r| r["id"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            listed("/v1/refunds?payment_id=pay_a".into()).await,
            [ids[2].clone(), ids[0].clone()]
        );
        assert_eq!(
            listed("/v1/refunds?reference=ref-2".into()).await,
            [ids[1].clone()]
        );
        assert_eq!(
            listed("/v1/refunds?payment_id=pay_a&reference=ref-2".into()).await,
            Vec::<String>::new()
        );
        assert_eq!(
            listed(format!(
                "/v1/refunds?payment_id=pay_a&limit=1&starting_after={}",
                ids[2]
            ))
            .await,
            [ids[0].clone()]
        );
        let too_long = "r".repeat(65);
        let error = assert_error(
            app.get(ACME_KEY, &format!("/v1/refunds?reference={too_long}"))
                .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "reference");
        let error = assert_error(
            app.get(ACME_KEY, "/v1/refunds?payment_id=").await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "payment_id");
        let openapi: Value = app
            .get("", "/openapi.json")
            .await
            .json()
            .await
            .expect("json");
        let names: Vec<&str> = openapi["paths"]["/v1/refunds"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            names.contains(&"payment_id") && names.contains(&"reference"),
            "{names:?}"
        );
    }
);

both_backends!(
    a_refunds_events_page_by_limit_and_starting_after_with_has_more,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Processing)).await else {
            return;
        };
        let refund: Value = app
            .create(
                ACME_KEY,
                None,
                &json!({"payment_id": "pay_events", "amount": "5.00", "currency": "EUR"}),
            )
            .await;
        let id = refund["id"].as_str().expect("id").to_owned();
        let resolved = app
            .client
            .post(format!("{}/v1/refunds/{id}/resolve", app.address))
            .bearer_auth(OPERATOR_KEY)
            .json(&json!({"status": "succeeded", "reason": "confirmed by the provider's support"}))
            .send()
            .await
            .expect("resolve");
        assert_eq!(resolved.status().as_u16(), 200);

        let page = |query: String| {
            let app = &app;
            let id = id.clone();
            async move {
                let answer = app
                    .get(ACME_KEY, &format!("/v1/refunds/{id}/events{query}"))
                    .await;
                assert_eq!(answer.status().as_u16(), 200, "{query}");
                answer.json::<Value>().await.expect("json")
            }
        };
        let all = page(String::new()).await;
        let events = all["data"].as_array().expect("data").clone();
        let statuses: Vec<&str> = events.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(statuses, ["pending", "processing", "succeeded"], "{all}");
        assert_eq!(all["has_more"], false);

        // Pages of one, following the cursor, give the same events in the same order.
        let mut walked = Vec::new();
        let mut query = "?limit=1".to_owned();
        loop {
            let one = page(query.clone()).await;
            let data = one["data"].as_array().expect("data");
            assert_eq!(data.len(), 1, "{one}");
            walked.push(data[0].clone());
            if one["has_more"] == false {
                break;
            }
            query = format!("?limit=1&starting_after={}", data[0]["id"]);
        }
        assert_eq!(walked, events);

        let two = page("?limit=2".to_owned()).await;
        assert_eq!(two["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(two["has_more"], true);
        let rest = page(format!("?starting_after={}", events[1]["id"])).await;
        assert_eq!(rest["data"], json!([events[2]]));
        assert_eq!(rest["has_more"], false);
        let past_the_end = page(format!("?starting_after={}", events[2]["id"])).await;
        assert_eq!(past_the_end["data"], json!([]));

        for (query, param) in [
            ("?limit=0", "limit"),
            ("?limit=101", "limit"),
            ("?limit=ten", "limit"),
            ("?starting_after=evt_1", "starting_after"),
            ("?starting_after=-3", "starting_after"),
            ("?order=desc", "order"),
        ] {
            let error = assert_error(
                app.get(ACME_KEY, &format!("/v1/refunds/{id}/events{query}"))
                    .await,
                400,
                "parameter_invalid",
            )
            .await;
            assert_eq!(error["param"], param, "{query}");
        }
    }
);

both_backends!(
    options_for_another_provider_are_checked_too_and_a_misspelt_provider_is_refused,
    |db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        // Routed to the scripted provider; eFundPay's options are still eFundPay's to read.
        let body = |options: Value| {
            json!({"payment_id": "pay_opts", "amount": "1.00", "currency": "EUR",
                   "provider_options": options})
        };
        let error = assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &body(json!({"efundpay": {"payment_method": "promptpay",
                                          "bank_detail": ["014", "Jack", "5015377989"]}})),
            )
            .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "provider_options.efundpay.bank_detail");
        let error = assert_error(
            app.post_refund(
                ACME_KEY,
                None,
                &body(json!({"authms": {"method": "cheque"}})),
            )
            .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "provider_options.authms.method");
        let error = assert_error(
            app.post_refund(ACME_KEY, None, &body(json!({"efundpey": {}})))
                .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(error["param"], "provider_options.efundpey");
        // Nothing of a refused request was recorded or sent.
        assert_eq!(provider.calls(), 0);
        let listed = app
            .get_json(ACME_KEY, "/v1/refunds?payment_id=pay_opts")
            .await;
        assert_eq!(listed["data"], json!([]));
        // Options valid for every provider they name are carried as before.
        let created = app
            .post_refund(
                ACME_KEY,
                None,
                &body(json!({"authms": {"method": "transfer"},
                             "efundpay": {"bank_detail": {"bank_code": "014",
                                 "bank_account_name": "Jack", "bank_account_no": "5015377989"},
                                 "payment_method": "promptpay"}})),
            )
            .await;
        assert_eq!(created.status().as_u16(), 201);
        assert_eq!(provider.calls(), 1);
    }
);
