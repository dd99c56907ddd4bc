//! Retention deletes (DESIGN §15), one function per table, each deleting at most `batch` rows
//! in one statement so a purge never holds the writer for long; the housekeeping worker
//! (`engine::housekeeping`) calls them in a bounded loop.
//!
//! What is kept, for finance, whatever its age: every refund row, and of its history the
//! events of kind [`KEPT_EVENT_KINDS`] (its creation, every status change with who made it
//! and why, every flag for attention). What goes: the rest of the history (provider answers
//! that changed nothing, inconclusive status queries, re-sends, ignored late reports) of a
//! refund that is final and has not changed for the retention period, and webhook receipts
//! older than it (a provider's signature timestamp is only accepted within minutes, so an
//! event that old can never be replayed into the gateway).

use super::{Bind, Store, StoreError};
use crate::domain::EventKind;

/// Event kinds never purged (the SQL below and both partial indexes name them; a test
/// checks they agree).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const KEPT_EVENT_KINDS: [EventKind; 3] = [
    EventKind::Created,
    EventKind::StatusChanged,
    EventKind::RequiresAttention,
];

impl Store {
    /// Deletes at most `batch` webhook receipts received before `before` (Unix ms); returns
    /// how many.
    pub async fn purge_webhook_receipts(&self, before: i64, batch: u32) -> Result<u64, StoreError> {
        self.write_statement(
            "DELETE FROM webhook_receipts WHERE (provider, account, event_id) IN \
             (SELECT provider, account, event_id FROM webhook_receipts \
              WHERE received_at < $1 ORDER BY received_at LIMIT $2)"
                .to_owned(),
            vec![Bind::Int(Some(before)), Bind::Int(Some(i64::from(batch)))],
        )
        .await
    }

    /// Deletes at most `batch` events created before `before` (Unix ms) of refunds that are
    /// final and unchanged since `before`, except the kinds in [`KEPT_EVENT_KINDS`]; returns
    /// how many. (The `kind` condition is the one of the `refund_events_purgeable` index.)
    pub async fn purge_final_refund_events(
        &self,
        before: i64,
        batch: u32,
    ) -> Result<u64, StoreError> {
        self.write_statement(
            "DELETE FROM refund_events WHERE id IN \
             (SELECT e.id FROM refund_events e JOIN refunds r ON r.id = e.refund_id \
              WHERE e.created_at < $1 \
                AND e.kind NOT IN ('created', 'status_changed', 'requires_attention') \
                AND r.status IN ('succeeded', 'failed', 'canceled') \
                AND r.updated_at < $1 \
              ORDER BY e.created_at LIMIT $2)"
                .to_owned(),
            vec![Bind::Int(Some(before)), Bind::Int(Some(i64::from(batch)))],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::KEPT_EVENT_KINDS;

    #[test]
    fn the_purge_and_both_partial_indexes_name_the_same_kept_kinds() {
        let kept = KEPT_EVENT_KINDS
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let predicate = format!("kind NOT IN ({kept})");
        for text in [
            include_str!("retention.rs"),
            include_str!("../../migrations/sqlite/0005_retention.sql"),
            include_str!("../../migrations/postgres/0005_retention.sql"),
        ] {
            assert!(text.contains(&predicate), "{predicate}");
        }
    }
}
