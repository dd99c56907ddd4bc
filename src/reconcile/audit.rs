//! The audit entry of a settling statement import (DESIGN §18): who imported which
//! provider's statement for which merchant, and what it settled. The import settles in
//! batches of its own transactions (a statement streams); its entry is appended once the
//! last batch is written, with the counts.

use serde_json::json;

use super::statement::{ReportSummary, SettlementCounts};
use crate::domain::{AuditKind, NewAuditEvent};

/// A new statement id, `st_` and a UUIDv7: the entry's target, returned to the importer.
pub(crate) fn statement_id() -> String {
    format!("st_{}", uuid::Uuid::now_v7().simple())
}

/// The entry of an import by `actor` (an operator's id, or the CLI).
pub(crate) fn settled(
    actor: &str,
    statement_id: &str,
    provider: &str,
    merchant: Option<&str>,
    report: &ReportSummary,
    settlement: &SettlementCounts,
) -> NewAuditEvent {
    let variances: u64 = report.by_kind.values().map(|k| k.count).sum();
    NewAuditEvent::new(
        actor,
        AuditKind::StatementSettled,
        Some(statement_id.to_owned()),
        json!({
            "provider": provider,
            "merchant": merchant,
            "lines": report.lines,
            "matched": report.matched.count,
            "variances": variances,
            "malformed": report.malformed_count,
            "settled": settlement.settled,
            "already_settled": settlement.already_settled,
            "fees_posted": settlement.fees_posted,
        }),
    )
}
