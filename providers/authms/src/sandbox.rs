//! A stateful simulator of AuthMS on its own wire format (feature `sandbox`): wallets with
//! balances kept as double entries, refunds against original transactions, transfers, the
//! assumed transactions query, the fixed sandbox token, magic values for deterministic
//! failures, and injected faults (`POST /_sandbox/faults`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use provider_authms::sandbox::{Sandbox, SandboxConfig};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sandbox = Sandbox::start(listener, SandboxConfig::default()).await?;
//! println!("AuthMS sandbox at {}", sandbox.base_url());
//! # Ok(()) }
//! ```

mod config;
mod effect;
pub mod magic;
mod server;
mod shared;
pub mod state;
pub mod statement;

use std::sync::{Arc, Mutex};

use refund_provider::sandbox_kit::{FaultCell, Hang, Running};
use refund_provider::ProviderRefundRequest;
use time::OffsetDateTime;

use shared::Shared;
use state::Ledger;

pub use config::{
    Faults, SandboxConfig, SandboxPayment, SandboxWallet, MERCHANT_OPENING_MINOR, MERCHANT_USER_ID,
    TOKEN, UNSEEN_PAYMENT_AMOUNT_MINOR,
};
pub use effect::Effect;

impl Sandbox {
    /// Serves the simulator on `listener` until dropped.
    pub async fn start(
        listener: tokio::net::TcpListener,
        config: SandboxConfig,
    ) -> std::io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let ledger = Ledger::new(&config, OffsetDateTime::now_utc())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(Shared {
            faults: FaultCell::new(config.faults.clone()),
            hang: Hang::new(config.hang_ms),
            ledger: Mutex::new(ledger),
            config,
        });
        let app = server::router(shared.clone());
        let running =
            running.serve_router("AuthMS sandbox", listener, shared.faults.outages(), app);
        Ok(Sandbox { running, shared })
    }

    /// Every refund and transfer applied so far, oldest first (same as
    /// `GET /_sandbox/effects`).
    pub fn effects(&self) -> Vec<Effect> {
        self.shared.ledger().effects(OffsetDateTime::now_utc())
    }

    /// A wallet's balance in minor units, if the wallet exists.
    pub fn balance_minor(&self, user_id: &str) -> Option<i64> {
        self.shared.ledger().balance(user_id)
    }

    /// Checks the books: every balance is the sum of its entries and all sum to zero.
    pub fn check_ledger(&self) -> Result<(), String> {
        self.shared.ledger().check()
    }

    /// How many refunds and transfers the simulator retains (see
    /// [`SandboxConfig::max_refunds`]).
    pub fn retained_refunds(&self) -> usize {
        self.shared.ledger().retained()
    }
}

refund_provider::sandbox_handle!(
    /// A running AuthMS simulator; dropping it stops the server.
    Sandbox(Shared), Faults, crate::identity::PROVIDER_ID
);

/// A 50.00 CNY wallet refund of payment `txn_{tag}` to wallet user `usr_{tag}`, which the
/// simulator completes at once.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let mut request = refund_provider::sample_refund(&format!("txn_{tag}"), "50.00", "CNY");
    request.reason = Some("Product return".into());
    request.customer_id = Some(format!("usr_{tag}"));
    request
}
