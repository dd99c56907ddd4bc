//! What a bench run cost PostgreSQL, as PostgreSQL itself counts it: snapshots of its
//! statistics views at the start and the end of the measured window, and their difference
//! per refund.
//!
//! - `pg_stat_database` (always there): transactions committed and rolled back in the bench's
//!   database.
//! - `pg_stat_wal` (always there, but cluster-wide: another client of the same server in the
//!   window is counted too): WAL records, full-page images and bytes.
//! - `pg_stat_user_tables`: rows inserted, updated, and updated HOT (no index touched) per
//!   table.
//! - `pg_stat_statements` (only where the server loads it through
//!   `shared_preload_libraries`): calls and execution time per statement of this database.
//!   Without it the report says why and carries on.
//! - The server processes' CPU (`/proc/<pid>/stat` of the backends of this database and of
//!   the WAL writer, checkpointer and background writer), when the server runs on this
//!   machine.

use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Row;

use super::child::{stat_cpu_ticks, TICKS_PER_SECOND};
use super::figures::{ratio, round};

/// The statistics of one moment.
#[derive(Debug, Clone)]
pub(crate) struct PgSnapshot {
    commits: i64,
    rollbacks: i64,
    /// The next transaction id to be assigned: only transactions that write take one.
    next_xid: i64,
    wal_records: i64,
    wal_fpi: i64,
    wal_bytes: f64,
    /// Per table: rows inserted, updated, updated HOT.
    tables: HashMap<String, [i64; 3]>,
    /// Per statement (queryid): calls, total execution ms, text; `Err` why unknown.
    statements: Result<HashMap<i64, (i64, f64, String)>, String>,
    /// CPU ticks used so far per server process; `None` when the server is not local.
    cpu: Option<HashMap<u32, u64>>,
}

/// One statement's share of a window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatementCost {
    pub(crate) calls: i64,
    pub(crate) total_ms: f64,
    pub(crate) query: String,
}

/// What the window cost, from two snapshots.
#[derive(Debug, Clone)]
pub(crate) struct PgCost {
    /// Transactions committed in the database, read-only ones included.
    pub(crate) commits: i64,
    pub(crate) rollbacks: i64,
    /// Transactions that wrote (took a transaction id), cluster-wide.
    pub(crate) write_transactions: i64,
    pub(crate) wal_records: i64,
    pub(crate) wal_fpi: i64,
    pub(crate) wal_bytes: f64,
    /// Per table: inserted, updated, updated HOT.
    pub(crate) tables: Vec<(String, [i64; 3])>,
    /// Statements by total time, largest first; `Err`: why they are unknown.
    pub(crate) statements: Result<Vec<StatementCost>, String>,
    /// The server processes' CPU ticks in the window; `None` when not measurable.
    pub(crate) cpu_ticks: Option<u64>,
}

impl Default for PgSnapshot {
    fn default() -> Self {
        Self {
            commits: 0,
            rollbacks: 0,
            next_xid: 0,
            wal_records: 0,
            wal_fpi: 0,
            wal_bytes: 0.0,
            tables: HashMap::new(),
            statements: Ok(HashMap::new()),
            cpu: None,
        }
    }
}

/// A connection to the bench's database for its statistics.
#[derive(Debug, Clone)]
pub(crate) struct PgProbe {
    pool: PgPool,
    /// Why `pg_stat_statements` cannot be read, found at connect time.
    statements_missing: Option<String>,
}

/// The texts of the probe's own statements, left out of the statement counts.
const OWN_MARK: &str = "/* bench probe */";

impl PgProbe {
    /// Connects to `url` (the bench's database) and makes `pg_stat_statements` available in
    /// it when the server has it loaded.
    pub(crate) async fn connect(url: &str) -> Result<Self, String> {
        let options: PgConnectOptions = url.parse().map_err(|e| format!("{e}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| e.to_string())?;
        let preload: String = sqlx::query_scalar("SHOW shared_preload_libraries")
            .fetch_one(&pool)
            .await
            .map_err(|e| e.to_string())?;
        let statements_missing = if !preload.split(',').any(|l| l.trim() == "pg_stat_statements") {
            Some(format!(
                "pg_stat_statements is not in the server's shared_preload_libraries (`{preload}`); \
                 add it (ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', then restart the server) for per-statement figures"
            ))
        } else {
            match sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&pool)
                .await
            {
                Ok(_) => None,
                Err(e) => Some(format!(
                    "cannot create the pg_stat_statements extension: {e}"
                )),
            }
        };
        Ok(Self {
            pool,
            statements_missing,
        })
    }

    /// The statistics now.
    pub(crate) async fn snapshot(&self) -> Result<PgSnapshot, String> {
        let err = |e: sqlx::Error| e.to_string();
        let database = sqlx::query(&format!(
            "{OWN_MARK} SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        let wal = sqlx::query(&format!(
            "{OWN_MARK} SELECT wal_records, wal_fpi, wal_bytes::float8 AS wal_bytes, \
             pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid FROM pg_stat_wal"
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        let tables = sqlx::query(&format!(
            "{OWN_MARK} SELECT relname::text AS relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>("relname")?,
                [
                    row.try_get::<i64, _>("n_tup_ins")?,
                    row.try_get::<i64, _>("n_tup_upd")?,
                    row.try_get::<i64, _>("n_tup_hot_upd")?,
                ],
            ))
        })
        .collect::<Result<HashMap<_, _>, sqlx::Error>>()
        .map_err(err)?;
        let statements = match &self.statements_missing {
            Some(why) => Err(why.clone()),
            None => self.statements().await,
        };
        Ok(PgSnapshot {
            commits: database.try_get("xact_commit").map_err(err)?,
            rollbacks: database.try_get("xact_rollback").map_err(err)?,
            next_xid: wal.try_get("next_xid").map_err(err)?,
            wal_records: wal.try_get("wal_records").map_err(err)?,
            wal_fpi: wal.try_get("wal_fpi").map_err(err)?,
            wal_bytes: wal.try_get("wal_bytes").map_err(err)?,
            tables,
            statements,
            cpu: self.server_cpu().await,
        })
    }

    async fn statements(&self) -> Result<HashMap<i64, (i64, f64, String)>, String> {
        let rows = sqlx::query(&format!(
            "{OWN_MARK} SELECT queryid, calls, total_exec_time, query FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND queryid IS NOT NULL"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| format!("pg_stat_statements: {e}"))?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get::<i64, _>("queryid")?,
                    (
                        row.try_get::<i64, _>("calls")?,
                        row.try_get::<f64, _>("total_exec_time")?,
                        row.try_get::<String, _>("query")?,
                    ),
                ))
            })
            .filter(|entry: &Result<(i64, (i64, f64, String)), sqlx::Error>| {
                !matches!(entry, Ok((_, (_, _, query))) if is_own(query))
            })
            .collect::<Result<HashMap<_, _>, sqlx::Error>>()
            .map_err(|e| e.to_string())
    }

    /// CPU ticks so far of the server processes working for this database (its backends but
    /// this probe's) and of the WAL writer, checkpointer and background writer; `None` when
    /// they are not processes of this machine.
    async fn server_cpu(&self) -> Option<HashMap<u32, u64>> {
        let pids: Vec<i32> = sqlx::query_scalar(&format!(
            "{OWN_MARK} SELECT pid FROM pg_stat_activity \
             WHERE (datname = current_database() AND pid <> pg_backend_pid()) \
                OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"
        ))
        .fetch_all(&self.pool)
        .await
        .ok()?;
        let mut ticks = HashMap::new();
        for pid in pids {
            let pid = u32::try_from(pid).ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            if !comm.starts_with("postgres") {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            ticks.insert(pid, stat_cpu_ticks(&stat)?);
        }
        Some(ticks)
    }

    /// The database's size on disk, in bytes.
    pub(crate) async fn database_bytes(&self) -> Option<i64> {
        sqlx::query_scalar(&format!(
            "{OWN_MARK} SELECT pg_database_size(current_database())"
        ))
        .fetch_one(&self.pool)
        .await
        .ok()
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

fn is_own(query: &str) -> bool {
    query.contains(OWN_MARK) || query.contains("pg_stat_statements")
}

impl PgCost {
    /// What happened between `start` and `end`.
    pub(crate) fn between(start: &PgSnapshot, end: &PgSnapshot) -> Self {
        let mut tables: Vec<(String, [i64; 3])> = end
            .tables
            .iter()
            .map(|(name, after)| {
                let before = start.tables.get(name).copied().unwrap_or_default();
                (
                    name.clone(),
                    [0, 1, 2].map(|i| after[i].saturating_sub(before[i])),
                )
            })
            .filter(|(_, delta)| delta.iter().any(|n| *n > 0))
            .collect();
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        let statements = match (&start.statements, &end.statements) {
            (Ok(before), Ok(after)) => {
                let mut costs: Vec<StatementCost> = after
                    .iter()
                    .filter_map(|(id, (calls, ms, query))| {
                        let (calls0, ms0) = before
                            .get(id)
                            .map_or((0, 0.0), |(calls, ms, _)| (*calls, *ms));
                        (calls > &calls0).then(|| StatementCost {
                            calls: calls - calls0,
                            total_ms: ms - ms0,
                            query: query.clone(),
                        })
                    })
                    .collect();
                costs.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
                Ok(costs)
            }
            (Err(why), _) | (_, Err(why)) => Err(why.clone()),
        };
        let cpu_ticks = match (&start.cpu, &end.cpu) {
            (Some(before), Some(after)) => Some(
                after
                    .iter()
                    .map(|(pid, ticks)| ticks.saturating_sub(before.get(pid).copied().unwrap_or(0)))
                    .sum(),
            ),
            _ => None,
        };
        Self {
            commits: end.commits - start.commits,
            rollbacks: end.rollbacks - start.rollbacks,
            write_transactions: end.next_xid - start.next_xid,
            wal_records: end.wal_records - start.wal_records,
            wal_fpi: end.wal_fpi - start.wal_fpi,
            wal_bytes: end.wal_bytes - start.wal_bytes,
            tables,
            statements,
            cpu_ticks,
        }
    }

    /// Figures per refund (`refunds` completed in the window), as the JSON line carries them.
    pub(crate) fn per_refund(&self, refunds: u64) -> Value {
        let per = |value: f64| {
            if refunds == 0 {
                Value::Null
            } else {
                json!(round(value / refunds as f64, 3))
            }
        };
        let (statements, statement_ms) = match &self.statements {
            Ok(costs) => (
                per(costs.iter().map(|c| c.calls as f64).sum()),
                per(costs.iter().map(|c| c.total_ms).sum()),
            ),
            Err(_) => (Value::Null, Value::Null),
        };
        let hot: serde_json::Map<String, Value> = self
            .tables
            .iter()
            .filter(|(_, [_, updated, _])| *updated > 0)
            .map(|(name, [_, updated, hot])| {
                (name.clone(), json!(round(*hot as f64 / *updated as f64, 3)))
            })
            .collect();
        json!({
            "commits_per_refund": per(self.commits as f64),
            "write_transactions_per_refund": per(self.write_transactions as f64),
            "rollbacks_per_refund": per(self.rollbacks as f64),
            "wal_bytes_per_refund": per(self.wal_bytes),
            "wal_records_per_refund": per(self.wal_records as f64),
            "wal_fpi_per_refund": per(self.wal_fpi as f64),
            "statements_per_refund": statements,
            "statement_ms_per_refund": statement_ms,
            "server_cpu_ms_per_refund": self
                .cpu_ticks
                .map_or(Value::Null, |t| per(t as f64 * 1000.0 / TICKS_PER_SECOND as f64)),
            "hot_update_ratio": hot,
            "statements_missing": self.statements.as_ref().err(),
        })
    }

    /// The human-readable part: totals, tables, the statements by time.
    pub(crate) fn render(&self, refunds: u64) -> String {
        let n = refunds.max(1) as f64;
        let mut out = format!(
            "PostgreSQL in the window ({refunds} refunds): {:.2} transactions ({:.2} that wrote), {:.0} WAL bytes ({:.1} records, {:.2} full pages) per refund{}\n",
            self.commits as f64 / n,
            self.write_transactions as f64 / n,
            self.wal_bytes / n,
            self.wal_records as f64 / n,
            self.wal_fpi as f64 / n,
            self.cpu_ticks.map_or_else(String::new, |t| format!(
                "; server CPU {:.3} ms per refund",
                t as f64 * 1000.0 / TICKS_PER_SECOND as f64 / n
            )),
        );
        out.push_str(&format!(
            "{:<22} {:>10} {:>10} {:>10} {:>6}\n",
            "table", "ins/refund", "upd/refund", "hot/refund", "hot %"
        ));
        for (name, [ins, upd, hot]) in &self.tables {
            out.push_str(&format!(
                "{:<22} {:>10.2} {:>10.2} {:>10.2} {:>6}\n",
                name,
                *ins as f64 / n,
                *upd as f64 / n,
                *hot as f64 / n,
                if *upd > 0 {
                    format!("{:.0}", *hot as f64 * 100.0 / *upd as f64)
                } else {
                    "-".into()
                }
            ));
        }
        match &self.statements {
            Err(why) => out.push_str(&format!("statements: unknown: {why}\n")),
            Ok(costs) => {
                let calls: i64 = costs.iter().map(|c| c.calls).sum();
                let ms: f64 = costs.iter().map(|c| c.total_ms).sum();
                out.push_str(&format!(
                    "statements: {:.2} per refund, {:.3} ms of execution per refund\n{:>8} {:>9} {:>8}  statement\n",
                    calls as f64 / n,
                    ms / n,
                    "calls/rf",
                    "mean ms",
                    "% time"
                ));
                for cost in costs.iter().take(12) {
                    out.push_str(&format!(
                        "{:>8.2} {:>9.3} {:>8.1}  {}\n",
                        cost.calls as f64 / n,
                        cost.total_ms / cost.calls.max(1) as f64,
                        ratio(cost.total_ms * 100.0, ms),
                        one_line(&cost.query, 100)
                    ));
                }
            }
        }
        out
    }
}

/// A statement's text on one line, at most `max` characters.
fn one_line(query: &str, max: usize) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(commits: i64, calls: i64, hot: i64) -> PgSnapshot {
        PgSnapshot {
            commits,
            next_xid: commits / 2,
            wal_bytes: commits as f64 * 1000.0,
            tables: HashMap::from([("refunds".to_owned(), [commits, 2 * commits, hot])]),
            statements: Ok(HashMap::from([
                (
                    1,
                    (
                        calls,
                        calls as f64 * 0.5,
                        "INSERT INTO refunds …".to_owned(),
                    ),
                ),
                (2, (5, 1.0, "SELECT 1".to_owned())),
            ])),
            cpu: Some(HashMap::from([(10, 100), (11, 5)])),
            ..PgSnapshot::default()
        }
    }

    #[test]
    fn the_cost_of_a_window_is_the_difference_of_its_snapshots_per_refund() {
        let mut end = snapshot(300, 400, 50);
        if let Some(cpu) = end.cpu.as_mut() {
            cpu.insert(10, 150);
            cpu.insert(12, 10);
        }
        let cost = PgCost::between(&snapshot(100, 100, 0), &end);
        assert_eq!(cost.commits, 200);
        // pid 10 ran 50 more ticks, 11 none, 12 (a backend that started) 10.
        assert_eq!(cost.cpu_ticks, Some(50 + 10));
        let per = cost.per_refund(100);
        assert_eq!(per["commits_per_refund"], 2.0);
        assert_eq!(per["write_transactions_per_refund"], 1.0);
        assert_eq!(per["wal_bytes_per_refund"], 2000.0);
        assert_eq!(
            per["statements_per_refund"], 3.0,
            "unchanged statements drop out"
        );
        assert_eq!(per["statement_ms_per_refund"], 1.5);
        assert_eq!(per["server_cpu_ms_per_refund"], 6.0);
        assert_eq!(per["hot_update_ratio"]["refunds"], 0.125);
        assert_eq!(per["statements_missing"], Value::Null);
        assert!(cost.render(100).contains("INSERT INTO refunds"));
    }

    #[test]
    fn without_pg_stat_statements_the_report_says_why_and_keeps_the_rest() {
        let mut start = snapshot(0, 0, 0);
        start.statements = Err("not loaded".into());
        start.cpu = None;
        let cost = PgCost::between(&start, &snapshot(10, 10, 0));
        let per = cost.per_refund(10);
        assert_eq!(per["statements_per_refund"], Value::Null);
        assert_eq!(per["statements_missing"], "not loaded");
        assert_eq!(per["commits_per_refund"], 1.0);
        assert_eq!(per["server_cpu_ms_per_refund"], Value::Null);
        assert!(cost.render(10).contains("unknown: not loaded"));
    }
}
