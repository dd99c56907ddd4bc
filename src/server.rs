//! The HTTP server loop (DESIGN §15): at most `server.max_connections` connections are served
//! at once, each must deliver a request's headers within `server.header_read_timeout_ms`, and
//! shutdown is graceful.
//!
//! `axum::serve` has neither limit, so this is the accept loop it would be, on hyper's own
//! HTTP/1 connection (`header_read_timeout`, which also bounds how long a kept-alive
//! connection may sit idle) and hyper-util's graceful-shutdown watcher:
//! - a connection is accepted only with a semaphore permit in hand, held until the connection
//!   ends; at the cap the loop stops accepting and new connections wait in the kernel's listen
//!   backlog (or are refused by the kernel once that is full) instead of costing us anything;
//! - each request carries the peer's address as axum's `ConnectInfo<SocketAddr>` (the rate
//!   limiter counts failed authentications by it);
//! - on shutdown the listener closes, every connection is told to finish its request in flight
//!   and close, and the loop waits for them at most `drain_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What bounds the server's connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Time a connection has to send a request's complete headers.
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
    /// How long shutdown waits for open connections to finish.
    pub(crate) drain_timeout: Duration,
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // The permit first: at the cap nothing more is accepted.
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // the semaphore is never closed
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Header timeouts, resets, malformed requests: the client's business.
                tracing::debug!(error = %error, peer = %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; stopping anyway");
    }
    Ok(())
}

/// A failed `accept`: a connection that died in the backlog is skipped; anything else (out of
/// file descriptors…) is logged and retried after a pause instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
