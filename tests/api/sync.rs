//! Following refunds to a final status when the provider's answer is lost: status sync after
//! a timeout or a dropped answer, the not-found grace period, a refund the provider has no
//! record of flagged (or, where the section trusts both proofs, re-sent once), and exactly
//! one effect at the provider in every case.

use std::time::Duration;

use provider_authms::sandbox as authms;
use provider_efundpay::sandbox as efundpay;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_live, wait_for_refund, Db, TestApp, ACME_KEY};

const SYNC: &str = r#"
[sync]
poll_interval_ms = 50
first_retry_ms = 100
max_retry_ms = 400
not_found_grace_ms = 600
"#;

async fn authms_gateway(
    db: Db,
    faults: authms::Faults,
    section_extra: &str,
) -> Option<(TestApp, authms::Sandbox)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = authms::SandboxConfig {
        hang_ms: 1500,
        faults,
        ..authms::SandboxConfig::default()
    };
    let sandbox = authms::Sandbox::start(listener, config)
        .await
        .expect("sandbox");
    let tail = format!(
        "[providers.authms]\nbase_url = \"{}\"\ntoken = \"sandbox-authms-token\"\ntimeout_ms = 300\n{section_extra}\n[[routes]]\nprovider = \"authms\"\n{SYNC}",
        sandbox.base_url()
    );
    Some((spawn_live(db, "", &tail).await?, sandbox))
}

async fn efundpay_gateway(
    db: Db,
    faults: efundpay::Faults,
    section_extra: &str,
) -> Option<(TestApp, efundpay::Sandbox)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let config = efundpay::SandboxConfig {
        hang_ms: 1500,
        webhook_delay_ms: 100,
        faults,
        ..efundpay::SandboxConfig::default()
    };
    let sandbox = efundpay::Sandbox::start(listener, config)
        .await
        .expect("sandbox");
    let tail = format!(
        "[providers.efundpay]\nbase_url = \"{}\"\ntoken = \"sandbox-efundpay-token\"\nmerchant_account_id = \"sandbox-merchant\"\nwebhook_secret = \"sandbox-efundpay-whsec\"\ntimeout_ms = 300\n{section_extra}\n[[routes]]\nprovider = \"efundpay\"\n{SYNC}",
        sandbox.base_url()
    );
    Some((spawn_live(db, "", &tail).await?, sandbox))
}

fn wallet_refund() -> Value {
    json!({"payment_id": "txn_sync_1", "amount": "50.00", "currency": "CNY", "customer_id": "usr_abc123", "reason": "Product return"})
}

fn card_refund() -> Value {
    json!({"payment_id": "pay_sync_1", "amount": "12.99", "currency": "EUR", "reason": "Product return"})
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post_refund(ACME_KEY, Some("sync-key"), body).await;
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("json")
}

/// Creates the refund, then waits (bounded) for it to reach a final status: returns the
/// create answer and the refund as last seen.
async fn create_and_settle(app: &TestApp, body: &Value) -> (Value, Value) {
    let created = create(app, body).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let settled = wait_for_refund(app, &id, Duration::from_secs(10), is_final).await;
    (created, settled)
}

fn is_final(refund: &Value) -> bool {
    ["succeeded", "failed", "canceled"].contains(&refund["status"].as_str().unwrap_or(""))
}

both_backends!(
    a_refund_applied_after_the_timeout_is_found_by_status_query,
    |db: Db| async move {
        let faults = authms::Faults {
            apply_then_hang_next: 1,
            ..authms::Faults::default()
        };
        let Some((app, sandbox)) = authms_gateway(db, faults, "").await else {
            return;
        };
        let (refund, settled) = create_and_settle(&app, &wallet_refund()).await;
        assert_eq!(
            refund["status"], "pending",
            "a timeout is an unknown outcome, never a failure"
        );
        let id = refund["id"].as_str().expect("id");
        assert_eq!(settled["status"], "succeeded", "{settled}");
        assert_eq!(sandbox.effects().len(), 1, "applied exactly once");
        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        assert!(
            events["data"]
                .as_array()
                .expect("events")
                .iter()
                .any(|e| e["source"] == "sync" && e["status"] == "succeeded"),
            "{events}"
        );
    }
);

both_backends!(
    a_wallet_refund_whose_answer_was_dropped_is_settled_once,
    |db: Db| async move {
        let faults = authms::Faults {
            drop_after_apply_next: 1,
            ..authms::Faults::default()
        };
        let Some((app, sandbox)) = authms_gateway(db, faults, "").await else {
            return;
        };
        let (refund, settled) = create_and_settle(&app, &wallet_refund()).await;
        assert_eq!(refund["status"], "pending");
        assert_eq!(settled["status"], "succeeded", "{settled}");
        assert_eq!(sandbox.effects().len(), 1);
        // A client retry with the same key replays; it never reaches the provider again.
        let replay = app
            .post_refund(ACME_KEY, Some("sync-key"), &wallet_refund())
            .await;
        assert_eq!(replay.status().as_u16(), 200);
        assert_eq!(sandbox.effects().len(), 1);
    }
);

both_backends!(
    a_wallet_refund_that_never_arrived_is_flagged_for_an_operator_never_failed_nor_resent,
    |db: Db| async move {
        let faults = authms::Faults {
            fail_next: 1,
            ..authms::Faults::default()
        };
        let Some((app, sandbox)) = authms_gateway(db, faults, "").await else {
            return;
        };
        let refund = create(&app, &wallet_refund()).await;
        assert_eq!(refund["status"], "pending", "a 5xx is an unknown outcome");
        let id = refund["id"].as_str().expect("id");
        let flagged = wait_for_refund(&app, id, Duration::from_secs(10), |r| {
            r["requires_attention"] == true
        })
        .await;
        // AuthMS's status query is our assumption: its "not found" proves nothing (DESIGN
        // §16), so the refund is neither failed (the merchant would refund again) nor re-sent.
        assert_eq!(flagged["status"], "pending", "{flagged}");
        assert_eq!(flagged["requires_attention"], true, "{flagged}");
        assert_eq!(sandbox.effects().len(), 0, "never re-sent");
    }
);

both_backends!(
    a_card_refund_whose_answer_was_dropped_is_settled_once,
    |db: Db| async move {
        let faults = efundpay::Faults {
            drop_after_apply_next: 1,
            ..efundpay::Faults::default()
        };
        let Some((app, sandbox)) = efundpay_gateway(db, faults, "").await else {
            return;
        };
        let (refund, settled) = create_and_settle(&app, &card_refund()).await;
        assert_eq!(refund["status"], "pending");
        assert_eq!(settled["status"], "succeeded", "{settled}");
        assert!(settled["provider_refund_id"].is_string());
        assert_eq!(sandbox.effects().len(), 1);
    }
);

both_backends!(
    a_card_refund_that_never_arrived_is_resent_once_where_the_section_trusts_both_proofs,
    |db: Db| async move {
        let faults = efundpay::Faults {
            fail_next: 1,
            ..efundpay::Faults::default()
        };
        // The simulator's list does hold every refund and it refuses a second refund with the
        // same external_identifier: what `trust_not_found` / `trust_resend` are for.
        let trust = "trust_not_found = true\ntrust_resend = true\n";
        let Some((app, sandbox)) = efundpay_gateway(db, faults, trust).await else {
            return;
        };
        let (refund, settled) = create_and_settle(&app, &card_refund()).await;
        assert_eq!(refund["status"], "pending");
        let id = refund["id"].as_str().expect("id");
        assert_eq!(settled["status"], "succeeded", "{settled}");
        let effects = sandbox.effects();
        assert_eq!(effects.len(), 1, "{effects:?}");
        assert_eq!(effects[0].reference, id);
        let events: Value = app
            .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
            .await;
        assert!(
            events["data"]
                .as_array()
                .expect("events")
                .iter()
                .any(|e| e["kind"] == "resent"),
            "{events}"
        );
    }
);

both_backends!(
    a_lease_that_ran_out_is_no_longer_renewed_so_two_workers_never_share_a_row,
    |db: Db| async move {
        use refund_gateway::store::work::Queue;
        let Some(url) = crate::helpers::fresh_database(db).await else {
            return;
        };
        let provider = crate::helpers::fake(crate::helpers::Script::Fail(
            refund_provider::ProviderError::unknown("timeout"),
        ));
        let app = crate::helpers::spawn_on(url.clone(), provider).await;
        let pending: serde_json::Value = app.create(crate::helpers::ACME_KEY, None, &serde_json::json!({"payment_id": "pay_lease", "amount": "1.00", "currency": "EUR"}),).await;
        assert_eq!(pending["status"], "pending");
        let id = pending["id"].as_str().expect("id").to_owned();
        drop(app);
        let store = refund_gateway::store::Store::connect(&url, 2)
            .await
            .expect("store");
        // Worker A claims the refund (it is due within the hour) with a lease until t+100.
        let t = refund_gateway::store::now_ms() + 3_600_000;
        let a = store
            .claim_due_refunds(t, t + 100, 10)
            .await
            .expect("claim");
        assert_eq!(a.len(), 1);
        // A's lease runs out while it works on earlier refunds; worker B claims it.
        let b = store
            .claim_due_refunds(t + 200, t + 300, 10)
            .await
            .expect("claim");
        assert_eq!(b.len(), 1, "an expired lease is claimable");
        assert!(
            !store
                .renew_lease(Queue::Sync, &id, t + 100, t + 200, t + 400)
                .await
                .expect("renew"),
            "A may not go on with a refund whose lease ran out"
        );
        assert!(store
            .renew_lease(Queue::Sync, &id, t + 300, t + 200, t + 400)
            .await
            .expect("renew"));
        // A lease still held renews; one already past its end does not.
        assert!(!store
            .renew_lease(Queue::Sync, &id, t + 400, t + 500, t + 600)
            .await
            .expect("renew"));
        store.close().await;
    }
);

/// A provider that proves absence and deduplicates by reference, and whose list lags: the first send times out
/// after applying, its status query says "not found" until the refund was sent twice, and
/// the re-send is refused (the provider already has it).
#[derive(Debug, Default)]
struct LaggingProvider {
    sends: std::sync::atomic::AtomicUsize,
}

#[refund_provider::async_trait]
impl refund_provider::RefundProvider for LaggingProvider {
    fn id(&self) -> refund_provider::ProviderId {
        refund_provider::ProviderId::from_static("scripted")
    }

    fn capabilities(&self) -> refund_provider::Capabilities {
        refund_provider::Capabilities {
            currencies: None,
            partial: true,
            full_without_amount: false,
            status_query: true,
            webhooks: false,
        }
    }

    /// It claims both proofs, so the engine may re-send once after "not found".
    fn proofs(&self) -> refund_provider::Proofs {
        refund_provider::Proofs {
            not_found_proves_absence: true,
            resend_is_deduplicated: true,
            answers_carry_amount: true,
        }
    }

    async fn refund(
        &self,
        _req: &refund_provider::ProviderRefundRequest,
    ) -> Result<refund_provider::ProviderRefund, refund_provider::ProviderError> {
        use std::sync::atomic::Ordering;
        match self.sends.fetch_add(1, Ordering::SeqCst) {
            0 => Err(refund_provider::ProviderError::unknown(
                "timed out after sending",
            )),
            _ => Err(refund_provider::ProviderError::rejected(
                refund_provider::FailureCode::ProviderRejected,
                "422 refund_not_allowed: this transaction is already refunded",
            )),
        }
    }

    async fn refund_status(
        &self,
        req: &refund_provider::ProviderRefundRequest,
    ) -> Result<refund_provider::ProviderRefund, refund_provider::ProviderError> {
        use refund_provider::ProviderRefundStatus;
        use std::sync::atomic::Ordering;
        if self.sends.load(Ordering::SeqCst) < 2 {
            return Ok(refund_provider::ProviderRefund::not_found());
        }
        let mut found = refund_provider::ProviderRefund::with_status(
            ProviderRefundStatus::Succeeded,
            "succeeded",
        );
        found.provider_refund_id = Some("prov_lagging".into());
        found.provider_reference = Some(req.provider_reference.clone());
        found.amount = req.amount;
        Ok(found)
    }

    fn parse_webhook(
        &self,
        _h: &http::HeaderMap,
        _b: &[u8],
        _n: time::OffsetDateTime,
    ) -> Result<refund_provider::ProviderWebhook, refund_provider::ProviderError> {
        Err(refund_provider::ProviderError::invalid_webhook(
            "no webhooks",
        ))
    }
}

both_backends!(
    a_refused_resend_is_settled_by_a_status_query_never_called_failed_blindly,
    |db: Db| async move {
        let provider = std::sync::Arc::new(LaggingProvider::default());
        let sync = "[sync]\npoll_interval_ms = 30\nfirst_retry_ms = 30\nmax_retry_ms = 60\nnot_found_grace_ms = 300\n";
        let Some(app) = crate::helpers::spawn_custom(db, provider.clone(), sync).await else {
            return;
        };
        let refund = create(&app, &card_refund()).await;
        assert_eq!(refund["status"], "pending");
        let id = refund["id"].as_str().expect("id");
        let settled =
            crate::helpers::wait_for_refund(&app, id, std::time::Duration::from_secs(10), is_final)
                .await;
        assert_eq!(
            settled["status"], "succeeded",
            "the refused re-send was settled by what the provider has: {settled}"
        );
        assert_eq!(settled["provider_refund_id"], "prov_lagging");
        assert_eq!(
            provider.sends.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "sent once, re-sent once"
        );
    }
);
