//! The running server behind a simulator's `Sandbox` value: its address, the stop signal
//! that dropping it sends (graceful shutdown, hangs cut short), and its task, served through
//! the outage switch.

use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::outage::{self, OutageSwitch};

/// A simulator's server task: `http://` address, stop signal, task. Dropping it signals stop
/// (graceful shutdown, hangs cut short where wired to [`Running::stopped`]) and aborts the
/// task.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// A server about to run at `addr`; wire [`Running::stopped`] into its graceful shutdown
    /// and hangs, then [`Running::spawn`] it.
    pub fn new(addr: SocketAddr) -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            addr,
            stop,
            task: None,
        }
    }

    /// Turns true when the sandbox is dropped.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Resolves when the sandbox is dropped (for `with_graceful_shutdown`).
    pub fn stop_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopped = self.stopped();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }

    /// Runs `serve` (an `axum::serve(..)`) in a task; `name` is logged if it fails.
    pub fn spawn<S>(mut self, name: &'static str, serve: S) -> Self
    where
        S: IntoFuture<Output = std::io::Result<()>>,
        S::IntoFuture: Send + 'static,
    {
        let serve = serve.into_future();
        self.task = Some(tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "{name} stopped");
            }
        }));
        self
    }

    /// Serves with `make(listener, stop)` (an `axum::serve(..).with_graceful_shutdown(stop)`)
    /// in a task, through `outages`: a `refuse` outage closes the socket and listens again
    /// when it ends (see [`outage`]). `name` is logged if it fails.
    pub fn serve_with_outages<M, S>(
        mut self,
        name: &'static str,
        listener: tokio::net::TcpListener,
        outages: OutageSwitch,
        make: M,
    ) -> Self
    where
        M: Fn(tokio::net::TcpListener, outage::StopSignal) -> S + Send + 'static,
        S: IntoFuture<Output = std::io::Result<()>> + 'static,
        S::IntoFuture: Send + 'static,
    {
        let stopped = self.stopped();
        self.task = Some(tokio::spawn(outage::serve_with_outages(
            name, listener, self.addr, outages, stopped, make,
        )));
        self
    }

    /// Serves `app` as [`Running::serve_with_outages`] does, with graceful shutdown on stop:
    /// what a simulator whose handlers need nothing of the connection runs.
    pub fn serve_router(
        self,
        name: &'static str,
        listener: tokio::net::TcpListener,
        outages: OutageSwitch,
        app: axum::Router,
    ) -> Self {
        self.serve_with_outages(name, listener, outages, move |listener, stop| {
            axum::serve(listener, app.clone()).with_graceful_shutdown(stop)
        })
    }

    /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use super::super::draw::Hang;

    #[tokio::test]
    async fn a_hang_ends_when_the_sandbox_stops() {
        let running = Running::new(SocketAddr::from(([127, 0, 0, 1], 1)));
        let hang = Hang::until_stopped(60_000, running.stopped());
        let waiting = tokio::spawn(async move { hang.wait().await });
        drop(running);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("hang cut short")
            .expect("joined");
    }
}
