//! Gateway integration tests: the application on a random loopback port, called over HTTP,
//! against SQLite and PostgreSQL.

mod accounts;
mod approvals;
mod audit;
mod batches;
mod breaker;
mod connections;
mod console;
mod helpers;
mod idempotency;
mod live_migration;
mod malformed;
mod metrics;
mod migration;
mod openapi;
mod operators;
mod outbox;
mod path_ids;
mod payments;
mod proofs;
mod rate_limit;
mod reconciliation;
mod refunds;
mod reload;
mod retention;
mod stripe_webhooks;
mod sums;
mod sync;
mod webhooks;
