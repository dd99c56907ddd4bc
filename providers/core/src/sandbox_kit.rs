//! What every provider simulator shares (feature `sandbox-kit`): the counted faults a request
//! draws (and the webhook switches of the simulators that send webhooks), the hang that a
//! stopping sandbox cuts short, the answer broken after its effect, the running server behind
//! a `Sandbox` value, and the cap on what a simulator retains; its statements, webhook
//! deliveries and outages in [`statement`], [`webhook`] and [`outage`].
//!
//! A handler draws once per request and brackets its work with the draw:
//!
//! ```text
//! let draw = shared.faults.draw(shared.config.latency_ms);
//! if draw.before_apply(&shared.hang).await.is_err() {
//!     return unavailable(); // the provider's own 503 shape
//! }
//! let response = apply();
//! draw.finish(response, &shared.hang).await
//! ```

pub mod outage;
pub mod statement;
pub mod webhook;

pub use outage::{Outage, OutageMode, OutageSwitch};

use std::collections::{HashSet, VecDeque};
use std::future::IntoFuture;
use std::hash::Hash;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Faults injected into the next requests to a provider API (control endpoints excluded).
/// Each request takes at most one counted fault, checked in this order: `fail_next`,
/// `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next`; the counter it takes goes
/// down by one. JSON: `POST /_sandbox/faults` with any of these fields (others refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultCounters {
    /// Extra delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Answer this many requests 503 without applying them.
    pub fail_next: u32,
    /// Hang this many requests for `hang_ms`, then refuse them, without applying them.
    pub timeout_next: u32,
    /// Apply this many requests, then hang for `hang_ms` before answering.
    pub apply_then_hang_next: u32,
    /// Apply this many requests, then break the answer, so the client sees a transport
    /// error after the effect happened.
    pub drop_after_apply_next: u32,
    /// An outage starting now (see [`outage`]); shown with the seconds it has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
}

/// The faults of a simulator that sends webhooks: the counters of [`FaultCounters`] and
/// switches for what its webhooks do. JSON: `POST /_sandbox/faults` with any of these fields
/// (others refused); the switches keep their defaults when left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFaults {
    /// Extra delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Answer this many requests 503 without applying them.
    pub fail_next: u32,
    /// Hang this many requests for `hang_ms`, then refuse them, without applying them.
    pub timeout_next: u32,
    /// Apply this many requests, then hang for `hang_ms` before answering.
    pub apply_then_hang_next: u32,
    /// Apply this many requests, then break the answer.
    pub drop_after_apply_next: u32,
    /// An outage starting now (see [`outage`]); shown with the seconds it has left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// Send every webhook twice, with the same event id.
    pub duplicate_webhooks: bool,
    /// After a refund's final event, send a stale earlier one (new id, older timestamp);
    /// which one is the provider's, in its README.
    pub out_of_order_webhooks: bool,
    /// Send webhooks at all (refunds still reach their final status when off).
    pub webhooks_enabled: bool,
}

crate::counted_faults!(WebhookFaults);

impl Default for WebhookFaults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            fail_next: 0,
            timeout_next: 0,
            apply_then_hang_next: 0,
            drop_after_apply_next: 0,
            outage: None,
            duplicate_webhooks: false,
            out_of_order_webhooks: false,
            webhooks_enabled: true,
        }
    }
}

/// The fault one request is subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPlan {
    None,
    /// Refused at once, not applied.
    Fail,
    /// Refused after hanging, not applied.
    Timeout,
    /// Applied, then answered after hanging.
    ApplyThenHang,
    /// Applied, then the answer is broken.
    DropAfterApply,
    /// An outage: answered 503, not applied.
    OutageRefuse,
    /// An outage: applied, then answered 503.
    OutageApplyThenRefuse,
}

/// A set of faults with the four counters of [`FaultCounters`]; a sandbox whose `Faults`
/// carries more switches implements this to share the countdown.
pub trait CountedFaults {
    /// Extra delay before every answer, in milliseconds.
    fn latency_ms(&self) -> u64;

    /// `fail_next`, `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next`, in the
    /// order they are drawn.
    fn counters_mut(&mut self) -> [&mut u32; 4];

    /// The extra latency and the four counters as they stand (what `Simulator::faults`
    /// reports).
    fn counters(&self) -> FaultCounters;

    /// Replaces the extra latency and the four counters with `counted`'s; switches of the
    /// provider's own (webhook faults) stay as they are (what `Simulator::set_faults` does).
    fn set_counters(&mut self, counted: FaultCounters);

    /// The `outage` field: taken out when the faults are set (it starts then), filled in
    /// with the outage in force when they are shown.
    fn outage_mut(&mut self) -> &mut Option<Outage>;

    /// The fault the next request takes, counting its counter down.
    fn take(&mut self) -> FaultPlan {
        const PLANS: [FaultPlan; 4] = [
            FaultPlan::Fail,
            FaultPlan::Timeout,
            FaultPlan::ApplyThenHang,
            FaultPlan::DropAfterApply,
        ];
        for (counter, plan) in self.counters_mut().into_iter().zip(PLANS) {
            if *counter > 0 {
                *counter -= 1;
                return plan;
            }
        }
        FaultPlan::None
    }
}

/// Implements [`CountedFaults`] for a struct with the public fields `latency_ms: u64` and
/// `fail_next`, `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next: u32` (a
/// sandbox's own `Faults` that carries more switches than [`FaultCounters`]).
#[macro_export]
macro_rules! counted_faults {
    ($faults:ty) => {
        impl $crate::sandbox_kit::CountedFaults for $faults {
            fn latency_ms(&self) -> u64 {
                self.latency_ms
            }

            fn counters_mut(&mut self) -> [&mut u32; 4] {
                [
                    &mut self.fail_next,
                    &mut self.timeout_next,
                    &mut self.apply_then_hang_next,
                    &mut self.drop_after_apply_next,
                ]
            }

            fn counters(&self) -> $crate::sandbox_kit::FaultCounters {
                $crate::sandbox_kit::FaultCounters {
                    latency_ms: self.latency_ms,
                    fail_next: self.fail_next,
                    timeout_next: self.timeout_next,
                    apply_then_hang_next: self.apply_then_hang_next,
                    drop_after_apply_next: self.drop_after_apply_next,
                    outage: self.outage,
                }
            }

            fn outage_mut(&mut self) -> &mut Option<$crate::sandbox_kit::Outage> {
                &mut self.outage
            }

            fn set_counters(&mut self, counted: $crate::sandbox_kit::FaultCounters) {
                self.latency_ms = counted.latency_ms;
                self.fail_next = counted.fail_next;
                self.timeout_next = counted.timeout_next;
                self.apply_then_hang_next = counted.apply_then_hang_next;
                self.drop_after_apply_next = counted.drop_after_apply_next;
                if counted.outage.is_some() {
                    self.outage = counted.outage;
                }
            }
        }
    };
}

crate::counted_faults!(FaultCounters);

/// Locks a sandbox's state; its data stays usable after a panic elsewhere (every update is
/// a whole value or a push, so a poisoned lock holds nothing half-written that matters).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a request says its body is JSON (`Content-Type: application/json…`).
pub fn sends_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The faults in force, shared by the handlers and the `Sandbox` value, and the outage
/// switch its server loop listens to.
#[derive(Debug, Default)]
pub struct FaultCell<F> {
    faults: Mutex<F>,
    outages: OutageSwitch,
}

impl<F: CountedFaults + Clone> FaultCell<F> {
    pub fn new(faults: F) -> Self {
        let cell = Self {
            faults: Mutex::new(faults.clone()),
            outages: OutageSwitch::default(),
        };
        cell.set(faults);
        cell
    }

    fn lock(&self) -> MutexGuard<'_, F> {
        lock(&self.faults)
    }

    /// Replaces the faults in force; an `outage` among them starts now (one in force goes
    /// on when none is given; `seconds: 0` ends it).
    pub fn set(&self, mut faults: F) {
        if let Some(outage) = faults.outage_mut().take() {
            self.outages.start(outage);
        }
        *self.lock() = faults;
    }

    /// The faults in force, counters as they stand, the outage with the seconds it has left.
    pub fn get(&self) -> F {
        let mut faults = self.lock().clone();
        *faults.outage_mut() = self.outages.shown();
        faults
    }

    /// The counted faults in force, counters as they stand (for `Simulator::faults`).
    pub fn counters(&self) -> FaultCounters {
        FaultCounters {
            outage: self.outages.shown(),
            ..self.lock().counters()
        }
    }

    /// Replaces the counted faults and the extra latency in one step, leaving the
    /// provider's own switches as they are (for `Simulator::set_faults`); an outage among
    /// them starts now.
    pub fn set_counters(&self, mut counted: FaultCounters) {
        if let Some(outage) = counted.outage.take() {
            self.outages.start(outage);
        }
        self.lock().set_counters(counted);
    }

    /// The switch the server loop watches for `refuse` outages.
    pub fn outages(&self) -> OutageSwitch {
        self.outages.clone()
    }

    /// What the next request draws: `base_latency_ms` (the sandbox's own) plus the faults'
    /// latency, and its fault: an outage's while one is in force (no counter is taken),
    /// else a counted one.
    pub fn draw(&self, base_latency_ms: u64) -> Draw {
        let mut faults = self.lock();
        let latency = base_latency_ms.saturating_add(faults.latency_ms());
        let plan = match self.outages.effect() {
            Some(outage::Effect::Refuse) => FaultPlan::OutageRefuse,
            Some(outage::Effect::ApplyThenRefuse) => FaultPlan::OutageApplyThenRefuse,
            None => faults.take(),
        };
        Draw {
            latency: Duration::from_millis(latency),
            plan,
        }
    }
}

/// What one request drew: its delay and its fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub latency: Duration,
    pub plan: FaultPlan,
}

impl Draw {
    /// Waits out the latency, then refuses the request if its fault says so: `Fail` at once,
    /// `Timeout` after hanging. The caller answers the refusal in its provider's own shape.
    pub async fn before_apply(&self, hang: &Hang) -> Result<(), FaultPlan> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        match self.plan {
            FaultPlan::Fail | FaultPlan::OutageRefuse => Err(self.plan),
            FaultPlan::Timeout => {
                hang.wait().await;
                Err(FaultPlan::Timeout)
            }
            FaultPlan::None
            | FaultPlan::ApplyThenHang
            | FaultPlan::DropAfterApply
            | FaultPlan::OutageApplyThenRefuse => Ok(()),
        }
    }

    /// After the request was applied: hangs for `ApplyThenHang`; true when the answer must
    /// be broken (`DropAfterApply`).
    pub async fn after_apply(&self, hang: &Hang) -> bool {
        if self.plan == FaultPlan::ApplyThenHang {
            hang.wait().await;
        }
        self.plan == FaultPlan::DropAfterApply
    }

    /// True when the request was applied under an outage and must be answered 503 (see
    /// [`outage_answer`]).
    pub fn unavailable_after_apply(&self) -> bool {
        self.plan == FaultPlan::OutageApplyThenRefuse
    }

    /// [`Draw::after_apply`], breaking the answer with [`break_answer`] when it must be, or
    /// replacing it with [`outage_answer`] under an outage.
    pub async fn finish(&self, response: Response, hang: &Hang) -> Response {
        if self.unavailable_after_apply() {
            return outage_answer();
        }
        if self.after_apply(hang).await {
            break_answer(response).await
        } else {
            response
        }
    }
}

/// The 503 of a request applied during an `unavailable` outage: any provider's client reads
/// a 5xx as an unknown outcome, whatever its body.
pub fn outage_answer() -> Response {
    let mut response = Response::new(Body::from(
        "{\"error\":{\"message\":\"sandbox outage: service unavailable\"}}",
    ));
    *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// How long a hanging request hangs, cut short when its sandbox stops (if it has a stop
/// signal).
#[derive(Debug, Clone)]
pub struct Hang {
    duration: Duration,
    stopped: Option<watch::Receiver<bool>>,
}

impl Hang {
    /// Hangs `hang_ms` whatever happens to the sandbox.
    pub fn new(hang_ms: u64) -> Self {
        Self {
            duration: Duration::from_millis(hang_ms),
            stopped: None,
        }
    }

    /// Hangs `hang_ms`, or until `stopped` turns true.
    pub fn until_stopped(hang_ms: u64, stopped: watch::Receiver<bool>) -> Self {
        Self {
            stopped: Some(stopped),
            ..Self::new(hang_ms)
        }
    }

    pub async fn wait(&self) {
        match &self.stopped {
            None => tokio::time::sleep(self.duration).await,
            Some(stopped) => {
                let mut stopped = stopped.clone();
                tokio::select! {
                    _ = tokio::time::sleep(self.duration) => {}
                    _ = stopped.wait_for(|stop| *stop) => {}
                }
            }
        }
    }
}

/// The answer after the effect, broken in transit: status and headers as they were, a
/// Content-Length beyond the body, and only the first half of the body before the stream
/// ends, so the connection closes before the client can read the answer.
pub async fn break_answer(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let whole = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = whole.slice(..whole.len() / 2);
    let length = HeaderValue::from(whole.len().max(1) + 1);
    parts.headers.insert(header::CONTENT_LENGTH, length);
    let stream = Body::from(half).into_data_stream();
    Response::from_parts(parts, Body::from_stream(stream))
}

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

/// How many refunds a simulator retains by default (`max_refunds`): about 110 MB at the
/// ≈ 1.1 KB a refund costs with its indexes, for a sandbox that runs for days.
pub const DEFAULT_MAX_REFUNDS: usize = 100_000;

/// The insertion order of a simulator's records and the cap on how many it keeps: beyond
/// `cap`, the oldest *settled* records go first. An unsettled record is never evicted (a
/// client may still ask about it, and its webhook is still to come), so the records kept
/// exceed the cap only by unsettled ones.
#[derive(Debug, Clone)]
pub struct Retention<K> {
    order: VecDeque<K>,
    cap: usize,
}

impl<K> Retention<K> {
    /// Keeps at most `cap` records (at least one).
    pub fn new(cap: usize) -> Self {
        Self {
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many records are retained.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Records a new record, the newest.
    pub fn push(&mut self, key: K) {
        self.order.push_back(key);
    }

    /// The retained records, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &K> {
        self.order.iter()
    }

    /// The records to evict now, oldest first, so that at most `cap` remain: the oldest ones
    /// `settled` says may go. The caller removes them from its maps.
    pub fn evict(&mut self, mut settled: impl FnMut(&K) -> bool) -> Vec<K> {
        let mut evicted = Vec::new();
        let mut from = 0;
        while self.order.len() > self.cap {
            let Some(offset) = self.order.iter().skip(from).position(&mut settled) else {
                break;
            };
            from += offset;
            if let Some(key) = self.order.remove(from) {
                evicted.push(key);
            }
        }
        evicted
    }
}

/// A log (webhook deliveries, seen envelope ids) that keeps its newest `cap` entries.
#[derive(Debug, Clone)]
pub struct BoundedLog<T> {
    entries: VecDeque<T>,
    cap: usize,
}

impl<T> BoundedLog<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Appends `entry`, dropping the oldest one beyond the cap.
    pub fn push(&mut self, entry: T) {
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter()
    }
}

/// A set of seen values (replay protection) that remembers its newest `cap` values.
#[derive(Debug, Clone)]
pub struct BoundedSet<T> {
    seen: HashSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Hash + Eq + Clone> BoundedSet<T> {
    pub fn new(cap: usize) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Remembers `value`; false when it is already remembered. The oldest value is
    /// forgotten beyond the cap.
    pub fn insert(&mut self, value: T) -> bool {
        if self.seen.contains(&value) {
            return false;
        }
        if self.order.len() >= self.cap {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(value.clone());
        self.order.push_back(value);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_set_refuses_a_repeat_and_forgets_its_oldest_beyond_the_cap() {
        let mut seen = BoundedSet::new(2);
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(seen.insert("c"));
        assert_eq!(seen.len(), 2);
        assert!(seen.insert("a"), "forgotten beyond the cap");
        assert!(!seen.insert("c"));
    }

    #[test]
    fn retention_evicts_the_oldest_settled_records_beyond_the_cap() {
        let mut kept = Retention::new(3);
        for key in 1..=5 {
            kept.push(key);
        }
        // 1 and 3 are unsettled: 2 and 4 go, the cap holds with 1 and 3 kept.
        let evicted = kept.evict(|key| *key % 2 == 0);
        assert_eq!(evicted, [2, 4]);
        assert_eq!(kept.len(), 3);
        let evicted_again = kept.evict(|_| true);
        assert!(evicted_again.is_empty());
    }

    #[test]
    fn retention_never_evicts_an_unsettled_record_even_over_the_cap() {
        let mut kept = Retention::new(2);
        for key in 1..=4 {
            kept.push(key);
        }
        let evicted = kept.evict(|key| *key == 4);
        assert_eq!(evicted, [4]);
        assert_eq!(kept.len(), 3, "1, 2 and 3 are unsettled and stay");
    }

    #[test]
    fn a_bounded_log_keeps_its_newest_entries() {
        let mut log = BoundedLog::new(2);
        for entry in ["a", "b", "c"] {
            log.push(entry);
        }
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn counters_are_drawn_in_order_one_per_request() {
        let mut faults = FaultCounters {
            fail_next: 1,
            timeout_next: 1,
            apply_then_hang_next: 1,
            drop_after_apply_next: 2,
            ..FaultCounters::default()
        };
        let drawn: Vec<FaultPlan> = (0..6).map(|_| faults.take()).collect();
        assert_eq!(
            drawn,
            [
                FaultPlan::Fail,
                FaultPlan::Timeout,
                FaultPlan::ApplyThenHang,
                FaultPlan::DropAfterApply,
                FaultPlan::DropAfterApply,
                FaultPlan::None,
            ]
        );
        assert_eq!(faults, FaultCounters::default());
    }

    #[test]
    fn a_draw_adds_the_sandbox_latency_to_the_faults_latency() {
        let cell = FaultCell::new(FaultCounters {
            latency_ms: 5,
            fail_next: 1,
            ..FaultCounters::default()
        });
        let draw = cell.draw(10);
        assert_eq!(draw.latency, Duration::from_millis(15));
        assert_eq!(draw.plan, FaultPlan::Fail);
        assert_eq!(cell.get().fail_next, 0);
    }

    #[test]
    fn the_faults_json_has_the_documented_field_names_and_refuses_others() {
        let faults: FaultCounters = serde_json::from_value(serde_json::json!({
            "fail_next": 1, "timeout_next": 2, "apply_then_hang_next": 3, "drop_after_apply_next": 4
        }))
        .expect("faults");
        assert_eq!(
            faults,
            FaultCounters {
                latency_ms: 0,
                fail_next: 1,
                timeout_next: 2,
                apply_then_hang_next: 3,
                drop_after_apply_next: 4,
                outage: None,
            }
        );
        let unknown: Result<FaultCounters, _> =
            serde_json::from_value(serde_json::json!({"fail_nxt": 1}));
        assert!(unknown.is_err());
    }

    /// A provider's own faults: the shared counters and a switch of its own.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    struct OwnFaults {
        latency_ms: u64,
        fail_next: u32,
        timeout_next: u32,
        apply_then_hang_next: u32,
        drop_after_apply_next: u32,
        outage: Option<Outage>,
        duplicate_webhooks: bool,
    }

    crate::counted_faults!(OwnFaults);

    #[test]
    fn setting_the_counters_keeps_the_providers_own_switches() {
        let cell = FaultCell::new(OwnFaults {
            fail_next: 9,
            duplicate_webhooks: true,
            ..OwnFaults::default()
        });
        let counted = FaultCounters {
            latency_ms: 7,
            timeout_next: 2,
            drop_after_apply_next: 1,
            ..FaultCounters::default()
        };
        cell.set_counters(counted.clone());
        assert_eq!(cell.counters(), counted);
        assert_eq!(
            cell.get(),
            OwnFaults {
                latency_ms: 7,
                timeout_next: 2,
                drop_after_apply_next: 1,
                duplicate_webhooks: true,
                ..OwnFaults::default()
            }
        );
    }

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

    #[tokio::test]
    async fn a_broken_answer_promises_more_than_it_sends() {
        let response = Response::new(Body::from("{\"ok\":true}"));
        let broken = break_answer(response).await;
        let promised = broken
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        assert_eq!(promised, Some(12));
        let sent = axum::body::to_bytes(broken.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(&sent[..], b"{\"ok\"");
    }
}
