//! Finance reports over the ledger and the refunds (DESIGN §10): the reconciliation summary,
//! statement reconciliation (variance reports) and the refund export. The HTTP handlers
//! (`api::reconciliation`, `api::payments`, `api::export`) and the CLI (`reconcile`,
//! `export`) share these; errors are `StatementError` / `StoreError`.

pub mod cli;
pub mod export;
pub mod statement;
pub mod summary;
