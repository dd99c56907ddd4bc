//! Gateway integration tests: the application on a random loopback port, called over HTTP,
//! against SQLite and PostgreSQL.

mod console;
mod helpers;
mod idempotency;
mod malformed;
mod outbox;
mod reconciliation;
mod refunds;
mod sync;
mod webhooks;
