//! The gateway under test as a child `refund-gateway serve` process: its own runtime and its
//! own memory, so its peak RSS (`VmHWM` of `/proc/<pid>/status`) is the gateway's alone, not
//! the load generator's or the simulators'.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::setup::BenchError;

/// A running gateway child; killed when dropped.
#[derive(Debug)]
pub(crate) struct GatewayChild {
    child: Child,
    pub(crate) base_url: String,
    pub(crate) log: PathBuf,
}

impl GatewayChild {
    /// Starts `<this executable> serve --config <config>` with its output in `<dir>/gateway.log`
    /// and waits until it listens and `/readyz` answers.
    pub(crate) async fn start(
        config: &Path,
        dir: &Path,
        client: &reqwest::Client,
    ) -> Result<Self, BenchError> {
        let exe = std::env::current_exe().map_err(|e| BenchError::Gateway(e.to_string()))?;
        let log = dir.join("gateway.log");
        let out = std::fs::File::create(&log).map_err(|e| BenchError::Gateway(e.to_string()))?;
        let err = out
            .try_clone()
            .map_err(|e| BenchError::Gateway(e.to_string()))?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::Gateway(format!("cannot start the gateway: {e}")))?;
        let mut started = Self {
            child,
            base_url: String::new(),
            log,
        };
        started.base_url = started.wait_for_banner().await?;
        started.wait_until_ready(client).await?;
        Ok(started)
    }

    /// Reads the log until the `listening on http://ADDR` banner line.
    async fn wait_for_banner(&mut self) -> Result<String, BenchError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|line| {
                let rest = line.split_once("listening on http://")?.1;
                let addr = rest.split_whitespace().next()?;
                Some(format!("http://{addr}"))
            }) {
                return Ok(url);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::Gateway(format!(
                    "the gateway exited ({status}) before listening; see {}",
                    self.log.display()
                )));
            }
            if Instant::now() > deadline {
                return Err(BenchError::Gateway(format!(
                    "the gateway did not start within 60 s; see {}",
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_until_ready(&self, client: &reqwest::Client) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/readyz", self.base_url);
        loop {
            if let Ok(answer) = client.get(&url).send().await {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(BenchError::Gateway(format!("{url} never answered 200")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The child's peak resident set so far (`VmHWM`), in MiB.
    pub(crate) fn peak_rss_mb(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status_kib(&status, "VmHWM:").map(|kib| kib as f64 / 1024.0)
    }

    /// The CPU time the child has used so far (user + system), in clock ticks of
    /// `/proc/<pid>/stat` (USER_HZ, 100 per second on Linux).
    pub(crate) fn cpu_ticks(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat_cpu_ticks(&stat)
    }

    /// Asks the child to stop (SIGTERM by its pid, so it drains and closes its pool), and
    /// kills it after 10 s. A child that had already exited fails the run, naming its log
    /// (a failed run keeps its directory): figures measured around a dead gateway are not a
    /// gateway's figures.
    pub(crate) async fn stop(mut self) -> Result<(), BenchError> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(BenchError::Gateway(format!(
                "the gateway exited ({status}) before the run ended; see {}",
                self.log.display()
            )));
        }
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        let _ = self.child.kill().await;
        Ok(())
    }
}

/// How many `/proc/<pid>/stat` clock ticks make a second (USER_HZ: 100 on Linux, whatever
/// the kernel's own tick rate).
pub(crate) const TICKS_PER_SECOND: u64 = 100;

/// `utime + stime` of a `/proc/<pid>/stat` line (fields 14 and 15, counted after the
/// command name, which may itself hold spaces and parentheses).
pub(crate) fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{stat_cpu_ticks, status_kib, GatewayChild};

    /// A child around `program` (no gateway: only its process matters here).
    fn child(program: &str, args: &[&str]) -> GatewayChild {
        GatewayChild {
            child: tokio::process::Command::new(program)
                .args(args)
                .kill_on_drop(true)
                .spawn()
                .expect("spawn"),
            base_url: String::new(),
            log: "gateway.log".into(),
        }
    }

    #[tokio::test]
    async fn a_gateway_that_died_during_the_run_fails_it_naming_its_log() {
        let mut died = child("sh", &["-c", "exit 3"]);
        died.child.wait().await.expect("wait");
        let error = died.stop().await.expect_err("a dead gateway fails the run");
        let message = error.to_string();
        assert!(message.contains("exited"), "{message}");
        assert!(message.contains("gateway.log"), "{message}");
    }

    #[tokio::test]
    async fn a_gateway_still_running_is_stopped_and_the_run_stands() {
        let running = child("sleep", &["30"]);
        running.stop().await.expect("a live gateway stops cleanly");
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime_even_with_a_parenthesis_in_the_name() {
        let stat = "4242 (refund (gw)) S 1 4242 4242 0 -1 4194560 2167 0 0 0 731 129 0 0 20 0 6 0 1234 0 0";
        assert_eq!(stat_cpu_ticks(stat), Some(860));
        assert_eq!(stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn the_peak_rss_is_read_from_the_vmhwm_line() {
        let status = "Name:\trefund-gateway\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   30000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(40_960));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }
}
