//! Bulk refunds (DESIGN §19) on SQLite and PostgreSQL: a file becomes one refund per row,
//! each sent once, with progress and results; a file with a bad row is refused whole
//! (naming the row and column) and creates nothing; skip_invalid, dry_run, and the same file
//! with the same Idempotency-Key answering the same batch.

use std::collections::HashSet;
use std::time::Duration;

use refund_test_support::poll_until;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, spawn_app_with, Db, Script, TestApp, ACME_KEY, GLOBEX_KEY, OPERATOR_KEY,
};

/// A refused file: its name, bytes, and the row and column its first error names.
type BadFile = (&'static str, Vec<u8>, Option<u64>, Option<&'static str>);

/// Fast batches; refunds of 100.00 EUR or more wait for approval.
const EXTRA: &str = "[batches]\nrows_per_second = 2000\n\n[[approval_rules]]\ncurrency = \"EUR\"\namount_at_least = \"100.00\"\n";

async fn post_file(
    app: &TestApp,
    key: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
    idem: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .request(reqwest::Method::POST, &format!("/v1/refund_batches{query}"))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body);
    if let Some(idem) = idem {
        request = request.header("Idempotency-Key", idem);
    }
    request.send().await.expect("post batch")
}

async fn post_csv(app: &TestApp, query: &str, text: &str) -> reqwest::Response {
    post_file(
        app,
        ACME_KEY,
        query,
        "text/csv",
        text.as_bytes().to_vec(),
        None,
    )
    .await
}

async fn wait_completed(app: &TestApp, id: &str) -> Value {
    let path = format!("/v1/refund_batches/{id}");
    poll_until(
        Duration::from_secs(30),
        Duration::from_millis(50),
        || app.get_json(ACME_KEY, &path),
        |b: &Value| b["status"] == "completed",
    )
    .await
}

async fn refund_count(app: &TestApp) -> usize {
    let list = app.get_json(ACME_KEY, "/v1/refunds?limit=100").await;
    list["data"].as_array().map_or(0, Vec::len)
}

both_backends!(
    a_csv_batch_becomes_one_refund_per_row_each_sent_once_with_progress_and_results,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        let mut text = String::from("payment_id,amount,currency,reason,metadata.order\n");
        for n in 1..=20 {
            let amount = if n == 7 { "150.00" } else { "5.00" };
            text.push_str(&format!("pay_b{n},{amount},EUR,Event canceled,A-{n}\n"));
        }
        let response = post_csv(&app, "", &text).await;
        assert_eq!(response.status().as_u16(), 202);
        let batch: Value = response.json().await.expect("json");
        assert_eq!(batch["object"], "refund_batch");
        assert_eq!(batch["total"], 20);
        let id = batch["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("rb_"), "{batch}");
        let done = wait_completed(&app, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(
            (done["created"].as_i64(), done["failed_rows"].as_i64()),
            (Some(20), Some(0)),
            "{done}"
        );
        assert_eq!(done["counts"]["succeeded"], 19, "{done}");
        assert_eq!(
            done["counts"]["pending"], 1,
            "row 7 awaits approval: {done}"
        );
        assert_eq!(provider.calls(), 19);
        let sent: HashSet<String> = provider
            .requests()
            .iter()
            .map(|r| r.refund_id.to_string())
            .collect();
        assert_eq!(sent.len(), 19, "each row sent once");

        let csv = app
            .get(ACME_KEY, &format!("/v1/refund_batches/{id}/results"))
            .await;
        assert_eq!(csv.status().as_u16(), 200);
        let csv = csv.text().await.expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "row,refund_id,status,error_code,error_param,error_message"
        );
        assert_eq!(lines.len(), 21, "{csv}");
        assert!(
            lines[7].starts_with("7,rf_") && lines[7].contains(",pending,"),
            "{csv}"
        );
        let jsonl = app
            .get(
                ACME_KEY,
                &format!("/v1/refund_batches/{id}/results?format=jsonl"),
            )
            .await
            .text()
            .await
            .expect("jsonl");
        let rows: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("line"))
            .collect();
        assert_eq!(rows.len(), 20);
        assert_eq!(rows[0]["row"], 1);
        assert_eq!(rows[0]["status"], "succeeded");
        let first = app
            .get_json(
                ACME_KEY,
                &format!("/v1/refunds/{}", rows[0]["refund_id"].as_str().expect("id")),
            )
            .await;
        assert_eq!(first["metadata"]["order"], "A-1", "{first}");
        assert_eq!(first["reason"], "Event canceled");

        // Only its merchant (or an operator) sees it; an operator does not upload.
        assert_error(
            app.get(GLOBEX_KEY, &format!("/v1/refund_batches/{id}"))
                .await,
            404,
            "route_not_found",
        )
        .await;
        assert_eq!(
            app.get(OPERATOR_KEY, &format!("/v1/refund_batches/{id}"))
                .await
                .status()
                .as_u16(),
            200
        );
        assert_error(
            post_file(&app, OPERATOR_KEY, "", "text/csv", text.into_bytes(), None).await,
            403,
            "merchant_only",
        )
        .await;
    }
);

both_backends!(
    a_file_with_any_bad_row_is_refused_whole_naming_the_row_and_column_and_creates_nothing,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        let cases: Vec<BadFile> = vec![
            ("formula", b"payment_id,amount,currency,reason\npay_1,1.00,EUR,ok\npay_2,1.00,EUR,=HYPERLINK(\"x\")\n".to_vec(), Some(2), Some("reason")),
            ("exponent", b"payment_id,amount,currency\npay_1,1.00,EUR\npay_2,100,JPY\npay_3,1.5,JPY\n".to_vec(), Some(3), Some("amount")),
            ("duplicate key", b"payment_id,amount,currency,idempotency_key\npay_1,1.00,EUR,k1\npay_2,1.00,EUR,k1\n".to_vec(), Some(2), Some("idempotency_key")),
            ("no payment_id", b"amount,currency\n1.00,EUR\n".to_vec(), None, Some("payment_id")),
            ("not UTF-8", b"payment_id,amount,currency,reason\npay_1,1.00,EUR,caf\xe9\n".to_vec(), Some(1), None),
        ];
        for (name, body, row, column) in cases {
            let error = assert_error(
                post_file(&app, ACME_KEY, "", "text/csv", body, None).await,
                400,
                "batch_invalid",
            )
            .await;
            let first = &error["rows"][0];
            assert_eq!(first["row"].as_u64(), row, "{name}: {error}");
            assert_eq!(first["column"].as_str(), column, "{name}: {error}");
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{name}"
            );
        }
        let mut big = String::from("payment_id,amount,currency\n");
        for n in 0..10_001 {
            big.push_str(&format!("pay_{n},1.00,EUR\n"));
        }
        let error = assert_error(post_csv(&app, "", &big).await, 400, "batch_invalid").await;
        assert_eq!(error["rows"][0]["row"], 10_001, "{error}");
        // Every invalid row is counted, the first 100 listed.
        let mut many = String::from("payment_id,amount,currency\n");
        for n in 0..150 {
            many.push_str(&format!("pay_{n},1.001,EUR\n"));
        }
        let error = assert_error(post_csv(&app, "", &many).await, 400, "batch_invalid").await;
        assert_eq!(error["invalid_rows"], 150);
        assert_eq!(error["rows"].as_array().map(Vec::len), Some(100));
        assert_eq!(error["rows"][0]["code"], "amount_invalid");
        assert_error(
            post_file(&app, ACME_KEY, "", "application/json", b"{}".to_vec(), None).await,
            400,
            "body_invalid",
        )
        .await;
        assert_eq!(
            refund_count(&app).await,
            0,
            "nothing of a refused file is created"
        );
        assert_eq!(provider.calls(), 0);
    }
);

both_backends!(
    skip_invalid_creates_the_valid_rows_and_records_the_others_as_failed,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        let lines = "{\"payment_id\":\"pay_n1\",\"amount\":\"1.00\",\"currency\":\"EUR\"}\n\
                     {\"payment_id\":\"pay_n2\",\"amount\":\"1.001\",\"currency\":\"EUR\"}\n\
                     {\"payment_id\":\"pay_n3\",\"amount\":\"2.00\",\"currency\":\"EUR\",\"idempotency_key\":\"own-3\"}\n";
        let response = post_file(
            &app,
            ACME_KEY,
            "?skip_invalid=true",
            "application/x-ndjson",
            lines.as_bytes().to_vec(),
            None,
        )
        .await;
        assert_eq!(response.status().as_u16(), 202);
        let batch: Value = response.json().await.expect("json");
        let id = batch["id"].as_str().expect("id");
        let done = wait_completed(&app, id).await;
        assert_eq!(
            (done["created"].as_i64(), done["failed_rows"].as_i64()),
            (Some(2), Some(1)),
            "{done}"
        );
        let jsonl = app
            .get(
                ACME_KEY,
                &format!("/v1/refund_batches/{id}/results?format=jsonl"),
            )
            .await
            .text()
            .await
            .expect("jsonl");
        let rows: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).expect("line"))
            .collect();
        assert_eq!(rows[1]["error"]["code"], "amount_invalid", "{jsonl}");
        assert_eq!(rows[1]["refund_id"], Value::Null);
        // Row 3's own key is its Idempotency-Key: posting it again answers the same refund.
        let replay = app
            .post_refund(
                ACME_KEY,
                Some("own-3"),
                &json!({"payment_id": "pay_n3", "amount": "2.00", "currency": "EUR"}),
            )
            .await;
        assert_eq!(replay.status().as_u16(), 200);
        let replay: Value = replay.json().await.expect("json");
        assert_eq!(replay["id"], rows[2]["refund_id"]);
        assert_eq!(provider.calls(), 2);
    }
);

both_backends!(
    a_dry_run_says_what_each_row_would_do_and_creates_nothing,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        let text = "payment_id,amount,payment_amount,currency\n\
                    pay_d,60.00,150.00,EUR\npay_d,90.00,150.00,EUR\npay_d,110.00,150.00,EUR\npay_e,1.001,,EUR\npay_f,120.00,,EUR\n";
        let response = post_csv(&app, "?dry_run=true", text).await;
        assert_eq!(response.status().as_u16(), 200);
        let preview: Value = response.json().await.expect("json");
        assert_eq!(preview["object"], "refund_batch_preview");
        let rows = preview["rows"].as_array().expect("rows");
        assert_eq!(rows[0]["provider"], "scripted");
        assert_eq!(rows[0]["amount"], "60.00");
        assert_eq!(rows[0]["awaiting_approval"], false);
        assert_eq!(
            rows[1]["amount"], "90.00",
            "60 + 90 = 150: still within the payment"
        );
        assert_eq!(
            rows[2]["error"]["code"], "amount_exceeds_refundable",
            "{preview}"
        );
        assert_eq!(rows[3]["error"]["code"], "amount_invalid");
        assert_eq!(rows[4]["awaiting_approval"], true);
        assert_eq!(
            (preview["valid"].as_i64(), preview["invalid"].as_i64()),
            (Some(3), Some(2))
        );
        assert_eq!(refund_count(&app).await, 0);
        assert_eq!(provider.calls(), 0);
    }
);

both_backends!(
    a_dry_run_checks_the_options_of_every_provider_as_a_create_does,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        // Routed to the scripted provider; eFundPay's and AuthMS's options are still checked.
        let lines = "{\"payment_id\":\"pay_o1\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"provider_options\":{\"efundpay\":{\"payment_method\":\"promptpay\",\"bank_detail\":[\"014\"]}}}\n\
                     {\"payment_id\":\"pay_o2\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"provider_options\":{\"authms\":{\"method\":\"cheque\"}}}\n\
                     {\"payment_id\":\"pay_o3\",\"amount\":\"1.00\",\"currency\":\"EUR\",\"provider_options\":{\"efundpey\":{}}}\n\
                     {\"payment_id\":\"pay_o4\",\"amount\":\"1.00\",\"currency\":\"EUR\"}\n";
        let response = post_file(
            &app,
            ACME_KEY,
            "?dry_run=true",
            "application/x-ndjson",
            lines.as_bytes().to_vec(),
            None,
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
        let preview: Value = response.json().await.expect("json");
        let rows = preview["rows"].as_array().expect("rows");
        let params: Vec<_> = rows[..3]
            .iter()
            .map(|row| (row["error"]["code"].clone(), row["error"]["column"].clone()))
            .collect();
        assert_eq!(
            params,
            [
                (
                    json!("parameter_invalid"),
                    json!("provider_options.efundpay.bank_detail")
                ),
                (
                    json!("parameter_invalid"),
                    json!("provider_options.authms.method")
                ),
                (
                    json!("parameter_invalid"),
                    json!("provider_options.efundpey")
                ),
            ],
            "{preview}"
        );
        assert!(rows[3]["error"].is_null(), "{preview}");
        assert_eq!(
            (preview["valid"].as_i64(), preview["invalid"].as_i64()),
            (Some(1), Some(3))
        );
        assert_eq!(provider.calls(), 0);
    }
);

both_backends!(
    the_same_file_with_the_same_idempotency_key_answers_the_same_batch,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app_with(db, provider.clone(), "", EXTRA).await else {
            return;
        };
        let text = b"payment_id,amount,currency\npay_i1,1.00,EUR\npay_i2,2.00,EUR\n".to_vec();
        let first = post_file(
            &app,
            ACME_KEY,
            "",
            "text/csv",
            text.clone(),
            Some("upload-1"),
        )
        .await;
        assert_eq!(first.status().as_u16(), 202);
        let first: Value = first.json().await.expect("json");
        let again = post_file(
            &app,
            ACME_KEY,
            "",
            "text/csv",
            text.clone(),
            Some("upload-1"),
        )
        .await;
        assert_eq!(again.status().as_u16(), 200);
        assert_eq!(
            again
                .headers()
                .get("idempotent-replayed")
                .and_then(|v| v.to_str().ok()),
            Some("true")
        );
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["id"], first["id"]);
        let other = post_file(
            &app,
            ACME_KEY,
            "",
            "text/csv",
            b"payment_id,amount,currency\npay_i3,1.00,EUR\n".to_vec(),
            Some("upload-1"),
        )
        .await;
        assert_error(other, 422, "idempotency_key_reused").await;
        wait_completed(&app, first["id"].as_str().expect("id")).await;
        assert_eq!(provider.calls(), 2, "one batch, two refunds");
        let audit = app
            .get_json(OPERATOR_KEY, "/v1/audit_events?kind=refund_batch.created")
            .await;
        assert_eq!(audit["data"].as_array().map(Vec::len), Some(1), "{audit}");
        assert_eq!(audit["data"][0]["target"], first["id"]);
    }
);
