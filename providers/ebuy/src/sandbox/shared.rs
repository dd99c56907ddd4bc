//! What the simulator's handlers and its `Sandbox` value share: the config, the refund
//! book under its lock, the faults in force, the envelope ids seen, the hang of a hanging
//! request and the clock China's "today" comes from.

use std::sync::{Mutex, MutexGuard};

use refund_provider::sandbox_kit::{lock, BoundedSet, FaultCell, Hang};
use refund_provider::SharedClock;

use super::config::{Faults, SandboxConfig};
use super::state::Book;

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: SandboxConfig,
    pub(super) book: Mutex<Book>,
    pub(super) faults: FaultCell<Faults>,
    /// Envelope `uuid`s seen, to refuse a replayed request (the newest `max_refunds`).
    pub(super) uuids: Mutex<BoundedSet<String>>,
    /// Cut short when the sandbox is dropped.
    pub(super) hang: Hang,
    /// China's "today" (a defaulted `tradeTime`, the newest `tradeTime` taken) comes from it
    /// (tests set it).
    pub(super) clock: SharedClock,
}

impl Shared {
    pub(super) fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }
}
