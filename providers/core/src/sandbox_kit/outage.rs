//! The outage fault every simulator has (DESIGN §17): for N seconds from when it is set,
//! either refuse connections (the listening socket is closed, idle connections are closed
//! too, and the same port is listened on again when it ends), or answer every API request
//! 503 while applying every second one first (a provider that is overloaded and half works).
//!
//! Set with `POST /_sandbox/faults` `{"outage": {"mode": "refuse" | "unavailable",
//! "seconds": N}}`, beside the counted faults; `GET /_sandbox/faults` shows it with the
//! seconds it has left while it lasts.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

/// How the provider is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// Nothing listens: every connection is refused (the client knows nothing was sent).
    Refuse,
    /// Every API request is answered 503; every second one is applied first (the client
    /// cannot tell which).
    Unavailable,
}

/// An outage as set and shown: its mode and how long it lasts from when it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    pub mode: OutageMode,
    /// Seconds, from when it is set (at most a day).
    pub seconds: u64,
}

/// An outage in force until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Active {
    mode: OutageMode,
    until: Instant,
}

/// The outage in force, shared by the handlers (through `FaultCell`) and the server loop.
#[derive(Debug, Clone)]
pub struct OutageSwitch {
    active: watch::Sender<Option<Active>>,
    /// `unavailable` mode: whether the next request is applied before its 503.
    apply_next: Arc<AtomicBool>,
}

impl Default for OutageSwitch {
    fn default() -> Self {
        Self {
            active: watch::channel(None).0,
            apply_next: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What an outage does to one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Answered 503 without being applied.
    Refuse,
    /// Applied, then answered 503.
    ApplyThenRefuse,
}

impl OutageSwitch {
    /// Starts `outage` now (replacing any in force); `seconds = 0` ends the one in force.
    pub fn start(&self, outage: Outage) {
        let seconds = outage.seconds.min(86_400);
        let active = (seconds > 0).then(|| Active {
            mode: outage.mode,
            until: Instant::now() + Duration::from_secs(seconds),
        });
        self.apply_next.store(false, Ordering::SeqCst);
        self.active.send_replace(active);
    }

    fn current(&self) -> Option<Active> {
        let active = (*self.active.borrow())?;
        (Instant::now() < active.until).then_some(active)
    }

    /// The outage in force, with the whole seconds it has left.
    pub fn shown(&self) -> Option<Outage> {
        self.current().map(|active| Outage {
            mode: active.mode,
            seconds: active
                .until
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1),
        })
    }

    /// What the outage in force does to the next API request, if any. A request that
    /// reaches a handler during a `refuse` outage (on a connection opened before it) is
    /// answered 503 unapplied.
    pub(crate) fn effect(&self) -> Option<Effect> {
        let active = self.current()?;
        Some(match active.mode {
            OutageMode::Refuse => Effect::Refuse,
            OutageMode::Unavailable => {
                if self.apply_next.fetch_xor(true, Ordering::SeqCst) {
                    Effect::ApplyThenRefuse
                } else {
                    Effect::Refuse
                }
            }
        })
    }

    /// Resolves with the end of the next `refuse` outage, once one is in force.
    async fn refusing(&self) -> Instant {
        let mut receiver = self.active.subscribe();
        loop {
            if let Some(active) = self.current().filter(|a| a.mode == OutageMode::Refuse) {
                return active.until;
            }
            if receiver.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

/// A future that stops a server gracefully.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Serves with `make(listener, stop)` (an `axum::serve(..).with_graceful_shutdown(stop)`)
/// until `stopped`; during each `refuse` outage of `outages` the server is stopped
/// gracefully (its socket closed at once, idle connections closed) and started again on the
/// same address when the outage ends.
pub(crate) async fn serve_with_outages<M, S>(
    name: &'static str,
    first: TcpListener,
    addr: SocketAddr,
    outages: OutageSwitch,
    stopped: watch::Receiver<bool>,
    make: M,
) where
    M: Fn(TcpListener, StopSignal) -> S + Send + 'static,
    S: IntoFuture<Output = std::io::Result<()>> + 'static,
    S::IntoFuture: Send + 'static,
{
    let mut listener = Some(first);
    loop {
        let current = match listener.take() {
            Some(listener) => listener,
            None => match rebind(addr, stopped.clone()).await {
                Some(listener) => listener,
                None => return,
            },
        };
        let (restart, restart_signal) = watch::channel(false);
        let stop: StopSignal = {
            let mut stopped = stopped.clone();
            let mut restart_signal = restart_signal;
            Box::pin(async move {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => {}
                    _ = restart_signal.wait_for(|restart| *restart) => {}
                }
            })
        };
        let serve = make(current, stop).into_future();
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "{name} stopped");
            }
        });
        let mut stop_watch = stopped.clone();
        let until = tokio::select! {
            _ = stop_watch.wait_for(|stop| *stop) => return,
            until = outages.refusing() => until,
        };
        restart.send_replace(true);
        tracing::info!("{name}: outage, refusing connections");
        let mut stop_watch = stopped.clone();
        tokio::select! {
            _ = stop_watch.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep_until(until) => {}
        }
    }
}

/// Listens on `addr` again, retrying while the old socket lets go (or until stopped).
async fn rebind(addr: SocketAddr, mut stopped: watch::Receiver<bool>) -> Option<TcpListener> {
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Some(listener),
            Err(e) => tracing::warn!(error = %e, %addr, "sandbox cannot listen again yet"),
        }
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return None,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_json_has_its_documented_names_and_refuses_others() {
        let outage: Outage =
            serde_json::from_value(serde_json::json!({"mode": "unavailable", "seconds": 30}))
                .expect("outage");
        assert_eq!(
            outage,
            Outage {
                mode: OutageMode::Unavailable,
                seconds: 30
            }
        );
        assert!(serde_json::from_value::<Outage>(
            serde_json::json!({"mode": "refuse", "seconds": 1, "ms": 2})
        )
        .is_err());
        assert!(serde_json::from_value::<Outage>(
            serde_json::json!({"mode": "down", "seconds": 1})
        )
        .is_err());
    }

    #[tokio::test]
    async fn an_unavailable_outage_applies_every_second_request_then_ends() {
        let switch = OutageSwitch::default();
        assert_eq!(switch.effect(), None);
        switch.start(Outage {
            mode: OutageMode::Unavailable,
            seconds: 60,
        });
        let effects: Vec<_> = (0..4).map(|_| switch.effect()).collect();
        assert_eq!(
            effects,
            [
                Some(Effect::Refuse),
                Some(Effect::ApplyThenRefuse),
                Some(Effect::Refuse),
                Some(Effect::ApplyThenRefuse)
            ]
        );
        assert_eq!(
            switch.shown().map(|o| o.mode),
            Some(OutageMode::Unavailable)
        );
        switch.start(Outage {
            mode: OutageMode::Unavailable,
            seconds: 0,
        });
        assert_eq!(switch.effect(), None);
        assert_eq!(switch.shown(), None);
    }

    #[tokio::test]
    async fn a_refuse_outage_closes_the_port_and_listens_again_when_it_ends() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let switch = OutageSwitch::default();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve_with_outages(
            "test sandbox",
            listener,
            addr,
            switch.clone(),
            stopped,
            |listener, stop| {
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
                axum::serve(listener, app).with_graceful_shutdown(stop)
            },
        ));
        let connects = || async { tokio::net::TcpStream::connect(addr).await.is_ok() };
        assert!(connects().await);
        switch.start(Outage {
            mode: OutageMode::Refuse,
            seconds: 1,
        });
        let mut refused = false;
        for _ in 0..50 {
            if !connects().await {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "connections are refused during the outage");
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        assert!(connects().await, "listening again after it");
        stop.send_replace(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
}
