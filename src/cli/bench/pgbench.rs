//! `bench --pgbench`: PostgreSQL's own ceiling on this machine in the same run, as
//! `pgbench -N` (its TPC-B-like transaction without the contended branch and teller updates:
//! three writes, a read and a commit) on a database of its own, at the bench's concurrency for
//! the bench's window. The gateway's refunds/s times its commits per refund over that
//! transactions/s says how close the gateway comes to what the server can commit.

use std::time::Duration;

use tokio::process::Command;

/// pgbench's scale: 100,000 accounts, created in a second or two.
const SCALE: &str = "1";

/// Runs `pgbench -i` then `pgbench -N` against `url` (a database made for it) and returns
/// its transactions per second; `Err` says why there is no figure.
pub(crate) async fn tps(url: &str, concurrency: u16, window: Duration) -> Result<f64, String> {
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", SCALE, url])
        .output()
        .await
        .map_err(|e| format!("cannot run pgbench (is postgresql-client installed?): {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        ));
    }
    let clients = concurrency.to_string();
    let threads = concurrency.min(2).to_string();
    let seconds = window.as_secs().max(1).to_string();
    let run = Command::new("pgbench")
        .args(["-N", "-c", &clients, "-j", &threads, "-T", &seconds, url])
        .output()
        .await
        .map_err(|e| format!("cannot run pgbench: {e}"))?;
    let out = String::from_utf8_lossy(&run.stdout);
    if !run.status.success() {
        return Err(format!(
            "pgbench -N failed: {}",
            String::from_utf8_lossy(&run.stderr).trim()
        ));
    }
    parse_tps(&out).ok_or_else(|| format!("no tps line in pgbench's output: {out}"))
}

/// The `tps = N (without initial connection time)` figure of pgbench's report.
fn parse_tps(report: &str) -> Option<f64> {
    report
        .lines()
        .filter(|line| line.starts_with("tps = "))
        .find(|line| line.contains("without initial connection time"))
        .or_else(|| report.lines().find(|line| line.starts_with("tps = ")))
        .and_then(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::parse_tps;

    #[test]
    fn the_tps_figure_is_read_from_pgbenchs_report() {
        let report = "transaction type: <builtin: simple update>\nscaling factor: 1\n\
                      number of transactions actually processed: 61905\n\
                      latency average = 15.502 ms\ninitial connection time = 60.131 ms\n\
                      tps = 4127.104861 (without initial connection time)\n";
        assert_eq!(parse_tps(report), Some(4127.104861));
        assert_eq!(
            parse_tps("tps = 12.5 (including connections establishing)\n"),
            Some(12.5)
        );
        assert_eq!(parse_tps("nothing"), None);
    }
}
