//! The adapter against the AuthMS sandbox end to end: happy paths, every magic value, a
//! dropped answer for transfers, the sandbox's own refusals, the cap on retained refunds, and
//! the books balancing after a random run. The counted faults' contract for a wallet refund
//! is the conformance kit's (`tests/conformance.rs`).
#![cfg(feature = "sandbox")]

use std::time::{Duration, Instant};

use provider_authms::sandbox::{
    magic, Faults, Sandbox, SandboxConfig, SandboxWallet, MERCHANT_OPENING_MINOR, MERCHANT_USER_ID,
    TOKEN, UNSEEN_PAYMENT_AMOUNT_MINOR,
};
use provider_authms::AuthMsProvider;
use rand::{Rng, SeedableRng};
use refund_provider::testkit::{get_json, post_json, RequestBuilder};
use refund_provider::{
    Currency, Money, ProviderError, ProviderRefundRequest, ProviderRefundStatus, RefundProvider,
    SecretString,
};
use serde_json::{json, Value};

async fn sandbox(config: SandboxConfig) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    Sandbox::start(listener, config).await.expect("sandbox")
}

fn adapter_with(sandbox: &Sandbox, token: &str, timeout: Duration) -> AuthMsProvider {
    AuthMsProvider::new(&sandbox.base_url(), SecretString::from(token), timeout)
        .expect("provider")
        .with_transfer_source_user_id(MERCHANT_USER_ID)
}

fn adapter(sandbox: &Sandbox) -> AuthMsProvider {
    adapter_with(sandbox, TOKEN, Duration::from_secs(5))
}

fn cny(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("CNY").expect("cny")).expect("amount")
}

fn request(payment_id: &str, customer: &str, amount: Option<&str>) -> ProviderRefundRequest {
    let mut req = RequestBuilder::new(payment_id, "CNY")
        .reason("sandbox test")
        .customer(customer)
        .build();
    req.amount = amount.map(cny);
    req
}

fn transfer(customer: &str, amount: &str) -> ProviderRefundRequest {
    let mut req = request("txn_none", customer, Some(amount));
    req.options = json!({"method": "transfer"});
    req
}

fn rejected_code(result: Result<refund_provider::ProviderRefund, ProviderError>) -> String {
    match result {
        Err(ProviderError::Rejected { code, .. }) => code.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wallet_refund_credits_the_customer_from_the_settlement_wallet_and_is_found_again() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    let req = request("txn_order_1", "usr_alice", Some("50.00"));

    let refund = adapter.refund(&req).await.expect("refund");

    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.amount, Some(cny("50.00")));
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(sandbox.balance_minor("usr_alice"), Some(5000));
    assert_eq!(
        sandbox.balance_minor(MERCHANT_USER_ID),
        Some(MERCHANT_OPENING_MINOR - 5000)
    );
    let effects = sandbox.effects();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].reference, req.refund_id.to_string());
    assert_eq!(
        (effects[0].payment_id.as_str(), effects[0].amount_minor),
        ("txn_order_1", 5000)
    );
    assert_eq!(
        (effects[0].currency.as_str(), effects[0].status.as_str()),
        ("CNY", "completed")
    );

    let status = adapter.refund_status(&req).await.expect("status");
    assert_eq!(status.status, ProviderRefundStatus::Succeeded);
    assert_eq!(status.provider_refund_id, refund.provider_refund_id);
    sandbox.check_ledger().expect("books balance");
}

#[tokio::test]
async fn a_full_refund_of_an_unseen_payment_returns_the_whole_payment_once() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    let refund = adapter
        .refund(&request("txn_order_2", "usr_bob", None))
        .await
        .expect("refund");
    assert_eq!(
        refund.amount.map(|m| m.minor_units().get()),
        Some(UNSEEN_PAYMENT_AMOUNT_MINOR)
    );
    let again = adapter
        .refund(&request("txn_order_2", "usr_bob", Some("0.01")))
        .await;
    assert_eq!(rejected_code(again), "amount_invalid");
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_payment_and_no_further() {
    let mut config = SandboxConfig::default();
    config
        .payments
        .push(provider_authms::sandbox::SandboxPayment {
            transaction_id: "txn_order_3".into(),
            user_id: "usr_carol".into(),
            amount_minor: 10_000,
        });
    let sandbox = sandbox(config).await;
    let adapter = adapter(&sandbox);
    for amount in ["40.00", "60.00"] {
        let r = adapter
            .refund(&request("txn_order_3", "usr_carol", Some(amount)))
            .await;
        assert_eq!(
            r.map(|r| r.status).ok(),
            Some(ProviderRefundStatus::Succeeded),
            "{amount}"
        );
    }
    let over = adapter
        .refund(&request("txn_order_3", "usr_carol", Some("0.01")))
        .await;
    assert_eq!(rejected_code(over), "amount_invalid");
    let stranger = adapter
        .refund(&request("txn_order_3", "usr_dave", Some("1.00")))
        .await;
    assert_eq!(rejected_code(stranger), "provider_rejected");
    assert_eq!(sandbox.balance_minor("usr_carol"), Some(10_000));
    sandbox.check_ledger().expect("books balance");
}

#[tokio::test]
async fn a_transfer_moves_money_in_balanced_double_entry_and_is_found_by_its_description() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    let req = transfer("usr_erin", "25.50");

    let refund = adapter.refund(&req).await.expect("transfer");

    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.amount, Some(cny("25.50")));
    assert_eq!(sandbox.balance_minor("usr_erin"), Some(2550));
    assert_eq!(
        sandbox.balance_minor(MERCHANT_USER_ID),
        Some(MERCHANT_OPENING_MINOR - 2550)
    );
    let effects = sandbox.effects();
    assert_eq!(effects[0].kind, "transfer");
    assert_eq!(effects[0].reference, req.refund_id.to_string());

    let status = adapter.refund_status(&req).await.expect("status");
    assert_eq!(status.status, ProviderRefundStatus::Succeeded);
    assert_eq!(status.provider_refund_id, refund.provider_refund_id);
    sandbox.check_ledger().expect("books balance");
}

#[tokio::test]
async fn a_transfer_the_source_cannot_cover_is_insufficient_balance_and_moves_nothing() {
    let mut config = SandboxConfig::default();
    config.wallets.push(SandboxWallet {
        user_id: "usr_poor".into(),
        balance_minor: 100,
    });
    let sandbox = sandbox(config).await;
    let adapter = AuthMsProvider::new(
        &sandbox.base_url(),
        SecretString::from(TOKEN),
        Duration::from_secs(5),
    )
    .expect("provider")
    .with_transfer_source_user_id("usr_poor");
    let result = adapter.refund(&transfer("usr_frank", "1.01")).await;
    assert_eq!(rejected_code(result), "insufficient_balance");
    assert_eq!(sandbox.balance_minor("usr_poor"), Some(100));
    assert!(sandbox.effects().is_empty());
    let ok = adapter
        .refund(&transfer("usr_frank", "1.00"))
        .await
        .expect("exactly covered");
    assert_eq!(ok.status, ProviderRefundStatus::Succeeded);
    assert_eq!(sandbox.balance_minor("usr_poor"), Some(0));
}

#[tokio::test]
async fn each_magic_value_gives_its_documented_outcome() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    let cases = [
        (
            magic::PAYMENT_INSUFFICIENT,
            "usr_g",
            "10.00",
            "insufficient_balance",
        ),
        (
            magic::PAYMENT_MISSING,
            "usr_g",
            "10.00",
            "provider_rejected",
        ),
        (
            magic::PAYMENT_REJECTED,
            "usr_g",
            "10.00",
            "provider_rejected",
        ),
        ("txn_order_9", "usr_g", "13.13", "amount_invalid"),
        (
            "txn_order_9",
            magic::USER_MISSING,
            "10.00",
            "provider_rejected",
        ),
    ];
    for (payment, customer, amount, code) in cases {
        let result = adapter
            .refund(&request(payment, customer, Some(amount)))
            .await;
        assert_eq!(rejected_code(result), code, "{payment} {customer} {amount}");
    }
    let transfer_magic = adapter.refund(&transfer("usr_g", "13.13")).await;
    assert_eq!(rejected_code(transfer_magic), "amount_invalid");
    let server_error = adapter
        .refund(&request(
            magic::PAYMENT_SERVER_ERROR,
            "usr_g",
            Some("10.00"),
        ))
        .await;
    assert!(
        matches!(server_error, Err(ProviderError::Unknown { .. })),
        "{server_error:?}"
    );
    assert!(
        sandbox.effects().is_empty(),
        "no magic failure applies anything"
    );

    let failed = adapter
        .refund(&request(magic::PAYMENT_FAILED, "usr_g", Some("10.00")))
        .await
        .expect("answered");
    assert_eq!(failed.status, ProviderRefundStatus::Failed);
    assert_eq!(
        sandbox.balance_minor("usr_g"),
        Some(0),
        "a failed refund moves nothing"
    );

    let missing_wallet = adapter
        .refund_status(&request("txn_order_9", magic::USER_MISSING, Some("10.00")))
        .await
        .expect("status");
    assert_eq!(missing_wallet.status, ProviderRefundStatus::NotFound);
    sandbox.check_ledger().expect("books balance");
}

#[tokio::test]
async fn a_processing_refund_settles_by_itself_and_the_status_query_sees_it() {
    let config = SandboxConfig {
        settle_after_ms: 150,
        ..SandboxConfig::default()
    };
    let sandbox = sandbox(config).await;
    let adapter = adapter(&sandbox);
    let req = request(magic::PAYMENT_PROCESSING, "usr_h", Some("8.00"));
    let first = adapter.refund(&req).await.expect("refund");
    assert_eq!(first.status, ProviderRefundStatus::Processing);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let later = adapter.refund_status(&req).await.expect("status");
    assert_eq!(later.status, ProviderRefundStatus::Succeeded);
    assert_eq!(sandbox.effects()[0].status, "completed");
}

#[tokio::test]
async fn the_status_query_finds_nothing_for_a_refund_never_made() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    adapter
        .refund(&request("txn_order_4", "usr_i", Some("1.00")))
        .await
        .expect("refund");
    for req in [
        request("txn_order_4", "usr_i", Some("1.00")),
        request("txn_order_4", "usr_never_seen", Some("1.00")),
    ] {
        let status = adapter.refund_status(&req).await.expect("status");
        assert_eq!(status.status, ProviderRefundStatus::NotFound);
    }
}

#[tokio::test]
async fn a_bad_token_is_misconfigured_for_refunds_and_queries() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter_with(&sandbox, "not-the-token", Duration::from_secs(5));
    let req = request("txn_order_5", "usr_j", Some("1.00"));
    assert!(matches!(
        adapter.refund(&req).await,
        Err(ProviderError::Misconfigured { .. })
    ));
    assert!(matches!(
        adapter.refund_status(&req).await,
        Err(ProviderError::Misconfigured { .. })
    ));
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn drop_after_apply_breaks_the_answer_after_the_effect_for_refunds_and_transfers() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let adapter = adapter(&sandbox);
    sandbox.set_faults(Faults {
        drop_after_apply_next: 2,
        ..Faults::default()
    });
    let refund = request("txn_order_10", "usr_n", Some("4.00"));
    let moved = transfer("usr_n", "6.00");
    for req in [&refund, &moved] {
        match adapter.refund(req).await {
            // Headers may or may not have arrived before the connection died: either way the
            // client is left without an answer after the effect.
            Err(ProviderError::Unknown { .. }) => {}
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
    assert_eq!(sandbox.effects().len(), 2);
    assert_eq!(sandbox.balance_minor("usr_n"), Some(1000));
    for req in [&refund, &moved] {
        let status = adapter.refund_status(req).await.expect("status");
        assert_eq!(status.status, ProviderRefundStatus::Succeeded);
    }
}

#[tokio::test]
async fn latency_and_faults_can_be_set_over_http_and_effects_read_back() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let http = reqwest::Client::new();
    let set = post_json(
        &http,
        &format!("{}/_sandbox/faults", sandbox.base_url()),
        &json!({"latency_ms": 300, "fail_next": 0}),
    )
    .await;
    assert_eq!(set.status(), 200);
    assert_eq!(sandbox.faults().latency_ms, 300);
    let adapter = adapter(&sandbox);
    let req = request("txn_order_11", "usr_o", Some("2.00"));
    let started = Instant::now();
    adapter.refund(&req).await.expect("refund");
    assert!(started.elapsed() >= Duration::from_millis(300));

    let effects: Value = get_json(&http, &format!("{}/_sandbox/effects", sandbox.base_url())).await;
    assert_eq!(effects[0]["reference"], req.refund_id.to_string());
    assert_eq!(effects[0]["amount_minor"], 200);
    let bad = post_json(
        &http,
        &format!("{}/_sandbox/faults", sandbox.base_url()),
        &json!({"fial_next": 1}),
    )
    .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_sandbox_refuses_bad_auth_and_bad_fields_in_the_documented_shape() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let http = reqwest::Client::new();
    let refund_url = format!("{}/wallets/usr_p/refund", sandbox.base_url());
    let transfer_url = format!("{}/wallets/transfer", sandbox.base_url());
    let good = json!({"transaction_id": "txn_x", "amount": "1.00", "reference_id": "rf_x"});
    let cases: Vec<(&str, Option<&str>, Value, u16)> = vec![
        (&refund_url, None, good.clone(), 401),
        (&refund_url, Some("Bearer wrong"), good.clone(), 401),
        (&refund_url, Some(TOKEN), good.clone(), 401), // no "Bearer " scheme
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"amount": "1.00"}),
            400,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": ""}),
            400,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": "t", "amount": 1.0}),
            400,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": "t", "extra": 1}),
            400,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": "t", "amount": "1"}),
            422,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": "t", "amount": "1.001"}),
            422,
        ),
        (
            &refund_url,
            Some("Bearer sandbox-authms-token"),
            json!({"transaction_id": "t", "amount": "0.00"}),
            422,
        ),
        (
            &transfer_url,
            Some("Bearer sandbox-authms-token"),
            json!({"amount": "1.00", "to_user_id": "usr_p"}),
            400,
        ),
        (
            &transfer_url,
            Some("Bearer sandbox-authms-token"),
            json!({"amount": "1.00", "from_user_id": "usr_p", "to_user_id": "usr_p"}),
            400,
        ),
        (
            &transfer_url,
            Some("Bearer sandbox-authms-token"),
            json!({"amount": "-1.00", "from_user_id": "usr_merchant", "to_user_id": "usr_p"}),
            422,
        ),
        (
            &transfer_url,
            Some("Bearer sandbox-authms-token"),
            json!({"amount": "1.00", "from_user_id": "sys_funding", "to_user_id": "usr_p"}),
            404,
        ),
    ];
    for (url, auth, body, expected) in cases {
        let mut builder = http.post(url).json(&body);
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        let answer = builder.send().await.expect("answer");
        assert_eq!(answer.status().as_u16(), expected, "{url} {auth:?} {body}");
        let simple: Value = answer.json().await.expect("json body");
        assert_eq!(simple["code"], expected);
        assert!(simple["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(simple["timestamp"].is_string());
    }
    let text = http
        .post(&refund_url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(good.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(text.status(), 400, "a body without a JSON content type");
    assert!(sandbox.effects().is_empty());
    sandbox.check_ledger().expect("books balance");
}

#[tokio::test]
async fn the_books_balance_after_every_step_of_a_random_run() {
    let sandbox = sandbox(SandboxConfig {
        merchant_opening_minor: 2_000_000,
        unseen_payment_amount_minor: 50_000,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    let http = reqwest::Client::new();
    let users = ["usr_r1", "usr_r2", "usr_r3"];
    let payments = [
        "txn_r1",
        "txn_r2",
        "txn_r3",
        "txn_r4",
        magic::PAYMENT_FAILED,
        magic::PAYMENT_INSUFFICIENT,
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x00a7_u64);
    let mut applied = 0;
    for step in 0..120 {
        let user = users[rng.random_range(0..users.len())];
        let minor: i64 = rng.random_range(1..40_000);
        let amount = Money::from_minor(
            refund_provider::MinorUnits::new(minor).expect("positive"),
            Currency::parse("CNY").expect("cny"),
        )
        .to_major_string();
        let outcome = match rng.random_range(0..4) {
            0 | 1 => {
                // Each payment belongs to the first user who refunds it.
                let payment = payments[rng.random_range(0..payments.len())];
                let full = rng.random_range(0..5) == 0;
                adapter
                    .refund(&request(payment, user, (!full).then_some(amount.as_str())))
                    .await
                    .map(|r| r.status)
            }
            2 => adapter
                .refund(&transfer(user, &amount))
                .await
                .map(|r| r.status),
            _ => {
                // Customer to customer, straight at the sandbox.
                let to = users[rng.random_range(0..users.len())];
                let answer = http
                    .post(format!("{}/wallets/transfer", sandbox.base_url()))
                    .bearer_auth(TOKEN)
                    .json(&json!({"amount": amount, "from_user_id": user, "to_user_id": to}))
                    .send()
                    .await
                    .expect("answer");
                Ok(if answer.status() == 200 {
                    ProviderRefundStatus::Succeeded
                } else {
                    ProviderRefundStatus::Failed
                })
            }
        };
        if outcome == Ok(ProviderRefundStatus::Succeeded) {
            applied += 1;
        }
        if let Err(e) = &outcome {
            assert!(
                matches!(e, ProviderError::Rejected { .. }),
                "step {step}: {e:?}"
            );
        }
        sandbox
            .check_ledger()
            .unwrap_or_else(|e| panic!("step {step}: books out of balance: {e}"));
    }
    assert!(
        applied > 20,
        "the run should move money often, moved {applied} times"
    );
}

#[tokio::test]
async fn the_simulator_keeps_at_most_its_cap_never_evicts_an_unsettled_refund_and_stays_balanced() {
    let sandbox = sandbox(SandboxConfig {
        max_refunds: 3,
        settle_after_ms: 60_000,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    let stuck = request(magic::PAYMENT_PROCESSING, "usr_cap_stuck", Some("3.00"));
    let first = adapter.refund(&stuck).await.expect("stuck refund");
    assert_eq!(first.status, ProviderRefundStatus::Processing);
    let settled: Vec<ProviderRefundRequest> = (0..6)
        .map(|n| {
            request(
                &format!("txn_cap_{n}"),
                &format!("usr_cap_{n}"),
                Some("1.00"),
            )
        })
        .collect();
    for req in &settled {
        adapter.refund(req).await.expect("refund");
        sandbox
            .check_ledger()
            .expect("the books balance after each eviction");
    }
    assert_eq!(sandbox.retained_refunds(), 3);
    let references: Vec<String> = sandbox.effects().into_iter().map(|e| e.reference).collect();
    assert_eq!(references.first(), Some(&stuck.provider_reference));
    let found = adapter.refund_status(&stuck).await.expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Processing);
    let forgotten = adapter.refund_status(&settled[0]).await.expect("status");
    assert_eq!(forgotten.status, ProviderRefundStatus::NotFound);
    assert_eq!(
        sandbox.balance_minor(MERCHANT_USER_ID),
        Some(MERCHANT_OPENING_MINOR - 900),
        "evicted entries still count in the merchant's balance"
    );
}

#[tokio::test]
async fn unsettled_refunds_may_exceed_the_cap_rather_than_be_forgotten() {
    let sandbox = sandbox(SandboxConfig {
        max_refunds: 2,
        settle_after_ms: 60_000,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    for _ in 0..4 {
        let req = request(magic::PAYMENT_PROCESSING, "usr_unsettled", Some("1.00"));
        adapter.refund(&req).await.expect("refund");
    }
    assert_eq!(sandbox.retained_refunds(), 4);
    sandbox.check_ledger().expect("balanced");
}

#[tokio::test]
async fn a_refund_evicted_at_once_is_still_answered_whole() {
    // With every older refund unsettled, the newest settled one is the first to go beyond
    // the cap: its answer must be built before it goes.
    let sandbox = sandbox(SandboxConfig {
        max_refunds: 1,
        settle_after_ms: 60_000,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    let stuck = request(magic::PAYMENT_PROCESSING, "usr_evict_stuck", Some("1.00"));
    adapter.refund(&stuck).await.expect("processing refund");
    let settled = request("txn_evict_now", "usr_evict_now", Some("2.00"));
    let answer = adapter.refund(&settled).await.expect("answered whole");
    assert_eq!(answer.status, ProviderRefundStatus::Succeeded);
    assert_eq!(sandbox.retained_refunds(), 1);
    sandbox.check_ledger().expect("balanced");
}
