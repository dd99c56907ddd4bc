//! Finance reports over the ledger and the refunds (DESIGN §10): the reconciliation summary,
//! statement reconciliation (reading a provider's format, matching lines and settlement
//! batches, variance reports, the `--dry-run` preview) and the refund export. The HTTP handlers
//! (`api::reconciliation`, `api::payments`, `api::export`) and the CLI (`reconcile`,
//! `export`) share these; errors are `StatementError` / `StoreError`.

pub(crate) mod audit;
pub mod batch;
pub mod error;
pub mod export;
pub mod preview;
pub mod reader;
pub mod statement;
pub mod summary;
