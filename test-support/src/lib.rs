//! One copy of what the gateway's test binaries (`tests/api`, `tests/e2e`, `tests/recovery`,
//! `tests/console`) and its unit tests stand on: a fresh database per test (PostgreSQL
//! variants say "skipped" when they cannot run, and fail under `CI=true`), temp dirs, free
//! ports, graceful shutdown of a gateway served in the test, polling until a condition
//! holds, and the config sections every test config starts with.
//!
//! Nothing here knows the gateway's types: the crate is a dev-dependency of the gateway,
//! and a dependency back on it would build the gateway twice.

pub mod config;
pub mod db;
pub mod dir;
pub mod net;
pub mod poll;
pub mod shutdown;

pub use db::{fresh_postgres_database, postgres_url, sqlite_url};
pub use dir::{temp_dir, TempDir};
pub use net::free_port;
pub use poll::poll_until;
pub use shutdown::{shutdown_signal, Shutdown};
