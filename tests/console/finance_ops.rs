//! The console's finance operations (DESIGN §19): an operator approves and rejects held
//! refunds from the approvals queue, each after a confirmation; a merchant uploads a batch,
//! follows its progress bar, downloads its results, and sees a refused file's rows.

use crate::harness::{exclusive, write_temp_file, Browser, Gateway, DEMO_KEY, OPERATOR_KEY};

/// eFundPay refunds of 100.00 EUR or more wait for approval; batches go fast.
const EXTRA: &str = "[[approval_rules]]\ncurrency = \"EUR\"\namount_at_least = \"100.00\"\n\n[batches]\nrows_per_second = 200\n";

#[tokio::test]
async fn an_operator_approves_one_held_refund_and_rejects_another_each_after_a_confirmation() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start_with(EXTRA).await;
    let first = gateway.efundpay_refund_now("150.00").await;
    let second = gateway.efundpay_refund_now("250.00").await;
    assert_eq!(first["pending_reason"], "awaiting_approval", "{first}");
    let (first, second) = (
        first["id"].as_str().unwrap_or_default().to_owned(),
        second["id"].as_str().unwrap_or_default().to_owned(),
    );

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    browser.click("#nav-approvals").await;
    let queue = browser.wait_for_text("table.approvals", &first).await;
    assert!(
        queue.contains(&second) && queue.contains("150.00"),
        "{queue}"
    );

    // Approve the first, with a note: reviewed, then confirmed.
    browser
        .click(&format!("button.approve[data-refund='{first}']"))
        .await;
    browser
        .type_into("#decide-text", "Called the customer")
        .await;
    browser
        .click("#decide-dialog form button[type=submit]")
        .await;
    let confirmation = browser
        .wait_for_text("#decide-dialog .confirm", "money leaves")
        .await;
    assert!(confirmation.contains(&first), "{confirmation}");
    assert_eq!(
        gateway.get_refund(&first).await["pending_reason"],
        "awaiting_approval",
        "nothing is sent before the confirmation"
    );
    browser.click("#decide-confirm").await;
    browser
        .wait_for_text(".message[role=status]", "approved")
        .await;
    let approved = gateway.wait_for_status(&first, "succeeded").await;
    assert_eq!(approved["pending_reason"], serde_json::Value::Null);

    // Reject the second: a reason is required.
    browser
        .click(&format!("button.reject[data-refund='{second}']"))
        .await;
    browser
        .click("#decide-dialog form button[type=submit]")
        .await;
    browser
        .wait_for_text("#decide-dialog .feedback", "Give a reason")
        .await;
    browser
        .type_into("#decide-text", "Duplicate of an earlier refund")
        .await;
    browser
        .click("#decide-dialog form button[type=submit]")
        .await;
    browser
        .wait_for_text("#decide-dialog .confirm", "never sent")
        .await;
    browser.click("#decide-confirm").await;
    browser
        .wait_for_text(".message[role=status]", "rejected")
        .await;
    let rejected = gateway.wait_for_status(&second, "canceled").await;
    assert_eq!(rejected["failure_code"], "rejected_by_operator");
    assert_eq!(
        rejected["failure_message"],
        "Duplicate of an earlier refund"
    );
    browser
        .wait_for_text("main", "No refund awaits approval")
        .await;
    assert_eq!(browser.csp_violations().await, serde_json::json!([]));
    browser.close().await;
}

#[tokio::test]
async fn a_merchant_uploads_a_batch_follows_its_progress_and_downloads_the_results() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start_with(EXTRA).await;
    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#nav-batches").await;
    browser.wait_for_text("main h1", "Bulk refunds").await;

    // A refused file: nothing is created, the bad row and column are named.
    let bad = write_temp_file(
        "recall-bad.csv",
        "payment_id,amount,currency,reason\npay_c1,1.00,EUR,ok\npay_c2,1.00,EUR,=HYPERLINK(\"x\")\n",
    );
    browser
        .find("#batch-file")
        .await
        .send_keys(&bad.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#batch-upload").await;
    let errors = browser.wait_for_text("#batch-errors", "reason").await;
    assert!(
        errors.contains("batch_invalid") && errors.contains('2'),
        "{errors}"
    );

    let mut text = String::from("payment_id,amount,currency,reason,metadata.order\n");
    for n in 1..=12 {
        text.push_str(&format!(
            "pay_console_batch_{n},{n}.00,EUR,Event canceled,B-{n}\n"
        ));
    }
    let file = write_temp_file("recall.csv", &text);
    browser
        .find("#batch-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#batch-upload").await;
    browser.find("#batch-progress").await;
    let done = browser
        .wait_for_text("#batch-progress-text", "Completed")
        .await;
    assert!(done.contains("12 of 12 rows done"), "{done}");
    let value = browser
        .run("return document.getElementById('batch-progress').value;")
        .await;
    assert_eq!(value, serde_json::json!(12));
    browser.click("#batch-results-csv").await;
    let (name, results) = browser.downloaded("rb_").await;
    assert!(name.ends_with("-results.csv"), "{name}");
    assert_eq!(results.lines().count(), 13, "{results}");
    assert!(results.starts_with("row,refund_id,status"), "{results}");
    assert_eq!(browser.csp_violations().await, serde_json::json!([]));
    browser.close().await;
}
