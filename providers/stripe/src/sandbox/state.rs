//! The simulator's state and rules: payments (a PaymentIntent `pi_X` and its charge `ch_X`
//! are one payment), refunds, saved Idempotency-Key answers, and what Stripe checks when a
//! refund is created. Pure logic under one mutex, never held across an await.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::StatusCode;
use refund_provider::sandbox_kit::{lock, BoundedLog, FaultCell, Hang, Retention};
use refund_provider::Currency;
use serde_json::Value;
use tokio::sync::watch;

use super::form::{CreateParams, PaymentRef, StripeError};
use super::{magic, Effect, Faults, SandboxConfig, WebhookDelivery, UNSEEN_PAYMENT_AMOUNT_MINOR};
use crate::currency::{HUNDREDTHS_OF_WHOLE_UNITS, THREE_DECIMAL};
use crate::metadata::GATEWAY_REFUND_ID;
use crate::wire::{Refund, RefundList, LIST_OBJECT, REFUND_OBJECT};

/// How long Stripe keeps an Idempotency-Key's saved answer.
pub(crate) const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

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

/// An Idempotency-Key's state.
#[derive(Debug, Clone)]
enum Saved {
    /// A request with this key is executing.
    InProgress { fingerprint: Vec<(String, String)> },
    /// Its answer, replayed to a repeat with the same parameters.
    Done {
        fingerprint: Vec<(String, String)>,
        status: StatusCode,
        body: String,
        at: Instant,
    },
}

/// What to do with a request carrying an Idempotency-Key.
#[derive(Debug)]
pub(crate) enum Begin {
    /// Execute it; the key is reserved.
    Fresh,
    /// Answer this saved answer again.
    Replay { status: StatusCode, body: String },
    /// Refuse it.
    Refused(StripeError),
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
    saved: HashMap<String, Saved>,
    saved_order: VecDeque<String>,
    deliveries: BoundedLog<WebhookDelivery>,
    webhook_url: Option<String>,
    cap: usize,
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
                saved: HashMap::new(),
                saved_order: VecDeque::new(),
                deliveries: BoundedLog::new(cap),
                webhook_url: config.webhook_url.clone(),
                cap,
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
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.saved.get(key) {
            Some(Saved::Done {
                fingerprint: saved,
                status,
                body,
                at,
            }) if now.duration_since(*at) < IDEMPOTENCY_TTL => {
                if saved.as_slice() == fingerprint {
                    return Begin::Replay {
                        status: *status,
                        body: body.clone(),
                    };
                }
                return Begin::Refused(idempotency_mismatch(key));
            }
            Some(Saved::InProgress { fingerprint: saved }) => {
                if saved.as_slice() != fingerprint {
                    return Begin::Refused(idempotency_mismatch(key));
                }
                return Begin::Refused(StripeError {
                    status: StatusCode::CONFLICT,
                    error_type: "idempotency_error",
                    code: Some("idempotency_key_in_use"),
                    param: None,
                    message: "There is currently another in-progress request using this \
                              Idempotent Key (that probably means you submitted twice, and \
                              the other request is still going through): "
                        .to_owned()
                        + key,
                });
            }
            _ => {}
        }
        if !inner.saved.contains_key(key) {
            inner.saved_order.push_back(key.to_owned());
        }
        inner.saved.insert(
            key.to_owned(),
            Saved::InProgress {
                fingerprint: fingerprint.to_vec(),
            },
        );
        while inner.saved_order.len() > inner.cap {
            if let Some(oldest) = inner.saved_order.pop_front() {
                inner.saved.remove(&oldest);
            }
        }
        Begin::Fresh
    }

    /// Releases a key whose request failed validation (nothing is saved for it).
    pub(crate) fn abandon(&self, key: &str) {
        let mut inner = self.lock();
        if matches!(inner.saved.get(key), Some(Saved::InProgress { .. })) {
            inner.saved.remove(key);
            inner.saved_order.retain(|k| k != key);
        }
    }

    /// Executes a checked create request and saves its answer under `key` (a rate-limited
    /// request excepted, as Stripe processed nothing).
    pub(crate) fn create(
        &self,
        params: CreateParams,
        key: Option<(&str, Vec<(String, String)>)>,
    ) -> Outcome {
        let faults = self.faults.get();
        let mut inner = self.lock();
        let outcome = inner.create(params, &self.config, faults, key.as_ref().map(|(k, _)| *k));
        if let Some((key, fingerprint)) = key {
            if outcome.status == StatusCode::TOO_MANY_REQUESTS {
                inner.saved.remove(key);
                inner.saved_order.retain(|k| k != key);
            } else {
                inner.saved.insert(
                    key.to_owned(),
                    Saved::Done {
                        fingerprint,
                        status: outcome.status,
                        body: outcome.body.to_string(),
                        at: Instant::now(),
                    },
                );
            }
        }
        outcome
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

    /// `GET /v1/refunds/{id}`.
    pub(crate) fn retrieve(&self, refund_id: &str) -> Result<Refund, StripeError> {
        let inner = self.lock();
        inner
            .by_id
            .get(refund_id)
            .and_then(|seq| inner.refunds.get(seq))
            .map(|stored| stored.refund.clone())
            .ok_or_else(|| StripeError {
                status: StatusCode::NOT_FOUND,
                error_type: "invalid_request_error",
                code: Some("resource_missing"),
                param: Some("id".into()),
                message: format!("No such refund: '{refund_id}'"),
            })
    }

    /// `GET /v1/refunds`: the payment's refunds (or all), newest first, one page.
    pub(crate) fn list(
        &self,
        payment: Option<&PaymentRef>,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<RefundList, StripeError> {
        if let Some(payment) = payment {
            if magic::PAYMENT_MISSING.contains(&payment.id()) {
                return Err(no_such(payment));
            }
        }
        let inner = self.lock();
        let matching: Vec<&Stored> = match payment {
            Some(payment) => inner
                .by_payment
                .get(payment_key(payment.id()))
                .into_iter()
                .flatten()
                .rev()
                .filter_map(|seq| inner.refunds.get(seq))
                .filter(|stored| match payment {
                    PaymentRef::PaymentIntent(id) => {
                        stored.refund.payment_intent.as_deref() == Some(id)
                    }
                    PaymentRef::Charge(id) => stored.refund.charge.as_deref() == Some(id),
                })
                .collect(),
            None => inner.refunds.values().rev().collect(),
        };
        let start = match starting_after {
            None => 0,
            Some(after) => {
                let at = matching
                    .iter()
                    .position(|stored| stored.refund.id == after)
                    .ok_or_else(|| {
                        StripeError::invalid(
                            Some("resource_missing"),
                            Some("starting_after"),
                            format!("No such refund: '{after}'"),
                        )
                    })?;
                at + 1
            }
        };
        let page: Vec<Refund> = matching
            .iter()
            .skip(start)
            .take(limit)
            .map(|stored| stored.refund.clone())
            .collect();
        Ok(RefundList {
            object: LIST_OBJECT.into(),
            has_more: matching.len() > start + page.len(),
            data: page,
            url: "/v1/refunds".into(),
        })
    }
}

impl Inner {
    fn create(
        &mut self,
        params: CreateParams,
        config: &SandboxConfig,
        faults: Faults,
        idempotency_key: Option<&str>,
    ) -> Outcome {
        let refused = |error: StripeError| Outcome {
            status: error.status,
            body: error.body(),
            created: None,
        };
        if magic::PAYMENT_MISSING.contains(&params.payment.id()) {
            return refused(no_such(&params.payment));
        }
        match params.amount {
            Some(magic::AMOUNT_SERVER_ERROR) => {
                return refused(StripeError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    error_type: "api_error",
                    code: None,
                    param: None,
                    message: "An unknown error occurred".into(),
                })
            }
            Some(magic::AMOUNT_RATE_LIMITED) => {
                return refused(StripeError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    error_type: "invalid_request_error",
                    code: Some("rate_limit"),
                    param: None,
                    message: "Too many requests hit the API too quickly.".into(),
                })
            }
            Some(magic::AMOUNT_DECLINED) => {
                return refused(StripeError {
                    status: StatusCode::PAYMENT_REQUIRED,
                    error_type: "card_error",
                    code: Some("card_declined"),
                    param: None,
                    message: "The refund was declined by the card issuer.".into(),
                })
            }
            _ => {}
        }
        let key = payment_key(params.payment.id()).to_owned();
        let payment = self.payments.entry(key.clone()).or_insert_with(|| Payment {
            amount: UNSEEN_PAYMENT_AMOUNT_MINOR,
            currency: currency_in(params.payment.id(), &config.default_currency),
            refunded: 0,
            configured: false,
        });
        let remaining = payment.amount.saturating_sub(payment.refunded);
        if remaining <= 0 {
            return refused(StripeError::invalid(
                Some("charge_already_refunded"),
                Some(params.payment.param()),
                format!("Charge ch_{key} has already been refunded."),
            ));
        }
        let amount = params.amount.unwrap_or(remaining);
        if amount > remaining {
            return refused(StripeError::invalid(
                None,
                Some("amount"),
                format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
                ),
            ));
        }
        let code = payment.currency.code();
        if THREE_DECIMAL.contains(&code) && amount % 10 != 0 {
            return refused(StripeError::invalid(
                Some("invalid_amount"),
                Some("amount"),
                format!("Amounts in {code} must end in 0 (rounded to the nearest ten)."),
            ));
        }
        if HUNDREDTHS_OF_WHOLE_UNITS.contains(&code) && amount % 100 != 0 {
            return refused(StripeError::invalid(
                Some("invalid_charge_amount_no_decimal_compatible"),
                Some("amount"),
                format!(
                    "Invalid amount. Currency {code} has become effectively zero-decimal and \
                     charged amounts must be evenly divisible by 100."
                ),
            ));
        }
        let (status, next) = match amount {
            magic::AMOUNT_SUCCEEDED_AT_ONCE => ("succeeded", None),
            magic::AMOUNT_FAILS_LATER => (
                "pending",
                Some(("failed", Some("expired_or_canceled_card"))),
            ),
            magic::AMOUNT_CANCELED_LATER => ("requires_action", Some(("canceled", None))),
            magic::AMOUNT_STAYS_PENDING => ("pending", None),
            magic::AMOUNT_SUCCEEDS_THEN_FAILS => {
                ("succeeded", Some(("failed", Some("lost_or_stolen_card"))))
            }
            _ => ("pending", Some(("succeeded", None))),
        };
        payment.refunded = payment.refunded.saturating_add(amount);
        let currency = payment.currency.code().to_ascii_lowercase();
        let (payment_intent, charge) = match &params.payment {
            PaymentRef::PaymentIntent(id) => (Some(id.clone()), format!("ch_{key}")),
            PaymentRef::Charge(id) => (None, id.clone()),
        };
        let refund = Refund {
            id: format!("re_{}", random_id(24)),
            object: REFUND_OBJECT.into(),
            amount,
            balance_transaction: Some(format!("txn_{}", random_id(24))),
            charge: Some(charge),
            created: time::OffsetDateTime::now_utc().unix_timestamp(),
            currency,
            destination_details: Some(
                serde_json::json!({"card": {"type": "refund"}, "type": "card"}),
            ),
            failure_reason: None,
            metadata: Some(params.metadata.clone()),
            next_action: (status == "requires_action")
                .then(|| serde_json::json!({"type": "display_details", "display_details": null})),
            payment_intent,
            reason: params.reason,
            receipt_number: None,
            source_transfer_reversal: None,
            status: Some(status.into()),
            transfer_reversal: None,
        };
        let reference = params
            .metadata
            .get(GATEWAY_REFUND_ID)
            .cloned()
            .or_else(|| idempotency_key.map(str::to_owned))
            .unwrap_or_else(|| refund.id.clone());
        let stored = Stored {
            refund,
            payment: params.payment.id().to_owned(),
            reference,
            next,
            faults,
            idempotency_key: idempotency_key.map(str::to_owned),
        };
        let body = serde_json::to_value(&stored.refund).unwrap_or(Value::Null);
        self.insert(stored.clone());
        Outcome {
            status: StatusCode::OK,
            body,
            created: Some(stored),
        }
    }

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

fn no_such(payment: &PaymentRef) -> StripeError {
    StripeError::invalid(
        Some("resource_missing"),
        Some(payment.param()),
        format!("No such {}: '{}'", payment.param(), payment.id()),
    )
}

fn idempotency_mismatch(key: &str) -> StripeError {
    StripeError {
        status: StatusCode::BAD_REQUEST,
        error_type: "idempotency_error",
        code: None,
        param: None,
        message: format!(
            "Keys for idempotent requests can only be used with the same parameters they were \
             first used with. Try using a key other than '{key}' if you meant to execute a \
             different request."
        ),
    }
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
