//! `refund-gateway bench --batch 10000`: what a bulk-refund batch costs (DESIGN §19). The
//! gateway runs as a child process in front of the chosen provider's simulator; one NDJSON
//! file of `--batch` rows (the simulator's sample refund bodies) is posted, and the run
//! waits until the batch is completed. Reported: how long the file took to be accepted
//! (validated and stored whole), the rows per second from then to completion at
//! `[batches] rows_per_second = --batch-rate`, and the gateway's peak RSS.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::args::BenchArgs;
use super::figures::{per_second, round};
use super::scene::Scene;
use super::setup::{BenchError, API_KEY};

/// The longest a batch may take before the run gives up.
const LIMIT: Duration = Duration::from_secs(1800);

/// What a batch run measured.
#[derive(Debug, Clone)]
pub struct BatchReport {
    provider: &'static str,
    db: &'static str,
    rows: u32,
    rate_limit: u32,
    /// From the POST to its 202 (the whole file validated and stored).
    accepted: Duration,
    /// From the 202 to the batch completed.
    completed: Duration,
    created: i64,
    failed_rows: i64,
    peak_rss_mb: Option<f64>,
}

impl BatchReport {
    /// Rows created (or failed) per second from acceptance to completion.
    pub(crate) fn rows_per_second(&self) -> f64 {
        per_second(f64::from(self.rows), self.completed)
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "provider": self.provider,
            "db": self.db,
            "rows": self.rows,
            "rows_per_second_limit": self.rate_limit,
            "accepted_ms": round(self.accepted.as_secs_f64() * 1000.0, 1),
            "completed_s": round(self.completed.as_secs_f64(), 2),
            "rows_per_second": round(self.rows_per_second(), 1),
            "created": self.created,
            "failed_rows": self.failed_rows,
            "peak_rss_mb": self.peak_rss_mb.map(|m| round(m, 1)),
        })
    }

    pub fn render(&self) -> String {
        format!(
            "refund-gateway bench --batch: provider {}, db {}, {} rows (limit {} rows/s)\n\n\
             accepted (validated and stored) in {:.0} ms; completed {:.1} s later: {:.1} rows/s; \
             {} created, {} failed; gateway peak RSS {}\n\n{}\n",
            self.provider,
            self.db,
            self.rows,
            self.rate_limit,
            self.accepted.as_secs_f64() * 1000.0,
            self.completed.as_secs_f64(),
            self.rows_per_second(),
            self.created,
            self.failed_rows,
            self.peak_rss_mb
                .map_or_else(|| "unknown".to_owned(), |m| format!("{m:.1} MiB")),
            self.json()
        )
    }
}

/// One batch run of `rows` rows.
pub async fn run(args: &BenchArgs, rows: u32) -> Result<BatchReport, BenchError> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120));
    Scene::play(args, client, async |scene| {
        let (plugin, run, client) = (scene.plugin, &scene.run, &scene.client);
        let extra = format!("[batches]\nrows_per_second = {}\n", args.batch_rate);
        let (simulator, gateway) = scene.start_gateway(args, &extra).await?;
        let url = gateway.base_url.clone();
        let mut file = String::new();
        for n in 0..rows {
            file.push_str(
                &simulator
                    .sample_merchant_body(&format!("{run}b{n}"))
                    .to_string(),
            );
            file.push('\n');
        }
        let posted = Instant::now();
        let answer = client
            .post(format!("{url}/v1/refund_batches"))
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("content-type", "application/x-ndjson")
            .body(file)
            .send()
            .await?;
        let status = answer.status().as_u16();
        let batch: Value = answer.json().await?;
        if status != 202 {
            return Err(BenchError::Gateway(format!(
                "the batch was answered {status}: {batch}"
            )));
        }
        let accepted_at = Instant::now();
        let id = batch["id"].as_str().unwrap_or_default().to_owned();
        let done = loop {
            let batch: Value = client
                .get(format!("{url}/v1/refund_batches/{id}"))
                .header("authorization", format!("Bearer {API_KEY}"))
                .send()
                .await?
                .json()
                .await?;
            if batch["status"] == "completed" {
                break batch;
            }
            if accepted_at.elapsed() > LIMIT {
                return Err(BenchError::Gateway(format!(
                    "the batch did not complete within {} s",
                    LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let completed = accepted_at.elapsed();
        let peak_rss_mb = gateway.peak_rss_mb();
        gateway.stop().await?;
        drop(simulator);
        Ok(BatchReport {
            provider: plugin.id(),
            db: args.db.as_str(),
            rows,
            rate_limit: args.batch_rate,
            accepted: accepted_at.duration_since(posted),
            completed,
            created: done["created"].as_i64().unwrap_or(0),
            failed_rows: done["failed_rows"].as_i64().unwrap_or(0),
            peak_rss_mb,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_rate_is_the_rows_over_the_time_from_acceptance_to_completion() {
        let report = BatchReport {
            provider: "efundpay",
            db: "sqlite",
            rows: 10_000,
            rate_limit: 10_000,
            accepted: Duration::from_millis(800),
            completed: Duration::from_secs(40),
            created: 10_000,
            failed_rows: 0,
            peak_rss_mb: Some(64.0),
        };
        assert_eq!(report.rows_per_second(), 250.0);
        assert_eq!(report.json()["rows_per_second"], 250.0);
        assert!(report.render().ends_with(&format!("{}\n", report.json())));
    }
}
