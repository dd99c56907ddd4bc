//! Graceful shutdown of a server spawned inside a test: the server runs until the signal
//! future completes, which happens when the test calls [`Shutdown::trigger`] or drops the
//! [`Shutdown`] (so a test that ends, or panics, stops its gateway).

use std::future::Future;

/// The test's end of a shutdown signal.
#[derive(Debug)]
pub struct Shutdown(Option<tokio::sync::oneshot::Sender<()>>);

impl Shutdown {
    /// Asks the server to stop (graceful: requests in flight are finished).
    pub fn trigger(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A [`Shutdown`] and the future the server waits on (e.g. `app.run_until(signal)`).
pub fn shutdown_signal() -> (Shutdown, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    (Shutdown(Some(tx)), async {
        let _ = rx.await;
    })
}
