//! Every provider to a final status through the gateway, with its real adapter and wire
//! format, and the provider's own refusals mapped to failed refunds with the documented
//! failure codes. Tests of one provider's own behaviour (wallet balances, e-Buy's asset
//! breakdown, eFundPay's deliveries) reach that simulator's own type on purpose.

use std::time::Duration;

use serde_json::{json, Value};

use provider_authms::sandbox::Sandbox as AuthMs;
use provider_ebuy::sandbox::Sandbox as Ebuy;
use provider_efundpay::sandbox::Sandbox as EfundPay;

use crate::helpers::{providers, sends_webhooks, spawn, spawn_on, tag, transitions_to, Sims};

/// The reference the simulator knows the refund by (the refund id, or the reference the
/// adapter derived from it, e.g. e-Buy's `refundTradeNo`).
pub fn reference_of(refund: &Value) -> String {
    refund["provider_reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_providers_sample_refund_succeeds_once_by_its_answer_or_its_signed_webhook() {
    let app = spawn().await;
    for provider in providers() {
        let (status, refund) = app.create(&app.sims.sample(provider, &tag())).await;
        assert_eq!(status, 201, "{provider}: {refund}");
        assert_eq!(refund["provider"], provider, "{refund}");
        let id = refund["id"].as_str().expect("id");
        let settled = app
            .wait_for_status(id, "succeeded", Duration::from_secs(5))
            .await;
        assert_eq!(settled["status"], "succeeded", "{provider}: {settled}");
        let expected_source = if refund["status"] == "succeeded" {
            "provider"
        } else {
            assert!(sends_webhooks(provider), "{provider}: {refund}");
            "webhook"
        };
        let events = app.events(id).await;
        assert_eq!(
            transitions_to(&events, "succeeded"),
            [expected_source],
            "{provider}: {events:?}"
        );
        assert_eq!(
            app.sims.effects_for(provider, &reference_of(&refund)),
            1,
            "{provider}: applied once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authms_wallet_refund_succeeds_and_credits_the_wallet_once() {
    let app = spawn().await;
    let t = tag();
    let (status, refund) = app.create(&app.sims.sample("authms", &t)).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["provider"], "authms");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert_eq!(refund["amount"], "50.00");
    assert!(refund["provider_refund_id"].is_string(), "{refund}");
    let id = refund["id"].as_str().expect("id");
    assert_eq!(app.sims.effects_for("authms", id), 1);
    let wallets = app.sims.concrete::<AuthMs>("authms");
    assert_eq!(wallets.balance_minor(&format!("usr_{t}")), Some(5_000));
    wallets
        .check_ledger()
        .expect("the simulator's books balance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authms_transfer_refund_is_funded_by_the_merchant_wallet() {
    let app = spawn().await;
    let t = tag();
    let (status, refund) = app
        .create(
            &json!({"payment_id": format!("txn_{t}"), "amount": "10.00", "currency": "CNY",
                        "customer_id": format!("usr_{t}"),
                        "provider_options": {"authms": {"method": "transfer"}}}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    let wallets = app.sims.concrete::<AuthMs>("authms");
    assert_eq!(wallets.balance_minor(&format!("usr_{t}")), Some(1_000));
    assert_eq!(app.sims.all_effects("authms"), 1);
    wallets
        .check_ledger()
        .expect("the simulator's books balance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ebuy_cash_refund_succeeds_with_a_cash_breakdown() {
    let app = spawn().await;
    let (status, refund) = app.create(&app.sims.sample("ebuy", &tag())).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["provider"], "ebuy");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert_eq!(refund["amount_minor"], 800);
    assert_eq!(
        refund["breakdown"],
        json!([{"asset_type": "cash", "amount": "8.00", "status": "succeeded"}]),
        "{refund}"
    );
    let reference = reference_of(&refund);
    assert_eq!(
        reference.len(),
        32,
        "refundTradeNo is 32 digits: {reference}"
    );
    assert_eq!(app.sims.effects_for("ebuy", &reference), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ebuy_whole_order_refund_succeeds_across_every_asset() {
    let app = spawn().await;
    let payment = format!("ORDER{}", tag());
    let (status, refund) = app
        .create(&json!({"payment_id": payment, "currency": "CNY"}))
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    // The simulator's unseen order: cash 1000.00, coupon 5.00, cash card 100.00, points 10.00.
    assert_eq!(refund["amount"], "1115.00", "{refund}");
    let assets: Vec<&str> = refund["breakdown"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l["asset_type"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for asset in ["cash", "coupon", "cashcard", "points"] {
        assert!(assets.contains(&asset), "{asset} missing from {refund}");
    }
    let remaining = app
        .sims
        .concrete::<Ebuy>("ebuy")
        .remaining(&payment)
        .expect("the order is known now");
    assert_eq!(
        (
            remaining.cash,
            remaining.coupon,
            remaining.cashcard,
            remaining.points
        ),
        (0, 0, 0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_efundpay_refund_is_processing_until_the_signed_webhook_says_succeeded() {
    let app = spawn().await;
    let (status, refund) = app.create(&app.sims.sample("efundpay", &tag())).await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["provider"], "efundpay");
    assert_eq!(refund["status"], "processing", "{refund}");
    assert_eq!(refund["amount_minor"], 1299);
    let id = refund["id"].as_str().expect("id");

    let settled = app
        .wait_for_status(id, "succeeded", Duration::from_secs(5))
        .await;
    assert_eq!(settled["status"], "succeeded", "{settled}");
    let events = app.events(id).await;
    assert_eq!(
        transitions_to(&events, "succeeded"),
        ["webhook"],
        "{events:?}"
    );
    assert_eq!(app.sims.effects_for("efundpay", id), 1);
    let deliveries = app.sims.concrete::<EfundPay>("efundpay").deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].answer, Some(200), "{deliveries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn efundpay_refunds_that_fail_or_are_voided_later_reach_that_final_status_by_webhook() {
    let app = spawn().await;
    for (amount, final_status) in [("60.60", "failed"), ("80.80", "canceled")] {
        let (status, refund) = app
            .create(&json!({"payment_id": format!("pay_{}", tag()), "amount": amount, "currency": "EUR"}))
            .await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "processing", "{amount}: {refund}");
        let id = refund["id"].as_str().expect("id");
        let settled = app
            .wait_for_status(id, final_status, Duration::from_secs(5))
            .await;
        assert_eq!(settled["status"], final_status, "{amount}: {settled}");
        let events = app.events(id).await;
        assert_eq!(
            transitions_to(&events, final_status),
            ["webhook"],
            "{amount}: {events:?}"
        );
        if final_status == "failed" {
            assert!(settled["failure_code"].is_string(), "{settled}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_refusals_become_failed_refunds_with_the_mapped_failure_code() {
    let app = spawn().await;
    let cases = [
        // (what, body, failure_code)
        (
            "AuthMS 409 insufficient balance",
            json!({"payment_id": "txn_insufficient", "amount": "20.00", "currency": "CNY", "customer_id": "usr_a"}),
            "insufficient_balance",
        ),
        (
            "AuthMS 422 invalid amount (13.13)",
            json!({"payment_id": format!("txn_{}", tag()), "amount": "13.13", "currency": "CNY", "customer_id": "usr_b"}),
            "amount_invalid",
        ),
        (
            "AuthMS 400 cannot be refunded",
            json!({"payment_id": "txn_rejected", "amount": "20.00", "currency": "CNY", "customer_id": "usr_c"}),
            "provider_rejected",
        ),
        (
            "AuthMS 404 unknown transaction",
            json!({"payment_id": "txn_missing", "amount": "20.00", "currency": "CNY", "customer_id": "usr_d"}),
            "provider_rejected",
        ),
        (
            "AuthMS transaction failed",
            json!({"payment_id": "txn_failed", "amount": "20.00", "currency": "CNY", "customer_id": "usr_e"}),
            "provider_failed",
        ),
        (
            "e-Buy REFUND_DECLINED (99.99)",
            json!({"payment_id": format!("ORDER{}", tag()), "amount": "99.99", "currency": "CNY"}),
            "provider_rejected",
        ),
        (
            "e-Buy ORDER_NOT_FOUND",
            json!({"payment_id": format!("NOTFOUND{}", tag()), "amount": "8.00", "currency": "CNY"}),
            "provider_rejected",
        ),
        (
            "e-Buy every line FAIL",
            json!({"payment_id": format!("FAIL{}", tag()), "amount": "8.00", "currency": "CNY"}),
            "provider_failed",
        ),
        (
            "eFundPay declined (40.40)",
            json!({"payment_id": format!("pay_{}", tag()), "amount": "40.40", "currency": "EUR"}),
            "provider_declined",
        ),
        (
            "eFundPay failed (50.50)",
            json!({"payment_id": format!("pay_{}", tag()), "amount": "50.50", "currency": "EUR"}),
            "provider_failed",
        ),
        (
            "eFundPay 422 refund_not_allowed (42.20)",
            json!({"payment_id": format!("pay_{}", tag()), "amount": "42.20", "currency": "EUR"}),
            "provider_rejected",
        ),
        (
            "eFundPay 404 unknown transaction",
            json!({"payment_id": "pay_not_found", "amount": "12.99", "currency": "EUR"}),
            "provider_rejected",
        ),
    ];
    for (what, body, failure_code) in cases {
        let (status, refund) = app.create(&body).await;
        assert_eq!(status, 201, "{what}: {refund}");
        assert_eq!(refund["status"], "failed", "{what}: {refund}");
        assert_eq!(refund["failure_code"], failure_code, "{what}: {refund}");
        assert!(refund["failure_message"].is_string(), "{what}: {refund}");
    }
    app.sims
        .concrete::<AuthMs>("authms")
        .check_ledger()
        .expect("the simulator's books balance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_to_a_provider_nobody_listens_for_waits_in_the_queue() {
    let sims = Sims::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let nowhere = format!("http://127.0.0.1:{closed}");
    let app = spawn_on(sims, &[("authms", &nowhere)]).await;
    let (status, refund) = app.create(&app.sims.sample("authms", &tag())).await;
    assert_eq!(status, 201, "{refund}");
    // Never sent (connection refused): queued, not failed (DESIGN §17).
    assert_eq!(refund["status"], "pending", "{refund}");
    assert_eq!(refund["pending_reason"], "provider_unavailable", "{refund}");
    assert_eq!(refund["failure_code"], Value::Null, "{refund}");
}
