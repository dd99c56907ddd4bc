//! An operator's console (DESIGN §14): `GET /v1/me`, `?merchant=` narrowing,
//! `POST /v1/refunds/{id}/resolve`, and a statement import that settles.

use serde_json::json;

use crate::harness::{exclusive, write_temp_file, Browser, Gateway, OPERATOR_KEY};

#[tokio::test]
async fn an_operator_signs_in_and_narrows_the_console_to_one_merchant() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    let refund = gateway.efundpay_refund("12.99", "succeeded").await;
    let id = refund["id"].as_str().unwrap_or_default();

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    assert_eq!(
        browser.wait_for_text("#principal", "finance").await,
        "Operator finance"
    );
    let scope = browser.find("#merchant-scope").await;
    scope
        .select_by_value("demo")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        browser
            .run("return sessionStorage.getItem('rg.merchant');")
            .await,
        json!("demo")
    );
    browser.click("#nav a[href='#/refunds']").await;
    let table = browser.wait_for_text("table.refunds", id).await;
    assert!(
        table.contains("Merchant"),
        "operators see the merchant column: {table}"
    );
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn an_operator_resolves_a_stuck_refund_with_a_confirmation_and_a_reason() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    // eFundPay's magic 90.90: processing for ever, no webhook.
    let stuck = gateway.efundpay_refund("90.90", "processing").await;
    let id = stuck["id"].as_str().unwrap_or_default().to_owned();
    let reason = "Provider confirmed by phone that nothing was paid out";

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    browser.open(&gateway, &format!("#/refunds/{id}")).await;
    browser.wait_for_text("main h1", &id).await;
    browser.click("#resolve").await;
    browser.click("#resolve-failed").await;
    browser.type_into("#resolve-reason", reason).await;
    browser
        .click("#resolve-dialog form button[type=submit]")
        .await;
    let confirmation = browser
        .wait_for_text("#resolve-dialog .confirm", "This is final")
        .await;
    assert!(
        confirmation.contains(&id) && confirmation.contains("failed"),
        "{confirmation}"
    );
    // Nothing was sent before the confirmation.
    assert_eq!(gateway.get_refund(&id).await["status"], "processing");
    browser.click("#resolve-confirm").await;
    browser
        .wait_for_text(".message[role=status]", "resolved as failed")
        .await;
    let refund = gateway.wait_for_status(&id, "failed").await;
    assert_eq!(refund["failure_code"], "resolved_by_operator");
    let timeline = browser.wait_for_text("#timeline", reason).await;
    assert!(
        timeline.contains("finance"),
        "the event names the operator: {timeline}"
    );
    assert!(
        browser.find_all("#resolve").await.is_empty(),
        "a final refund cannot be resolved again"
    );
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn an_operator_import_says_what_it_settled() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    gateway.efundpay_refund("12.99", "succeeded").await;
    // eFundPay's own file from its simulator: the refund in a batch whose total carries a fee.
    let statement = gateway.simulator_statement("efundpay").await;
    let file = write_temp_file("efundpay-statement.csv", &statement);

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    browser
        .find("#merchant-scope")
        .await
        .select_by_value("demo")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#nav a[href='#/statements']").await;
    browser
        .wait_for_text("main .lead", "of merchant demo")
        .await;
    browser.type_into("#st-provider", "efundpay").await;
    upload(&browser, &file).await;
    browser
        .wait_for_text(
            "#report",
            "Settled 1 line(s); 0 already settled by an earlier import; 1 fee(s) posted.",
        )
        .await;
    upload(&browser, &file).await;
    browser
        .wait_for_text(
            "#report",
            "Settled 0 line(s); 1 already settled by an earlier import.",
        )
        .await;
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

async fn upload(browser: &Browser, file: &std::path::Path) {
    browser
        .find("#st-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#st-upload").await;
}

#[tokio::test]
async fn the_overview_shows_an_open_breaker_and_its_queue() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    let authms = gateway
        .simulators
        .iter()
        .find(|(id, _)| id == "authms")
        .map(|(_, url)| url.clone())
        .unwrap_or_else(|| panic!("no authms simulator"));
    let outage = gateway
        .http
        .post(format!("{authms}/_sandbox/faults"))
        .json(&json!({"outage": {"mode": "refuse", "seconds": 120}}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(outage.status().is_success());
    // Five refused refunds open AuthMS's breaker; each is queued, never failed.
    let mut last = json!(null);
    for n in 0..6 {
        last = gateway
            .refund(json!({"payment_id": format!("txn_outage_{n}"), "amount": "5.00", "currency": "CNY", "customer_id": "usr_abc123"}))
            .await;
        assert_eq!(last["pending_reason"], "provider_unavailable", "{last}");
    }

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    let section = browser
        .wait_for_text("section.outages", "Open (queueing)")
        .await;
    assert!(section.contains("1 open, 6 queued"), "{section}");
    let table = browser
        .find("table.breakers")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        table.contains("authms") && table.contains("default"),
        "{table}"
    );
    assert!(
        !table.contains("efundpay"),
        "accounts sending normally are left out: {table}"
    );
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
    let id = last["id"].as_str().unwrap_or_default();
    assert!(!id.is_empty());
}
