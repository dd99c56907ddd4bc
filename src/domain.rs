//! The gateway's own value types: refund statuses and their allowed transitions, idempotency
//! keys, merchant ids. Ids and money shared with adapters live in `refund-provider`.

pub mod idempotency;
pub mod refund;
pub mod refund_object;

pub use idempotency::IdempotencyKey;
pub use refund::RefundStatus;
