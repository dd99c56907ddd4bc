//! What the simulator's handlers and its `Sandbox` value share: the config, the ledger
//! under its lock, the faults in force and the hang of a hanging request.

use std::sync::{Mutex, MutexGuard};

use refund_provider::sandbox_kit::{lock, FaultCell, Hang};

use super::config::{Faults, SandboxConfig};
use super::state::Ledger;

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: SandboxConfig,
    pub(super) ledger: Mutex<Ledger>,
    pub(super) faults: FaultCell<Faults>,
    /// Hanging requests hang their full `hang_ms`, even past the sandbox's drop.
    pub(super) hang: Hang,
}

impl Shared {
    pub(super) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }
}
