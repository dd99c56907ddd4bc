//! Polling: read something (a refund over HTTP, say) until a condition holds or a deadline
//! passes, for what the gateway does in the background (sync, webhooks, settlement).

use std::future::Future;
use std::time::Duration;

/// Reads with `read` every `every` until `done` holds or `timeout` passes; returns the last
/// value read (the caller asserts on it, so a failure shows what was seen).
pub async fn poll_until<T, F, Fut>(
    timeout: Duration,
    every: Duration,
    mut read: F,
    done: impl Fn(&T) -> bool,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let value = read().await;
        if done(&value) || tokio::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(every).await;
    }
}
