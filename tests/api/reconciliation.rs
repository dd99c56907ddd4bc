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

/// Noon today (UTC), as a statement line's `settled_at`.
fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T12:00:00Z",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}
