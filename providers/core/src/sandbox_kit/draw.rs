//! How one request meets its fault: the faults in force in a [`FaultCell`], what a request
//! draws from it ([`Draw`]), the [`Hang`] of a hanging request, and the answers a fault
//! makes of a response (broken after the effect, or a 503 under an outage).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use tokio::sync::watch;

use super::faults::{CountedFaults, FaultCounters, FaultPlan};
use super::outage::{self, OutageSwitch};

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

    /// Locked as [`lock`](super::lock) does: the faults stay usable after a panic elsewhere.
    fn lock(&self) -> MutexGuard<'_, F> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
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

#[cfg(test)]
mod tests {
    use super::super::outage::Outage;
    use super::*;

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
