//! A fresh database per test: a SQLite file in a directory of the test's own, or a new
//! PostgreSQL database named `rg_test_…` (the names `.ci/run` drops before and after a run).
//!
//! The PostgreSQL variants run only when `REFUND_GATEWAY_TEST_POSTGRES_URL` is set. Without
//! it a test prints "skipped: …" and returns (visible with `--nocapture`), except under
//! `CI=true`, where a missing URL is a failure: CI must never pass by skipping.

use std::path::Path;

/// The variable naming the PostgreSQL server the tests make their databases on.
pub const POSTGRES_URL_VAR: &str = "REFUND_GATEWAY_TEST_POSTGRES_URL";

/// What a skipped PostgreSQL variant prints.
pub const SKIPPED: &str = "skipped: REFUND_GATEWAY_TEST_POSTGRES_URL not set";

/// The PostgreSQL server URL for tests; `None` (after printing [`SKIPPED`]) when it is not
/// set, or set empty (`VAR= cargo test`), outside CI.
///
/// # Panics
/// When it is not set and `CI=true`.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR).map(|url| url.trim().to_owned()) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but {POSTGRES_URL_VAR} is not set")
        }
        _ => {
            eprintln!("{SKIPPED}");
            None
        }
    }
}

/// A new, empty PostgreSQL database on the test server; its URL. `None` when PostgreSQL
/// tests are skipped here (see [`postgres_url`]).
///
/// # Panics
/// When the server cannot be reached or the database cannot be made: a test environment
/// fault, not a skip.
pub async fn fresh_postgres_database() -> Option<String> {
    let base = postgres_url()?;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable for the PostgreSQL tests: {e}"));
    let name = format!("rg_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
    pool.close().await;
    let (prefix, _) = base
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{POSTGRES_URL_VAR} must name a database: {base}"));
    Some(format!("{prefix}/{name}"))
}

/// The URL of the SQLite database `gateway.db` in `dir` (made on first connect).
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/gateway.db", dir.display())
}
