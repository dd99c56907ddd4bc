//! Why a statement could not be read, previewed or reconciled at all: one error for the
//! reader ([`super::reader`]), the `--dry-run` preview and statement reconciliation
//! ([`super::statement`]). A line that cannot be read is not this but a
//! [`Malformed`](super::reader::Malformed), reported with its line number.

use crate::store::StoreError;

/// Why a statement could not be reconciled at all (a bad line is a `Malformed`, not this).
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the statement is empty: expected a header row {0}")]
    NoHeader(String),
    #[error("the header row lacks column `{column}` (expected {expected})")]
    MissingColumn { column: String, expected: String },
    #[error("the statement could not be read: {0}")]
    Read(String),
    #[error("writing the report failed: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}
