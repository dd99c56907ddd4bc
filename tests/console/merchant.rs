//! A merchant's console: sign-in (and a refused key), the overview with its chart, a refund
//! made through the API and its timeline, a statement with one variance, the export, and
//! the amount and CSV rules of the console's own modules, run in the browser.

use serde_json::{json, Value};

use crate::harness::{exclusive, screenshot_path, write_temp_file, Browser, Gateway, DEMO_KEY};

#[tokio::test]
async fn a_wrong_key_is_refused_a_right_one_is_kept_for_the_tab_and_a_revoked_one_signs_out() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    browser.open(&gateway, "").await;
    browser.type_into("#api-key", "sk_not_a_key").await;
    browser.click("form.signin button[type=submit]").await;
    browser
        .wait_for_text("form.signin [role=alert]", "That key was refused")
        .await;
    assert!(browser.find_all("#nav:not([hidden])").await.is_empty());
    assert_eq!(
        browser
            .run("return sessionStorage.getItem('rg.key');")
            .await,
        Value::Null,
        "a refused key is not kept"
    );

    browser.sign_in(&gateway, DEMO_KEY).await;
    let who = browser.wait_for_text("#principal", "demo").await;
    assert_eq!(who, "Merchant demo");
    assert_eq!(
        browser
            .run("return sessionStorage.getItem('rg.key');")
            .await,
        json!(DEMO_KEY),
        "the key is kept in sessionStorage"
    );
    assert_eq!(
        browser.run("return localStorage.length;").await,
        json!(0),
        "nothing in localStorage"
    );
    // A key refused in the middle of a session: back to sign-in, saying why.
    browser
        .run("sessionStorage.setItem('rg.key', 'sk_revoked'); return true;")
        .await;
    browser.click("#nav a[href='#/refunds']").await;
    browser
        .wait_for_text("main .message", "Your key was refused")
        .await;
    assert_eq!(
        browser
            .run("return sessionStorage.getItem('rg.key');")
            .await,
        Value::Null
    );
    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#sign-out").await;
    browser.find("#api-key").await;
    assert_eq!(
        browser
            .run("return sessionStorage.getItem('rg.key');")
            .await,
        Value::Null
    );
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn a_refund_made_through_the_api_is_listed_and_its_timeline_opens() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    // eFundPay: processing at once, succeeded by the simulator's signed webhook.
    let refund = gateway.efundpay_refund("1234.50", "succeeded").await;
    let id = refund["id"].as_str().unwrap_or_default().to_owned();
    let reference = refund["reference"].as_str().unwrap_or_default().to_owned();
    let yen = gateway
        .refund(json!({"payment_id": "pay_jpy", "amount": "1500", "currency": "JPY"}))
        .await;

    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#nav a[href='#/refunds']").await;
    let table = browser.wait_for_text("table.refunds", &id).await;
    assert!(table.contains("1,234.50 EUR"), "{table}");
    assert!(table.contains("1,500 JPY"), "{table}");

    // The reference filter (added to GET /v1/refunds for the console) finds exactly it.
    browser.type_into("#f-reference", &reference).await;
    browser.click("form.filters button[type=submit]").await;
    browser
        .wait_for_text("table.refunds caption", "1 refund(s)")
        .await;
    let rows = browser.find_all("table.refunds tbody tr").await;
    assert_eq!(rows.len(), 1);
    let yen_id = yen["id"].as_str().unwrap_or_default();
    assert!(!browser
        .find("table.refunds")
        .await
        .text()
        .await
        .unwrap_or_default()
        .contains(yen_id));

    browser
        .click(&format!("table.refunds a[href='#/refunds/{id}']"))
        .await;
    browser.wait_for_text("main h1", &id).await;
    let fields = browser
        .find("dl.fields")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(fields.contains("1,234.50 EUR"), "{fields}");
    assert!(fields.contains("efundpay"), "{fields}");
    assert!(fields.contains("UTC"), "times carry UTC: {fields}");
    let timeline = browser.wait_for_text("#timeline", "succeeded").await;
    let entries = browser.find_all("#timeline > li").await;
    assert_eq!(
        entries.len(),
        3,
        "created, processing, succeeded: {timeline}"
    );
    assert!(timeline.contains("Created"), "{timeline}");
    assert!(timeline.contains("by webhook"), "{timeline}");
    let title = browser
        .find("#timeline time")
        .await
        .attr("title")
        .await
        .unwrap_or_default()
        .unwrap_or_default();
    assert!(title.ends_with(" UTC"), "UTC on hover: {title:?}");
    // A merchant never sees the operator's action.
    assert!(browser.find_all("#resolve").await.is_empty());
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn the_simulators_statement_with_a_bad_batch_and_an_unknown_line_shows_both_and_downloads_them(
) {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    let first = gateway.efundpay_refund("12.99", "succeeded").await;
    let second = gateway.efundpay_refund("5.00", "succeeded").await;
    // eFundPay's own file from its simulator: both refunds in today's EUR batch, whose total
    // line (1799 cents, fee 40) is changed to 1800; then a refund the gateway never made.
    let native = String::from_utf8(gateway.simulator_statement("efundpay").await)
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = native.lines().collect();
    assert_eq!(lines.len(), 4, "header, two members, total: {native}");
    assert!(lines[3].contains(",,,,1799,EUR,,40,"), "{native}");
    let statement = format!(
        "{}\n{}\n{}\n{}\n,efp_unknown_1,,pay_x,550,EUR,SETTLED,,1795428000\n",
        lines[0],
        lines[1],
        lines[2],
        lines[3].replace(",1799,", ",1800,")
    );
    let file = write_temp_file("efundpay-statement.csv", &statement);

    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#nav a[href='#/statements']").await;
    browser.type_into("#st-provider", "efundpay").await;
    browser
        .find("#st-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#st-upload").await;
    let report = browser
        .wait_for_text("#report", "Missing in the gateway: 1")
        .await;
    assert!(report.contains("Batch mismatch: 1"), "{report}");
    assert_eq!(
        browser
            .find("#variance-count")
            .await
            .text()
            .await
            .unwrap_or_default(),
        "2"
    );
    assert!(
        report.contains("1 (0 matched)"),
        "one batch, not matched: {report}"
    );
    let sections = browser.find_all("section.variances").await;
    assert_eq!(
        sections.len(),
        2,
        "only the kinds that have a variance: {report}"
    );
    let variance = browser
        .find("section.kind-missing_in_gateway tbody tr")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(variance.starts_with('5'), "line number 5: {variance}");
    assert!(variance.contains("efp_unknown_1"), "{variance}");
    assert!(
        variance.contains("5.50 EUR"),
        "the amount with the exponent: {variance}"
    );
    let members = browser
        .find("section.kind-batch_mismatch table.batch-members")
        .await
        .text()
        .await
        .unwrap_or_default();
    let (first_id, second_id) = (
        first["id"].as_str().unwrap_or_default(),
        second["id"].as_str().unwrap_or_default(),
    );
    assert!(
        members.contains(first_id) && members.contains(second_id),
        "both members listed: {members}"
    );

    browser.click("#download-variances").await;
    let (name, csv) = browser.downloaded("variances-efundpay-").await;
    assert!(name.ends_with(".csv"), "{name}");
    let batch = lines[3].split(',').next().unwrap_or_default();
    let expected = format!(
        "kind,line,refund_id,provider_refund_id,expected,actual,currency,batch,members\r\n\
         missing_in_gateway,5,,efp_unknown_1,,5.50,EUR,,\r\n\
         batch_mismatch,4,,,17.99,18.00,EUR,{batch},2:{first_id} 3:{second_id}\r\n"
    );
    assert_eq!(csv, expected);
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn the_ebuy_simulators_gbk_statement_uploads_and_matches_with_its_fee() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    let refund = gateway
        .refund(json!({"payment_id": "ORDER-CONSOLE-1", "amount": "8.00", "currency": "CNY"}))
        .await;
    assert_eq!(refund["provider"], "ebuy");
    let id = refund["id"].as_str().unwrap_or_default().to_owned();
    gateway.wait_for_status(&id, "succeeded").await;
    let gbk = gateway.simulator_statement("ebuy").await;
    assert!(std::str::from_utf8(&gbk).is_err(), "e-Buy writes GBK");
    let file = write_temp_file("ebuy-refunds.csv", &gbk);

    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#nav a[href='#/statements']").await;
    browser.type_into("#st-provider", "ebuy").await;
    browser
        .find("#st-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("#st-upload").await;
    let report = browser
        .wait_for_text("#report", "No variances: the statement matches.")
        .await;
    assert!(report.contains("1 (8.00 CNY)"), "matched: {report}");
    assert!(
        report.contains("1 (0.04 CNY)"),
        "the fee, 0.6 % in fen: {report}"
    );
    assert!(report.contains("Variance report only"), "{report}");
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn the_overview_shows_the_summary_the_ageing_chart_and_a_screenshot_is_saved() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    // A spread of outcomes through the three simulators (their magic values).
    gateway.efundpay_refund("12.99", "succeeded").await;
    gateway.efundpay_refund("25.00", "succeeded").await;
    gateway.efundpay_refund("40.40", "failed").await;
    gateway.efundpay_refund("80.80", "canceled").await;
    let stuck = gateway.efundpay_refund("90.90", "processing").await;
    // 50.01: the simulator answers 500, an unknown outcome: pending until the sync settles it.
    gateway
        .refund(json!({"payment_id": "pay_unknown", "amount": "50.01", "currency": "EUR"}))
        .await;
    gateway
        .refund(json!({"payment_id": "txn_abc123", "amount": "50.00", "currency": "CNY", "customer_id": "usr_abc123"}))
        .await;
    gateway
        .refund(
            json!({"payment_id": "ORDER20250317001", "amount": "8.00", "currency": "CNY",
            "provider_options": {"ebuy": {"asset_type": "cash", "trade_date": "20250317"}}}),
        )
        .await;
    gateway
        .refund(json!({"payment_id": "pay_jpy", "amount": "1500", "currency": "JPY"}))
        .await;

    browser.sign_in(&gateway, DEMO_KEY).await;
    let by_status = browser.wait_for_text("table.by-status", "efundpay").await;
    assert!(
        by_status.contains("37.99 EUR"),
        "12.99 + 25.00 succeeded: {by_status}"
    );
    assert!(by_status.contains("90.90 EUR"), "{by_status}");
    assert!(by_status.contains("1,500 JPY"), "{by_status}");
    let clearing = browser
        .find("table.clearing")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(clearing.contains("-37.99 EUR"), "{clearing}");
    // The chart: the stuck refund is one processing refund under 15 minutes old.
    let bar = browser
        .find("svg#ageing g.bar-processing[data-bucket='under_15m']")
        .await;
    assert_eq!(
        bar.attr("data-count").await.ok().flatten().as_deref(),
        Some("1")
    );
    let height = browser
        .find("svg#ageing g.bar-processing[data-bucket='under_15m'] rect")
        .await
        .attr("height")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(height.parse::<f64>().is_ok_and(|h| h > 10.0), "{height}");
    let title = browser
        .find("svg#ageing title")
        .await
        .html(true)
        .await
        .unwrap_or_default();
    let bars = browser
        .run("return [...document.querySelectorAll('svg#ageing g.bar')].reduce((n, g) => n + Number(g.dataset.count), 0);")
        .await;
    assert_eq!(
        title,
        format!("Open refunds by age: {bars} in all"),
        "the title counts what the bars show"
    );
    // A link from the summary to the matching refunds.
    assert!(!browser
        .find_all("table.by-status a[href*='status=processing']")
        .await
        .is_empty());
    let stuck_id = stuck["id"].as_str().unwrap_or_default();
    assert!(!stuck_id.is_empty());

    browser
        .client
        .set_window_size(1440, 1260)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let png = browser
        .client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let path = screenshot_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    println!("overview screenshot: {}", path.display());
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

#[tokio::test]
async fn the_export_downloads_the_periods_refunds_as_csv_and_jsonl() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    let first = gateway.efundpay_refund("12.99", "succeeded").await;
    let second = gateway.efundpay_refund("25.00", "succeeded").await;
    let first_id = first["id"].as_str().unwrap_or_default();
    let second_id = second["id"].as_str().unwrap_or_default();

    browser.sign_in(&gateway, DEMO_KEY).await;
    browser.click("#nav a[href='#/export']").await;
    browser.click("#ex-download").await;
    let notice = browser.wait_for_text("#export-result", "Downloaded").await;
    assert!(notice.contains("2 refund(s)"), "{notice}");
    let (name, csv) = browser.downloaded("refunds-").await;
    assert_eq!(name, "refunds-start-to-now.csv");
    assert!(csv.starts_with("id,merchant_id,provider,"), "{csv}");
    assert!(csv.contains(first_id) && csv.contains(second_id), "{csv}");

    browser.click("#ex-jsonl").await;
    browser.click("#ex-download").await;
    browser.wait_for_text("#export-result", ".jsonl").await;
    let (_, jsonl) = browser.downloaded("refunds-start-to-now.jsonl").await;
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let ids: Vec<&str> = lines.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, [second_id, first_id], "newest first");
    assert_eq!(browser.csp_violations().await, json!([]));
    browser.close().await;
}

/// The console's own modules, run in the browser that uses them: amounts with the
/// currency's exponent from decimal strings (never rounded), CSV cells neutralized, and
/// repeated status polls folded into one timeline entry.
#[tokio::test]
async fn the_consoles_modules_keep_exponents_neutralize_csv_and_fold_repeats_in_the_browser() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    browser.open(&gateway, "").await;
    browser.find("#api-key").await;
    let results = browser
        .run(
            "const money = await import('./js/money.js');
             await money.loadCurrencies();
             const csv = await import('./js/csv.js');
             const refund = await import('./js/views/refund.js');
             const poll = (id, at) => ({ object: 'refund_event', id, kind: 'provider_answer', status: null,
               previous_status: null, source: 'sync', detail: { provider_status: 'processing' }, created_at: at });
             const f = (a, c) => money.formatAmount(a, c, 'en-US');
             return {
               eur: f('12.9', 'EUR'), eur_whole: f('7', 'EUR'), big: f('1234567890123.45', 'EUR'),
               jpy: f('1500', 'JPY'), kwd: f('1.5', 'KWD'), kwd_full: f('0.125', 'KWD'),
               negative: f('-37.99', 'EUR'), de: money.formatAmount('1234.5', 'EUR', 'de-DE'),
               too_precise: f('1.999', 'EUR'), not_decimal: f('1e3', 'EUR'), missing: f(null, 'EUR'),
               exponents: [money.exponentOf('JPY'), money.exponentOf('KWD'), money.exponentOf('EUR')],
               list: money.formatAmounts([{currency: 'EUR', amount: '1.00'}, {currency: 'JPY', amount: '5'}], 'en-US'),
               cells: ['=1+1', '+1', '-2', '@x', '\\tt', 'a,b', 'say \"hi\"', 'plain'].map(csv.csvCell),
               records: csv.countCsvRecords('h1,h2\\r\\na,\"multi\\nline\"\\r\\nb,c\\r\\n'),
               folded: refund.groupRepeats([poll(1, 'a'), poll(2, 'b'), poll(3, 'c'),
                 { ...poll(4, 'd'), kind: 'status_changed', status: 'succeeded' }, poll(5, 'e')])
                 .map((g) => [g.event.id, g.repeats, g.last.id]),
             };",
        )
        .await;
    assert_eq!(
        results,
        json!({
            "eur": "12.90 EUR", "eur_whole": "7.00 EUR", "big": "1,234,567,890,123.45 EUR",
            "jpy": "1,500 JPY", "kwd": "1.500 KWD", "kwd_full": "0.125 KWD",
            "negative": "-37.99 EUR", "de": "1.234,50 EUR",
            "too_precise": "1.999 EUR", "not_decimal": "1e3 EUR", "missing": "—",
            "exponents": [0, 3, 2],
            "list": "1.00 EUR, 5 JPY",
            "cells": ["'=1+1", "'+1", "'-2", "'@x", "'\tt", "\"a,b\"", "\"say \"\"hi\"\"\"", "plain"],
            "records": 2,
            "folded": [[1, 3, 3], [4, 1, 4], [5, 1, 5]],
        })
    );
    browser.close().await;
}
