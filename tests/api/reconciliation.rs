//! Finance (DESIGN §10): the ledger's invariants under random histories (store level), the
//! statement variance report (the gateway's CSV and providers' own formats, batches and
//! fees, the sample statements of `fixtures/statements/`), the summary, the per-payment
//! roll-up and the export (API).

mod api;
mod formats;
mod ledger;
mod samples;

use crate::helpers::TestApp;

/// POSTs a statement of `provider` (`query`: e.g. `?merchant=acme`) with `key`.
pub(crate) async fn post_statement(
    app: &TestApp,
    key: &str,
    provider: &str,
    query: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
) -> reqwest::Response {
    app.client
        .post(format!(
            "{}/v1/reconciliation/statements/{provider}{query}",
            app.address
        ))
        .bearer_auth(key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Noon (UTC) of the day `refund` was created, as a statement line's `settled_at`: the
/// statement's period (the whole UTC days its `settled_at` values span) is then the day of the
/// test's refunds at any hour, never the day after because the clock passed midnight since.
fn noon_of(refund: &serde_json::Value) -> String {
    let created = refund["created_at"].as_str().expect("created_at");
    format!("{}T12:00:00Z", &created[..10])
}
