//! The audit log's vocabulary (DESIGN §18): what an operator (or a reload) did, as one
//! append-only entry `{id, object: "audit_event", created_at, actor, kind, target, detail}`.
//! `detail` says what was given (the reason or note, counts, sections changed) and never a
//! secret: whoever builds an entry builds it from non-secret values only.

use std::fmt;

use serde_json::{json, Value};

/// What an audit entry records; one text form each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// An operator resolved a pending or processing refund by hand (DESIGN §14).
    RefundResolved,
    /// An operator's statement import settled matched lines (DESIGN §14).
    StatementSettled,
    /// An operator approved a refund awaiting approval (DESIGN §19).
    RefundApproved,
    /// An operator rejected a refund awaiting approval (DESIGN §19).
    RefundRejected,
    /// A bulk-refund batch was created (DESIGN §19).
    RefundBatchCreated,
    /// The configuration was reloaded (DESIGN §18).
    ConfigReloaded,
}

impl AuditKind {
    pub const ALL: [AuditKind; 6] = [
        Self::RefundResolved,
        Self::StatementSettled,
        Self::RefundApproved,
        Self::RefundRejected,
        Self::RefundBatchCreated,
        Self::ConfigReloaded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefundResolved => "refund.resolved",
            Self::StatementSettled => "statement.settled",
            Self::RefundApproved => "refund.approved",
            Self::RefundRejected => "refund.rejected",
            Self::RefundBatchCreated => "refund_batch.created",
            Self::ConfigReloaded => "config.reloaded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The actor of what no operator did: a reload asked for by `SIGHUP` (or by the embedding
/// program's reload handle).
pub const SIGNAL_ACTOR: &str = "signal";

/// The actor of a settlement run from the command line (`refund-gateway reconcile`).
pub const CLI_ACTOR: &str = "cli";

/// An entry to append: the store gives it its id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// An operator's id, or [`SIGNAL_ACTOR`] / [`CLI_ACTOR`].
    pub actor: String,
    pub kind: AuditKind,
    /// The refund, batch or statement id acted on; `None` for a reload.
    pub target: Option<String>,
    /// What was given and what it did (a JSON object; never a secret).
    pub detail: Value,
}

impl NewAuditEvent {
    pub fn new(
        actor: impl Into<String>,
        kind: AuditKind,
        target: Option<String>,
        detail: Value,
    ) -> Self {
        Self {
            actor: actor.into(),
            kind,
            target,
            detail,
        }
    }
}

/// A stored entry, as `GET /v1/audit_events` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// `ae_` and a UUIDv7: ordered by creation, the list's cursor.
    pub id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub actor: String,
    /// The stored kind (an unknown word, written by a newer build, is shown as it is).
    pub kind: String,
    pub target: Option<String>,
    pub detail: Value,
}

impl AuditEvent {
    /// The API's object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "audit_event",
            "created_at": super::refund_object::rfc3339_ms(self.created_at),
            "actor": self.actor,
            "kind": self.kind,
            "target": self.target,
            "detail": self.detail,
        })
    }
}

/// A new entry id: `ae_` and a UUIDv7 (time-ordered, so the id orders the list).
pub(crate) fn new_audit_id() -> String {
    format!("ae_{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_one_text_form() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("refund.resolve"), None);
        assert_eq!(
            AuditKind::RefundBatchCreated.as_str(),
            "refund_batch.created"
        );
    }
}
