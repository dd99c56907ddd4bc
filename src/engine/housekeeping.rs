//! Periodic housekeeping: expired idempotency keys are purged once their retention ends.

use std::time::Duration;

use super::Engine;

/// Runs forever; the application aborts it on shutdown.
pub async fn run(engine: Engine) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match engine
            .store
            .purge_expired_idempotency_keys(crate::store::now_ms())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "idempotency key purge failed"),
        }
    }
}
