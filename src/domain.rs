//! The gateway's own value types: refund statuses and their allowed transitions, the refund
//! as it is kept (`refund_record`) and as merchants see it (`refund_object`), idempotency
//! keys, merchant ids, the kinds and sources of history lines, merchant event types, ledger
//! entry kinds, why a pending refund is unsent, the approval rules, a provider account's
//! breaker state, and the rule for vocabulary words read back from the database (`stored`).
//! Ids and money shared with adapters live in `refund-provider`.

pub mod approval;
pub mod attention;
pub mod audit;
pub mod breaker_state;
pub mod entry_kind;
pub mod event_kind;
pub mod event_source;
pub mod idempotency;
pub mod merchant_event_type;
pub mod pending_reason;
pub mod refund;
pub mod refund_object;
pub mod refund_record;
pub mod stored;

pub use attention::AttentionReason;
pub use audit::{AuditEvent, AuditKind, NewAuditEvent};
pub use entry_kind::EntryKind;
pub use event_kind::EventKind;
pub use event_source::EventSource;
pub use idempotency::IdempotencyKey;
pub use merchant_event_type::MerchantEventType;
pub use pending_reason::PendingReason;
pub use refund::RefundStatus;
pub use refund_record::RefundRecord;
pub use stored::Stored;
