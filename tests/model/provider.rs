//! The provider model: the one part of the system that is not real. Two providers share one
//! [`World`], the ground truth of what was refunded: `plain` (like AuthMS or e-Buy: its
//! "not found" proves nothing and a second request with the same reference pays again) and
//! `dedup` (like Stripe: "not found" proves absence and a repeated reference is replayed).
//! Each call behaves as the step that made it chose ([`RefundMode`], [`StatusMode`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use http::HeaderMap;
use time::OffsetDateTime;

use refund_provider::{
    Capabilities, Currency, FailureCode, MinorUnits, Money, Proofs, ProviderError, ProviderId,
    ProviderRefund, ProviderRefundRequest, ProviderRefundStatus, ProviderWebhook, RefundProvider,
};

/// The panic that stands for the gateway process dying in the middle of a step.
pub const CRASH: &str = "model: the gateway process dies here (between two store steps)";

/// What every payment captured, in EUR cents.
pub const CAPTURED: i64 = 10_000;

/// How the provider treats a refund request during one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundMode {
    /// Applied, answered `succeeded` with the amount.
    Succeed,
    /// Applied, answered `processing` (settled later by the provider).
    Process,
    /// Applied, the answer lost (`Unknown`).
    Lost,
    /// Never arrived, the caller timed out (`Unknown`).
    Timeout,
    /// Refused (`Rejected`): nothing applied.
    Refuse,
    /// Applied, answered `succeeded` with another amount than applied.
    WrongAmount,
    /// Applied, then the gateway process dies before it reads the answer.
    CrashAfterApply,
    /// The gateway process dies before the request leaves.
    CrashBefore,
}

/// How the provider answers a status query during one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMode {
    /// What it has (or `NotFound`).
    Truthful,
    /// `NotFound` whatever it has, where "not found" proves nothing (`plain`); the truth
    /// where it does (`dedup` promises to find every refund).
    Hide,
    /// A 503 (`Unknown`).
    Error,
    /// What it has, a success reported with another amount.
    WrongAmount,
}

/// The provider's status of a refund it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Processing,
    Succeeded,
    /// The provider itself said it failed (the money went back).
    Failed,
}

/// One refund the provider made.
#[derive(Debug, Clone)]
pub struct Applied {
    pub provider: &'static str,
    pub payment: String,
    pub amount_minor: i64,
    pub status: Made,
    /// How many times it was applied (more than once is money paid twice).
    pub times: u32,
    pub provider_refund_id: String,
}

/// The ground truth, and what the current step asked of the providers.
#[derive(Debug)]
pub struct World {
    /// By (provider, reference).
    pub applied: BTreeMap<(String, String), Applied>,
    /// Webhooks the providers sent and the gateway has not yet been handed for good.
    pub webhooks: Vec<(&'static str, ProviderWebhook)>,
    pub refund_mode: RefundMode,
    pub status_mode: StatusMode,
    /// Every provider refuses connections (DESIGN §17).
    pub outage: bool,
    /// A call asked for a crash in this step.
    pub crashed: bool,
    next_event: u64,
}

impl Default for World {
    fn default() -> Self {
        Self {
            applied: BTreeMap::new(),
            webhooks: Vec::new(),
            refund_mode: RefundMode::Succeed,
            status_mode: StatusMode::Truthful,
            outage: false,
            crashed: false,
            next_event: 0,
        }
    }
}

/// The world, shared by both providers and the test.
pub type SharedWorld = Arc<Mutex<World>>;

pub fn lock(world: &SharedWorld) -> MutexGuard<'_, World> {
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

pub fn money(minor: i64) -> Money {
    Money::from_minor(MinorUnits::new(minor).expect("positive amount"), eur())
}

impl World {
    /// The report of a refund the provider made, as its answers describe it.
    fn report(reference: &str, applied: &Applied, amount_delta: i64) -> ProviderRefund {
        let (status, word) = match applied.status {
            Made::Processing => (ProviderRefundStatus::Processing, "processing"),
            Made::Succeeded => (ProviderRefundStatus::Succeeded, "succeeded"),
            Made::Failed => (ProviderRefundStatus::Failed, "failed"),
        };
        let mut report = ProviderRefund::with_status(status, word);
        report.provider_refund_id = Some(applied.provider_refund_id.clone());
        report.provider_reference = Some(reference.to_owned());
        report.amount = Some(money(applied.amount_minor + amount_delta));
        if status == ProviderRefundStatus::Failed {
            report.failure = Some(refund_provider::Failure {
                code: FailureCode::ProviderFailed,
                message: "the provider failed it".into(),
            });
        }
        report
    }

    /// Queues the webhook a provider sends about a refund it made.
    fn notify(&mut self, provider: &'static str, reference: &str) {
        let Some(applied) = self
            .applied
            .get(&(provider.to_owned(), reference.to_owned()))
        else {
            return;
        };
        let report = Self::report(reference, applied, 0);
        self.next_event += 1;
        let webhook = ProviderWebhook {
            event_id: format!("evt_{}", self.next_event),
            event_type: "refund.updated".into(),
            occurred_at: None,
            refund: report,
        };
        self.webhooks.push((provider, webhook));
    }

    /// The provider settles one of its processing refunds (the `nth`, cyclically) as
    /// succeeded or failed, and says so by webhook.
    pub fn settle(&mut self, nth: usize, fail: bool) {
        let open: Vec<_> = self
            .applied
            .iter()
            .filter(|(_, a)| a.status == Made::Processing)
            .map(|(key, a)| (key.clone(), a.provider))
            .collect();
        if open.is_empty() {
            return;
        }
        let ((provider, reference), name) = open[nth % open.len()].clone();
        if let Some(applied) = self.applied.get_mut(&(provider, reference.clone())) {
            applied.status = if fail { Made::Failed } else { Made::Succeeded };
        }
        self.notify(name, &reference);
    }

    /// What `provider` has refunded of `payment` (made and not failed).
    fn refunded(&self, provider: &str, payment: &str) -> i64 {
        self.applied
            .values()
            .filter(|a| a.provider == provider && a.payment == payment && a.status != Made::Failed)
            .map(|a| a.amount_minor * i64::from(a.times))
            .sum()
    }
}

/// One model provider.
#[derive(Debug)]
pub struct ModelProvider {
    name: &'static str,
    dedup: bool,
    world: SharedWorld,
}

impl ModelProvider {
    pub fn plain(world: SharedWorld) -> Arc<Self> {
        Arc::new(Self {
            name: "plain",
            dedup: false,
            world,
        })
    }

    pub fn dedup(world: SharedWorld) -> Arc<Self> {
        Arc::new(Self {
            name: "dedup",
            dedup: true,
            world,
        })
    }

    fn crash(&self, mut world: MutexGuard<'_, World>) -> ! {
        world.crashed = true;
        drop(world);
        std::panic::panic_any(CRASH);
    }
}

#[async_trait]
impl RefundProvider for ModelProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(self.name)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            currencies: None,
            partial: true,
            full_without_amount: true,
            status_query: true,
            webhooks: true,
        }
    }

    fn proofs(&self) -> Proofs {
        Proofs {
            not_found_proves_absence: self.dedup,
            resend_is_deduplicated: self.dedup,
            answers_carry_amount: true,
        }
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        let mut world = lock(&self.world);
        if world.outage {
            return Err(ProviderError::NotSent {
                cause: "connection refused".into(),
            });
        }
        let mode = world.refund_mode;
        match mode {
            RefundMode::Timeout => return Err(ProviderError::unknown("timed out")),
            RefundMode::CrashBefore => self.crash(world),
            _ => {}
        }
        let key = (self.name.to_owned(), req.provider_reference.clone());
        let payment = req.payment_id.as_str().to_owned();
        if let Some(applied) = world.applied.get_mut(&key) {
            if self.dedup {
                // A repeated reference is replayed, never paid again.
                let report = World::report(&key.1, applied, 0);
                return Ok(report);
            }
            // `plain` has no idea it is the same refund: it pays again.
            applied.times += 1;
        } else {
            let left = CAPTURED - world.refunded(self.name, &payment);
            let amount_minor = req.amount.map_or(left, |m| m.minor_units().get());
            if mode == RefundMode::Refuse || amount_minor <= 0 || amount_minor > left {
                return Err(ProviderError::rejected(
                    FailureCode::InsufficientBalance,
                    "refused",
                ));
            }
            let status = if mode == RefundMode::Process {
                Made::Processing
            } else {
                Made::Succeeded
            };
            let provider_refund_id = format!("{}_{}", self.name, world.applied.len() + 1);
            world.applied.insert(
                key.clone(),
                Applied {
                    provider: self.name,
                    payment,
                    amount_minor,
                    status,
                    times: 1,
                    provider_refund_id,
                },
            );
        }
        world.notify(self.name, &key.1);
        let applied = world.applied.get(&key).cloned().expect("just applied");
        match mode {
            RefundMode::Lost => Err(ProviderError::unknown("connection reset after sending")),
            RefundMode::CrashAfterApply => self.crash(world),
            // Only an amount the gateway asked can be contradicted: a refund sent without
            // one is whatever the provider says it was (nothing could tell otherwise).
            RefundMode::WrongAmount if req.amount.is_some() => {
                Ok(World::report(&key.1, &applied, 1))
            }
            _ => Ok(World::report(&key.1, &applied, 0)),
        }
    }

    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        let world = lock(&self.world);
        if world.outage {
            return Err(ProviderError::NotSent {
                cause: "connection refused".into(),
            });
        }
        let key = (self.name.to_owned(), req.provider_reference.clone());
        match world.status_mode {
            StatusMode::Error => Err(ProviderError::unknown("HTTP 503")),
            StatusMode::Hide if !self.dedup => Ok(ProviderRefund::not_found()),
            mode => Ok(match world.applied.get(&key) {
                None => ProviderRefund::not_found(),
                Some(applied) => {
                    let delta = i64::from(
                        mode == StatusMode::WrongAmount
                            && applied.status == Made::Succeeded
                            && req.amount.is_some(),
                    );
                    World::report(&key.1, applied, delta)
                }
            }),
        }
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        Err(ProviderError::InvalidWebhook {
            message: "the model hands webhooks to the engine directly".into(),
        })
    }
}
