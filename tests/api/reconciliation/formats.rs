//! Statements in a provider's own format (`[statements.<provider>]`) over HTTP, on SQLite and
//! PostgreSQL: columns, minor units, status words, batches (matching within the tolerance,
//! `batch_mismatch` listing its members), fees posted against clearing only when an
//! operator's import settles, and every variance kind in one statement.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use refund_gateway::store::Store;

use super::noon_of;
use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app_with, Db, Script, TestApp, ACME_KEY, OPERATOR_KEY,
};

/// eFundPay-like: `;`-separated, minor units, the provider's words, batches and fees.
const FORMAT: &str = r#"
[statements.scripted]
delimiter = ";"
amount_unit = "minor"
batch_tolerance_minor = 1
[statements.scripted.columns]
provider_refund_id = "id"
provider_reference = "ref"
amount = "cents"
currency = "cur"
status = "state"
settled_at = "at"
batch = "batch"
fee = "fee"
[statements.scripted.status]
PAID = "succeeded"
REFUSED = "failed"
VOID = "canceled"
"#;

async fn refund(app: &TestApp, payment: &str, amount: &str, currency: &str) -> String {
    let response = app
        .post_refund(
            ACME_KEY,
            None,
            &json!({"payment_id": payment, "amount": amount, "currency": currency}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("id").to_owned()
}

async fn post(app: &TestApp, key: &str, body: String, content_type: &str) -> reqwest::Response {
    crate::reconciliation::post_statement(app, key, "scripted", "", body, content_type).await
}

fn count(report: &Value, kind: &str) -> u64 {
    report["by_kind"][kind]["count"].as_u64().expect("count")
}

async fn balances(app: &TestApp) -> BTreeMap<String, i128> {
    let store = Store::connect(&app.database_url, 1).await.expect("store");
    let balances = store
        .account_balances()
        .await
        .expect("balances")
        .into_iter()
        .map(|(account, _, balance)| (account, balance))
        .collect();
    for (currency, sum) in store.ledger_sums_by_currency().await.expect("sums") {
        assert_eq!(sum, 0, "the {currency} ledger does not balance");
    }
    store.close().await;
    balances
}

both_backends!(
    a_native_statement_reports_every_variance_kind_and_settles_batches_and_fees_once,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", FORMAT).await else {
            return;
        };
        let a = refund(&app, "pay_a", "10.00", "EUR").await;
        let b = refund(&app, "pay_b", "20.00", "EUR").await;
        let c = refund(&app, "pay_c", "5.00", "EUR").await;
        let d = refund(&app, "pay_d", "7.00", "EUR").await;
        let e = refund(&app, "pay_e", "30.00", "EUR").await;
        let f = refund(&app, "pay_f", "1500", "JPY").await;
        let h = refund(&app, "pay_h", "4.00", "EUR").await;
        let i = refund(&app, "pay_i", "9.00", "EUR").await;
        provider.then(Script::Processing);
        let g = refund(&app, "pay_g", "3.00", "EUR").await;
        let at = noon_of(&app.get_json(ACME_KEY, &format!("/v1/refunds/{a}")).await);
        // Line numbers: the header is 1.
        let statement = format!(
            "batch;id;ref;cents;cur;state;at;fee\n\
             B1;p_a;{a};;EUR;PAID;{at};\n\
             B1;p_b;{b};2000;EUR;PAID;{at};10\n\
             B1;;;3001;EUR;;{at};15\n\
             B2;p_c;{c};500;EUR;PAID;{at};\n\
             B2;p_x;rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e;200;EUR;PAID;{at};\n\
             B2;;;700;EUR;;{at};5\n\
             ;p_d;{d};701;EUR;PAID;{at};\n\
             ;p_e;{e};3000;USD;PAID;{at};\n\
             ;p_f;{f};1500;JPY;REFUSED;{at};\n\
             ;p_g;{g};300;EUR;PAID;{at};3\n\
             ;p_h;{h};400;EUR;PAID;{at};2\n\
             ;p_z;rf_z;12.5;EUR;PAID;{at};\n\
             ;p_w;rf_w;100;EUR;DONE;{at};\n"
        );

        // A merchant's import reports the same and moves no money, fees included.
        let before = balances(&app).await;
        let response = post(&app, ACME_KEY, statement.clone(), "text/csv").await;
        assert_eq!(response.status().as_u16(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["settlement"], Value::Null);
        assert_eq!(balances(&app).await, before);

        let response = post(&app, OPERATOR_KEY, statement.clone(), "text/csv").await;
        assert_eq!(response.status().as_u16(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["lines"], 13, "{report}");
        for (kind, expected) in [
            ("missing_in_gateway", 1),
            ("missing_in_statement", 1),
            ("amount_mismatch", 1),
            ("status_mismatch", 2),
            ("currency_mismatch", 1),
            ("batch_mismatch", 1),
        ] {
            assert_eq!(count(&report, kind), expected, "{kind}: {report}");
        }
        assert_eq!(report["matched"]["count"], 3, "a, b in B1 and h: {report}");
        assert_eq!(
            report["matched"]["amounts"],
            json!([{"currency": "EUR", "amount": "34.00"}])
        );
        assert_eq!(report["batches"], json!({"count": 2, "matched": 1}));
        assert_eq!(
            report["fees"],
            json!({"count": 5, "amounts": [{"currency": "EUR", "amount": "0.35"}]})
        );
        assert_eq!(
            report["settlement"],
            json!({"settled": 3, "already_settled": 0, "fees_posted": 2})
        );
        let malformed: Vec<u64> = report["malformed"]
            .as_array()
            .expect("malformed")
            .iter()
            .map(|m| m["line"].as_u64().expect("line"))
            .collect();
        assert_eq!(malformed, vec![13, 14], "{report}");
        assert!(report["malformed"][1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("DONE") && m.contains("PAID")));

        let variances = report["variances"].as_array().expect("variances");
        let batch = variances
            .iter()
            .find(|v| v["kind"] == "batch_mismatch")
            .expect("batch_mismatch");
        assert_eq!(batch["batch"], "B2");
        assert_eq!(
            batch["expected"], "5.00",
            "the gateway's sum of the members it has"
        );
        assert_eq!(batch["actual"], "7.00", "the total line's");
        assert_eq!(batch["line"], 7, "reported on its total line");
        assert_eq!(
            batch["members"],
            json!([
                {"line": 5, "refund_id": c, "provider_refund_id": "p_c", "expected": "5.00", "actual": "5.00"},
                {"line": 6, "provider_refund_id": "p_x", "actual": "2.00"},
            ])
        );
        let missing = variances
            .iter()
            .find(|v| v["kind"] == "missing_in_gateway")
            .expect("missing_in_gateway");
        assert_eq!(
            (missing["line"].clone(), missing["batch"].clone()),
            (json!(6), json!("B2"))
        );
        let amount = variances
            .iter()
            .find(|v| v["kind"] == "amount_mismatch")
            .expect("amount_mismatch");
        assert_eq!(
            (
                amount["refund_id"].as_str(),
                amount["expected"].as_str(),
                amount["actual"].as_str()
            ),
            (Some(d.as_str()), Some("7.00"), Some("7.01"))
        );
        let in_statement = variances
            .iter()
            .find(|v| v["kind"] == "missing_in_statement")
            .expect("missing_in_statement");
        assert_eq!(in_statement["refund_id"].as_str(), Some(i.as_str()));

        // The books: settled a, b, h (34.00) and the fees (0.25 of B1 on its first member,
        // 0.02 of h) moved to settled; clearing holds exactly what is still owed (c, d, e, i
        // in EUR, f in JPY): the fees' clearing lines net to zero.
        let books = balances(&app).await;
        assert_eq!(books.get("provider:scripted:fees:EUR"), Some(&27));
        assert_eq!(
            books.get("provider:scripted:settled:EUR"),
            Some(&-(1000 + 2000 + 400 + 27))
        );
        assert_eq!(
            books.get("provider:scripted:clearing:EUR"),
            Some(&-(500 + 700 + 3000 + 900))
        );
        assert_eq!(books.get("provider:scripted:clearing:JPY"), Some(&-1500));

        // Again: nothing is settled or charged twice.
        let response = post(&app, OPERATOR_KEY, statement, "application/octet-stream").await;
        let again: Value = response.json().await.expect("json");
        assert_eq!(
            again["settlement"],
            json!({"settled": 0, "already_settled": 3, "fees_posted": 0})
        );
        assert_eq!(balances(&app).await, books);
        let _ = (a, b, e, f, g, h);
    }
);

both_backends!(
    a_statement_that_does_not_fit_its_format_gets_the_documented_errors,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider, "", FORMAT).await else {
            return;
        };
        // The gateway's own header is not this provider's: the error names the one expected.
        let six = "provider_refund_id,provider_reference,amount,currency,status,settled_at\n";
        let error = assert_error(
            post(&app, ACME_KEY, six.to_owned(), "text/csv").await,
            400,
            "body_invalid",
        )
        .await;
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("`id`") && message.contains("id;ref;cents;cur;state;at;batch;fee"),
            "{message}"
        );
        assert_error(
            post(&app, ACME_KEY, "x".into(), "application/json").await,
            400,
            "body_invalid",
        )
        .await;
        // Bytes that are not UTF-8 in a UTF-8 format are malformed lines, not a 500.
        let not_utf8 = b"id;ref;cents;cur;state;at;batch;fee\n\xff\xfe;rf_1;100;EUR;PAID;;;\n";
        let response = crate::reconciliation::post_statement(
            &app,
            ACME_KEY,
            "scripted",
            "",
            not_utf8.to_vec(),
            "application/octet-stream",
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(report["malformed_count"], 1, "{report}");
    }
);
