//! The tour's finance steps: the refund list and the reconciliation summary, whose expected
//! figures come from what the tour sent, then each provider's own statement fetched from its
//! simulator and imported.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::tour::{Tally, Tour, SANDBOX_API_KEY};

impl Tour {
    /// Lists the refunds: exactly those the tour expects recorded, by outcome.
    pub(super) async fn list_step(&mut self) {
        let name = "List the refunds";
        let Tally { succeeded, failed } = self.recorded;
        let total = succeeded + failed;
        let expected = format!(
            "{total} recorded: {succeeded} succeeded, {failed} failed (none for the refused amount or the over-refund)"
        );
        match self
            .call(Method::GET, "/v1/refunds?limit=100", None, None)
            .await
        {
            Ok(answer) => {
                let data = answer.body["data"].as_array().cloned().unwrap_or_default();
                let count = |status: &str| data.iter().filter(|r| r["status"] == status).count();
                let got = format!(
                    "{} recorded: {} succeeded, {} failed, {} other",
                    data.len(),
                    count("succeeded"),
                    count("failed"),
                    data.len() - count("succeeded") - count("failed"),
                );
                let ok = answer.status == StatusCode::OK
                    && data.len() == total
                    && count("succeeded") == succeeded
                    && count("failed") == failed;
                self.record(name, expected, got, ok);
            }
            Err(error) => self.record(name, expected, error, false),
        }
    }

    /// The reconciliation summary of the hours around now: the succeeded totals must be what
    /// the tour sent.
    pub(super) async fn summary_step(&mut self) {
        let name = "Reconciliation summary";
        let expected = self.summary_expected();
        let expected = expected.as_str();
        let now = OffsetDateTime::now_utc();
        let (Ok(from), Ok(to)) = (
            (now - time::Duration::hours(1)).format(&Rfc3339),
            (now + time::Duration::hours(1)).format(&Rfc3339),
        ) else {
            self.record(name, expected, "cannot format the period", false);
            return;
        };
        let request = self
            .client
            .get(format!("{}/v1/reconciliation/summary", self.base))
            .bearer_auth(SANDBOX_API_KEY)
            .query(&[("from", from.as_str()), ("to", to.as_str())]);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                self.record(name, expected, format!("error: {error}"), false);
                return;
            }
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == StatusCode::NOT_FOUND && body["error"]["code"] == "route_not_found" {
            self.record(
                name,
                "skipped: route not built yet",
                "404 route_not_found",
                true,
            );
            return;
        }
        let got = succeeded_totals(&body);
        let ok = status == StatusCode::OK && got == expected;
        let got = if status == StatusCode::OK {
            got
        } else {
            format!("{} {got}", status.as_u16())
        };
        self.record(name, expected, got, ok);
    }

    /// `succeeded: <provider> <amount> <currency>, …` of what the tour expects succeeded.
    fn summary_expected(&self) -> String {
        let mut totals: Vec<String> = self
            .succeeded
            .iter()
            .map(|((provider, currency), amount)| format!("{provider} {amount} {currency}"))
            .collect();
        totals.sort();
        format!("succeeded: {}", totals.join(", "))
    }

    /// Fetches `provider`'s statement from its simulator and imports it as the merchant:
    /// every line must match (read in the provider's own format).
    pub(super) async fn statement_step(&mut self, provider: &str, content_type: &str) {
        let name = format!("{provider}'s own statement from its simulator, reconciled");
        let expected = "200, every line matched, no variance";
        let Some(base) = self.simulator_url(provider) else {
            self.record(&name, expected, "no simulator", false);
            return;
        };
        let fetched = async {
            let response = self
                .client
                .get(format!("{base}/_sandbox/statement"))
                .send()
                .await?
                .error_for_status()?;
            response.bytes().await
        }
        .await;
        let body = match fetched {
            Ok(body) => body,
            Err(error) => {
                self.record(&name, expected, format!("simulator: {error}"), false);
                return;
            }
        };
        let sent = self
            .client
            .post(format!(
                "{}/v1/reconciliation/statements/{provider}",
                self.base
            ))
            .bearer_auth(SANDBOX_API_KEY)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.record(&name, expected, format!("error: {error}"), false);
                return;
            }
        };
        let status = response.status();
        let report: Value = response.json().await.unwrap_or(Value::Null);
        let variances = report["variances"].as_array().map_or(0, Vec::len);
        let matched = report["matched"]["count"].as_u64().unwrap_or(0);
        let malformed = report["malformed_count"].as_u64().unwrap_or(0);
        let got = format!(
            "{}, {matched} refund(s) matched, {variances} variance(s), {malformed} malformed line(s)",
            status.as_u16()
        );
        let ok = status == StatusCode::OK && matched > 0 && variances == 0 && malformed == 0;
        self.record(&name, expected, got, ok);
    }
}

/// `succeeded: <provider> <amount> <currency>, …` from the summary's `by_status` rows.
fn succeeded_totals(summary: &Value) -> String {
    let Some(rows) = summary["by_status"].as_array() else {
        return "no by_status in the answer".to_owned();
    };
    let mut totals: Vec<String> = rows
        .iter()
        .filter(|row| row["status"] == "succeeded")
        .map(|row| {
            format!(
                "{} {} {}",
                row["provider"].as_str().unwrap_or("?"),
                row["amount"].as_str().unwrap_or("?"),
                row["currency"].as_str().unwrap_or("?")
            )
        })
        .collect();
    totals.sort();
    format!("succeeded: {}", totals.join(", "))
}
