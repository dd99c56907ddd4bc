//! The simulator's state: payments (a PaymentIntent `pi_X` and its charge `ch_X` are one
//! payment), refunds with what happens to them next, saved Idempotency-Key answers, and the
//! cap on what is retained. Pure logic under one mutex, never held across an await. What
//! Stripe checks when a refund is created is in [`create`], reading refunds back in
//! [`query`], the Idempotency-Key rules in [`idempotency`].

mod create;
mod idempotency;
mod query;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use http::StatusCode;
use refund_provider::sandbox_kit::{lock, BoundedLog, FaultCell, Hang, Retention};
use refund_provider::Currency;
use serde_json::Value;
use tokio::sync::watch;

use super::config::{Faults, SandboxConfig};
use super::effect::{Effect, WebhookDelivery};
use crate::wire::Refund;
pub(crate) use idempotency::Begin;
use idempotency::SavedAnswers;

#[derive(Debug)]
struct Payment {
    amount: i64,
    currency: Currency,
    /// Sum of its refunds that are not failed or canceled.
    refunded: i64,
    /// From `SandboxConfig::payments`: kept when its refunds are evicted.
    configured: bool,
}

/// A refund as stored, with what happens to it next.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) refund: Refund,
    /// The payment as the request named it.
    pub(crate) payment: String,
    pub(crate) reference: String,
    /// The status (and failure reason) it moves to after `settle_after_ms`.
    pub(crate) next: Option<(&'static str, Option<&'static str>)>,
    /// The webhook faults in force when it was created.
    pub(crate) faults: Faults,
    pub(crate) idempotency_key: Option<String>,
}

impl Stored {
    /// Nothing more will happen to it: it may be evicted beyond the cap.
    fn settled(&self) -> bool {
        self.next.is_none()
            && !matches!(
                self.refund.status.as_deref(),
                Some("pending" | "requires_action")
            )
    }
}

/// What a create request ended as.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    /// The refund recorded, for its webhooks.
    pub(crate) created: Option<Stored>,
}

#[derive(Debug)]
struct Inner {
    payments: HashMap<String, Payment>,
    refunds: BTreeMap<u64, Stored>,
    next_seq: u64,
    by_id: HashMap<String, u64>,
    by_payment: HashMap<String, Vec<u64>>,
    retention: Retention<u64>,
    saved: SavedAnswers,
    deliveries: BoundedLog<WebhookDelivery>,
    webhook_url: Option<String>,
}

/// Everything the handlers and webhook tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    inner: Mutex<Inner>,
    pub(crate) faults: FaultCell<Faults>,
    /// `hang_ms`, cut short when the sandbox stops.
    pub(crate) hang: Hang,
    pub(crate) http: reqwest::Client,
    pub(crate) stopped: watch::Receiver<bool>,
}

/// `pi_X` and `ch_X` are one payment, `X`.
fn payment_key(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, rest)| rest)
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig, stopped: watch::Receiver<bool>) -> io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(io::Error::other)?;
        let mut payments = HashMap::new();
        for payment in &config.payments {
            let currency =
                Currency::parse(&payment.currency.to_ascii_uppercase()).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {e}", payment.id))
                })?;
            payments.insert(
                payment_key(&payment.id).to_owned(),
                Payment {
                    amount: payment.amount_minor,
                    currency,
                    refunded: 0,
                    configured: true,
                },
            );
        }
        Currency::parse(&config.default_currency.to_ascii_uppercase())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let cap = config.max_refunds.max(1);
        Ok(Self {
            faults: FaultCell::new(config.faults.clone()),
            hang: Hang::until_stopped(config.hang_ms, stopped.clone()),
            inner: Mutex::new(Inner {
                payments,
                refunds: BTreeMap::new(),
                next_seq: 0,
                by_id: HashMap::new(),
                by_payment: HashMap::new(),
                retention: Retention::new(cap),
                saved: SavedAnswers::new(cap),
                deliveries: BoundedLog::new(cap),
                webhook_url: config.webhook_url.clone(),
            }),
            config,
            http,
            stopped,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    pub(crate) fn set_webhook_url(&self, url: Option<String>) {
        self.lock().webhook_url = url;
    }

    pub(crate) fn webhook_url(&self) -> Option<String> {
        self.lock().webhook_url.clone()
    }

    pub(crate) fn retained(&self) -> usize {
        self.lock().refunds.len()
    }

    pub(crate) fn effects(&self) -> Vec<Effect> {
        self.lock()
            .refunds
            .values()
            .map(|stored| Effect {
                reference: stored.reference.clone(),
                payment_id: stored.payment.clone(),
                refund_id: stored.refund.id.clone(),
                amount_minor: stored.refund.amount,
                currency: stored.refund.currency.to_ascii_uppercase(),
                status: stored.refund.status.clone().unwrap_or_default(),
                reason: stored.refund.reason.clone(),
                created: stored.refund.created,
            })
            .collect()
    }

    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.lock().deliveries.iter().cloned().collect()
    }

    pub(crate) fn record_delivery(&self, delivery: WebhookDelivery) {
        self.lock().deliveries.push(delivery);
    }

    /// Looks up an Idempotency-Key before executing; reserves it when fresh.
    pub(crate) fn begin(&self, key: &str, fingerprint: &[(String, String)]) -> Begin {
        self.lock().saved.begin(key, fingerprint)
    }

    /// Releases a key whose request failed validation (nothing is saved for it).
    pub(crate) fn abandon(&self, key: &str) {
        self.lock().saved.abandon(key);
    }

    /// Moves a refund to its next status; returns it as it was and as it is now, or `None`
    /// when it has nowhere to go.
    pub(crate) fn settle(&self, refund_id: &str) -> Option<(Stored, Stored)> {
        let mut inner = self.lock();
        let seq = *inner.by_id.get(refund_id)?;
        let stored = inner.refunds.get_mut(&seq)?;
        let before = stored.clone();
        let (status, failure_reason) = stored.next.take()?;
        stored.refund.status = Some(status.to_owned());
        stored.refund.failure_reason = failure_reason.map(str::to_owned);
        stored.refund.next_action = None;
        let after = stored.clone();
        if matches!(status, "failed" | "canceled") {
            if let Some(payment) = inner.payments.get_mut(payment_key(&after.payment)) {
                payment.refunded = payment.refunded.saturating_sub(after.refund.amount);
            }
        }
        inner.evict();
        Some((before, after))
    }
}

impl Inner {
    fn insert(&mut self, stored: Stored) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert(stored.refund.id.clone(), seq);
        self.by_payment
            .entry(payment_key(&stored.payment).to_owned())
            .or_default()
            .push(seq);
        self.refunds.insert(seq, stored);
        self.retention.push(seq);
        self.evict();
    }

    /// Drops the oldest settled refunds beyond the cap, with their indexes and, when it has
    /// no refund left, their payment (unless configured).
    fn evict(&mut self) {
        let refunds = &self.refunds;
        let evicted = self
            .retention
            .evict(|seq| refunds.get(seq).is_none_or(Stored::settled));
        for seq in evicted {
            let Some(stored) = self.refunds.remove(&seq) else {
                continue;
            };
            self.by_id.remove(&stored.refund.id);
            let key = payment_key(&stored.payment).to_owned();
            let emptied = self.by_payment.get_mut(&key).is_some_and(|list| {
                list.retain(|s| *s != seq);
                list.is_empty()
            });
            if emptied {
                self.by_payment.remove(&key);
                if self.payments.get(&key).is_some_and(|p| !p.configured) {
                    self.payments.remove(&key);
                }
            }
        }
    }
}

/// `pi_jpy_123` is a JPY payment; otherwise `default` (lower case).
fn currency_in(payment_id: &str, default: &str) -> Currency {
    let named = payment_id
        .split('_')
        .nth(1)
        .filter(|part| part.len() == 3 && part.bytes().all(|b| b.is_ascii_lowercase()))
        .and_then(|code| Currency::parse(&code.to_ascii_uppercase()).ok());
    named
        .or_else(|| Currency::parse(&default.to_ascii_uppercase()).ok())
        .unwrap_or_else(|| unreachable!("the default currency is checked at start"))
}

/// `len` random alphanumerics, as in Stripe's ids.
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let index = rand::random_range(0..ALPHABET.len());
            char::from(ALPHABET[index])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_intent_and_its_charge_are_one_payment() {
        assert_eq!(payment_key("pi_3Mtw"), "3Mtw");
        assert_eq!(payment_key("ch_3Mtw"), "3Mtw");
    }

    #[test]
    fn a_currency_in_the_payment_id_wins_over_the_default() {
        assert_eq!(currency_in("pi_jpy_1", "eur").code(), "JPY");
        assert_eq!(currency_in("pi_kwd", "eur").code(), "KWD");
        assert_eq!(currency_in("pi_abc_1", "eur").code(), "EUR");
        assert_eq!(currency_in("ch_1", "usd").code(), "USD");
    }
}
