//! Deliberate money bugs for the model test (`tests/model`) to prove that it finds them.
//!
//! Every switch is off unless a test turns it on, on the one [`Store`](crate::store::Store)
//! it runs against (each store holds its own [`Faults`], so a test that plants a bug never
//! touches another test's histories). Production code never sets one. Each switch is read
//! at exactly one point, named on it.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// The planted bugs; all off by default.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Faults {
    /// `store/create.rs`: a refund beyond what is refundable is inserted anyway (the
    /// refundable check skipped, as if made without the payment's lock).
    pub skip_refundable_check: AtomicBool,
    /// `engine/sync.rs`: "no record" after the grace period is taken as proof of absence
    /// and the refund is re-sent, whatever the provider proves.
    pub resend_without_proof: AtomicBool,
    /// `engine/sync.rs`: "no record" after the grace period fails the refund, whatever the
    /// provider proves.
    pub fail_without_proof: AtomicBool,
    /// `engine.rs`: a provider webhook is applied a second time as if its refund were still
    /// open (the final-status guard skipped), so a late or repeated event moves a final
    /// refund. (Posting a success's lines twice is no bug to plant: the ledger's unique key
    /// per refund, kind and account makes a second posting a no-op.)
    pub webhook_applied_twice: AtomicBool,
    /// `store/change.rs`: the last ledger line of a change is dropped.
    pub drop_ledger_line: AtomicBool,
    /// `engine.rs`: a success reporting another amount than asked is booked at the reported
    /// amount (the asked one forgotten) instead of flagged.
    pub book_reported_amount: AtomicBool,
    /// `engine/create.rs`: the Idempotency-Key is not claimed, so a retry refunds again.
    pub idempotency_key_ignored: AtomicBool,
    /// `engine/sync.rs`: a refund open past `give_up_after_hours` is never flagged.
    pub never_give_up: AtomicBool,
    /// `store/work.rs`: a refund's merchant events are claimed without waiting for its
    /// earlier ones.
    pub outbox_unordered: AtomicBool,
    /// `store/writer.rs` (SQLite): a simulated crash, armed with [`Faults::crash_after`]:
    /// that many more writes commit, then none (as if the process died there) until
    /// [`Faults::recover`].
    crash_armed: AtomicBool,
    writes_left: AtomicI64,
    crashed: AtomicBool,
}

impl Faults {
    /// Whether `switch` is on.
    pub fn on(switch: &AtomicBool) -> bool {
        switch.load(Ordering::Relaxed)
    }

    /// Turns `switch` on.
    pub fn set(switch: &AtomicBool) {
        switch.store(true, Ordering::Relaxed);
    }

    /// Arms the simulated crash: `writes` more writes commit, the next ones fail.
    pub fn crash_after(&self, writes: i64) {
        self.writes_left.store(writes, Ordering::SeqCst);
        self.crashed.store(false, Ordering::SeqCst);
        self.crash_armed.store(true, Ordering::SeqCst);
    }

    /// Whether the armed crash happened (a write was refused since).
    pub fn has_crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Disarms the crash: the restarted process writes again.
    pub fn recover(&self) {
        self.crash_armed.store(false, Ordering::SeqCst);
        self.crashed.store(false, Ordering::SeqCst);
    }

    /// Whether the next write may commit (always, unless a crash is armed and due).
    pub(crate) fn write_allowed(&self) -> bool {
        if !self.crash_armed.load(Ordering::Relaxed) {
            return true;
        }
        if self.crashed.load(Ordering::SeqCst)
            || self.writes_left.fetch_sub(1, Ordering::SeqCst) <= 0
        {
            self.crashed.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }
}
