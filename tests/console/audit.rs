//! Operating the gateway from the console (DESIGN §18): the audit page shows what an operator
//! did, and the console says so when the key it holds has expired.

use std::time::Duration;

use refund_gateway::config::{hash_api_key, EMBEDDED_DEFAULT};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::harness::{exclusive, Browser, Gateway, OPERATOR_KEY};

#[tokio::test]
async fn an_operators_resolve_is_on_the_audit_page_and_merchants_have_no_audit_link() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let gateway = Gateway::start().await;
    // eFundPay's magic 90.90: processing for ever, no webhook.
    let stuck = gateway.efundpay_refund("90.90", "processing").await;
    let id = stuck["id"].as_str().unwrap_or_default().to_owned();
    let reason = "Provider confirmed by phone that nothing was paid out";
    let answer = gateway
        .http
        .post(format!("{}/v1/refunds/{id}/resolve", gateway.base))
        .bearer_auth(OPERATOR_KEY)
        .json(&serde_json::json!({"status": "failed", "reason": reason}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status().as_u16(), 200);

    browser.sign_in(&gateway, OPERATOR_KEY).await;
    browser.click("#nav-audit").await;
    let log = browser.wait_for_text("table.audit", &id).await;
    assert!(log.contains("refund.resolved"), "{log}");
    assert!(log.contains("finance"), "the operator is the actor: {log}");
    assert!(log.contains(reason), "{log}");
    // Filtered to another kind, the entry is gone.
    browser
        .find("#audit-kind")
        .await
        .select_by_value("statement.settled")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser.click("form.filters button[type=submit]").await;
    browser
        .wait_for_text("main .message", "No audit entries match")
        .await;

    // A merchant sees no Audit link.
    browser.click("#sign-out").await;
    browser.sign_in(&gateway, crate::harness::DEMO_KEY).await;
    let hidden = browser
        .run("return document.getElementById('nav-audit').hidden;")
        .await;
    assert_eq!(hidden, serde_json::json!(true));
    assert_eq!(browser.csp_violations().await, serde_json::json!([]));
    browser.close().await;
}

#[tokio::test]
async fn the_console_says_when_the_key_it_holds_has_expired() {
    let _one = exclusive().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    // A second key of merchant `demo` that expires a few seconds from now, beside its own.
    let short_key = "sk_console_expiring";
    let expires = (OffsetDateTime::now_utc() + Duration::from_secs(4))
        .format(&Rfc3339)
        .unwrap_or_else(|e| panic!("{e}"));
    let toml = EMBEDDED_DEFAULT.replace(
        "api_key = \"sk_sandbox_demo\"",
        &format!(
            "api_key = \"sk_sandbox_demo\"\napi_keys = [{{ sha256 = \"{}\", expires_at = \"{expires}\" }}]",
            hash_api_key(short_key)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    );
    assert_ne!(
        toml, EMBEDDED_DEFAULT,
        "the merchant's key line is in the default"
    );
    let gateway = Gateway::start_from(&toml).await;

    browser.sign_in(&gateway, short_key).await;
    // Past its expiry, the next page the console asks for is refused: it signs out and says
    // why, on the sign-in page.
    tokio::time::sleep(Duration::from_secs(5)).await;
    browser.click("#nav a[href='#/refunds']").await;
    let notice = browser.wait_for_text("main", "Your key has expired").await;
    assert!(
        notice.contains("Sign in with the key that replaced it"),
        "{notice}"
    );
    browser.find("#api-key").await;

    // Signing in again with it says it expired, not that it is unknown.
    browser
        .type_into("#api-key", &format!("{short_key}\u{E007}"))
        .await;
    browser
        .wait_for_text(".signin .feedback", "That key has expired")
        .await;
    assert_eq!(browser.csp_violations().await, serde_json::json!([]));
    browser.close().await;
}
