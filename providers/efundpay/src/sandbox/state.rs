//! The simulator's state and rules: payments, refunds, faults, and what eFundPay checks on
//! a create-refund request (its body field by field in [`body`]). Pure logic under one
//! mutex (never held across an await).

mod body;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use http::StatusCode;
use refund_provider::sandbox_kit::{lock, BoundedLog, FaultCell, Hang, Retention};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::config::{Faults, SandboxConfig, UNSEEN_PAYMENT_AMOUNT_MINOR};
use super::effect::{Effect, WebhookDelivery};
use super::error::ApiError;
use super::magic;
use crate::request::BANK_DETAIL_METHODS;
use crate::wire::{Refund, REFUND_OBJECT_TYPE};
use body::{parse_fields, Fields};

#[derive(Debug)]
struct Payment {
    amount_minor: i64,
    currency: String,
    method: String,
    external_identifier: String,
    /// Known from `SandboxConfig::payments`: kept when its refunds are evicted.
    configured: bool,
}

/// A refund as stored, with what happens to it next.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) refund: Refund,
    pub(crate) webhooks_url: String,
    /// The final status it moves to after `webhook_delay_ms`, if any.
    pub(crate) settles_to: Option<&'static str>,
    /// The webhook faults in force when it was created.
    pub(crate) faults: Faults,
}

impl Stored {
    /// Nothing more will happen to it: it may be evicted beyond the cap.
    fn settled(&self) -> bool {
        self.settles_to.is_none() && self.refund.status != "processing"
    }
}

#[derive(Debug)]
struct Inner {
    payments: HashMap<String, Payment>,
    /// Every retained refund by creation sequence (oldest first); the maps below index into
    /// it so that no request scans the whole history (the simulator must stay fast under a
    /// long benchmark).
    refunds: BTreeMap<u64, Stored>,
    next_seq: u64,
    by_external_identifier: HashMap<String, u64>,
    by_id: HashMap<String, u64>,
    by_transaction: HashMap<String, Vec<u64>>,
    /// At most `max_refunds` refunds; the oldest settled go first.
    retention: Retention<u64>,
    deliveries: BoundedLog<WebhookDelivery>,
}

impl Inner {
    fn new(max_refunds: usize) -> Self {
        Self {
            payments: HashMap::new(),
            refunds: BTreeMap::new(),
            next_seq: 0,
            by_external_identifier: HashMap::new(),
            by_id: HashMap::new(),
            by_transaction: HashMap::new(),
            retention: Retention::new(max_refunds),
            deliveries: BoundedLog::new(max_refunds),
        }
    }

    fn of_transaction<'a>(&'a self, transaction_id: &str) -> impl Iterator<Item = &'a Stored> + 'a {
        self.by_transaction
            .get(transaction_id)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.refunds.get(seq))
    }

    fn insert(&mut self, stored: Stored) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_external_identifier
            .insert(stored.refund.external_identifier.clone(), seq);
        self.by_id.insert(stored.refund.id.clone(), seq);
        self.by_transaction
            .entry(stored.refund.transaction_id.clone())
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
            let refund = stored.refund;
            self.by_external_identifier
                .remove(&refund.external_identifier);
            self.by_id.remove(&refund.id);
            let emptied = match self.by_transaction.get_mut(&refund.transaction_id) {
                Some(list) => {
                    list.retain(|s| *s != seq);
                    list.is_empty()
                }
                None => false,
            };
            if emptied {
                self.by_transaction.remove(&refund.transaction_id);
                if self
                    .payments
                    .get(&refund.transaction_id)
                    .is_some_and(|p| !p.configured)
                {
                    self.payments.remove(&refund.transaction_id);
                }
            }
        }
    }
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

impl Shared {
    pub(crate) fn new(config: SandboxConfig, stopped: watch::Receiver<bool>) -> io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(io::Error::other)?;
        let mut inner = Inner::new(config.max_refunds);
        for payment in &config.payments {
            inner.payments.insert(
                payment.id.clone(),
                Payment {
                    amount_minor: payment.amount_minor,
                    currency: payment.currency.clone(),
                    method: payment
                        .payment_method
                        .clone()
                        .unwrap_or_else(|| "card".into()),
                    external_identifier: format!("transaction-{}", payment.id),
                    configured: true,
                },
            );
        }
        Ok(Self {
            faults: FaultCell::new(config.faults.clone()),
            hang: Hang::until_stopped(config.hang_ms, stopped.clone()),
            config,
            inner: Mutex::new(inner),
            http,
            stopped,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    pub(crate) fn effects(&self) -> Vec<Effect> {
        self.lock()
            .refunds
            .values()
            .map(|stored| Effect {
                reference: stored.refund.external_identifier.clone(),
                payment_id: stored.refund.transaction_id.clone(),
                amount_minor: stored.refund.amount,
                currency: stored.refund.currency.clone(),
                status: stored.refund.status.clone(),
                refund_id: stored.refund.id.clone(),
                reason: stored.refund.reason.clone().unwrap_or_default(),
                webhooks_url: stored.webhooks_url.clone(),
                created_at: stored.refund.created_at.clone().unwrap_or_default(),
            })
            .collect()
    }

    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.lock().deliveries.iter().cloned().collect()
    }

    /// How many refunds are retained.
    pub(crate) fn retained(&self) -> usize {
        self.lock().refunds.len()
    }

    pub(crate) fn record_delivery(&self, delivery: WebhookDelivery) {
        self.lock().deliveries.push(delivery);
    }

    /// The refunds of a transaction, oldest first.
    pub(crate) fn list(&self, transaction_id: &str) -> Result<Vec<Refund>, ApiError> {
        if transaction_id == magic::PAYMENT_NOT_FOUND {
            return Err(not_found(transaction_id));
        }
        Ok(self
            .lock()
            .of_transaction(transaction_id)
            .map(|stored| stored.refund.clone())
            .collect())
    }

    /// Moves a refund to its final status; returns it for the webhook, or `None` when it
    /// has nowhere to go.
    pub(crate) fn settle(&self, refund_id: &str) -> Option<Stored> {
        let mut inner = self.lock();
        let seq = *inner.by_id.get(refund_id)?;
        let stored = inner.refunds.get_mut(&seq)?;
        let final_status = stored.settles_to.take()?;
        if stored.refund.status != "processing" {
            return None;
        }
        stored.refund.status = final_status.to_owned();
        let settled = stored.clone();
        inner.evict();
        Some(settled)
    }

    /// Checks and records a create-refund request, as eFundPay would: the body, the
    /// transaction, the external identifier never used before, the payment (found, or
    /// assumed on first sight) and what it allows, then the refund recorded on its course.
    pub(crate) fn create(&self, transaction_id: &str, body: &[u8]) -> Result<Stored, ApiError> {
        let fields = parse_fields(body)?;
        if transaction_id == magic::PAYMENT_NOT_FOUND {
            return Err(not_found(transaction_id));
        }
        let faults = self.faults.get();
        let mut inner = self.lock();
        if inner
            .by_external_identifier
            .contains_key(&fields.external_identifier)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_external_identifier",
                format!(
                    "a refund with external_identifier `{}` already exists",
                    fields.external_identifier
                ),
            ));
        }
        let transaction_external_identifier = inner.check_payment(transaction_id, &fields)?;
        let (status, settles_to) = course(fields.amount);
        let stored = Stored {
            refund: Refund {
                object_type: REFUND_OBJECT_TYPE.into(),
                id: uuid_like(),
                transaction_id: transaction_id.to_owned(),
                status: status.into(),
                currency: fields.currency,
                amount: fields.amount,
                reason: Some(fields.reason),
                external_identifier: fields.external_identifier,
                transaction_external_identifier: Some(transaction_external_identifier),
                created_at: Some(timestamp(OffsetDateTime::now_utc())),
            },
            webhooks_url: fields.webhooks_url,
            settles_to,
            faults,
        };
        inner.insert(stored.clone());
        Ok(stored)
    }
}

impl Inner {
    /// Checks the refund against its payment (found, or assumed on first sight: a card
    /// payment, or PromptPay for a `promptpay_` id, in the refund's currency): the same
    /// currency, a bank detail where the method needs one, the magic amounts refused on
    /// purpose, and no more refunded in all than the payment. Returns the payment's external
    /// identifier.
    fn check_payment(&mut self, transaction_id: &str, fields: &Fields) -> Result<String, ApiError> {
        let payment = self
            .payments
            .entry(transaction_id.to_owned())
            .or_insert_with(|| Payment {
                amount_minor: UNSEEN_PAYMENT_AMOUNT_MINOR,
                currency: fields.currency.clone(),
                method: if transaction_id.starts_with(magic::PAYMENT_PROMPTPAY_PREFIX) {
                    "promptpay".into()
                } else {
                    "card".into()
                },
                external_identifier: format!("transaction-{transaction_id}"),
                configured: false,
            });
        if payment.currency != fields.currency {
            return Err(ApiError::unprocessable(
                "currency_mismatch",
                format!("the transaction is in {}", payment.currency),
            ));
        }
        if BANK_DETAIL_METHODS.contains(&payment.method.as_str()) && !fields.has_bank_detail {
            return Err(ApiError::unprocessable(
                "bank_detail_required",
                format!(
                    "bank_detail is required to refund a {} payment",
                    payment.method
                ),
            ));
        }
        if let Some(refusal) = refused_on_purpose(fields.amount) {
            return Err(refusal);
        }
        let (limit, transaction_external_identifier) =
            (payment.amount_minor, payment.external_identifier.clone());
        let refunded: i64 = self
            .of_transaction(transaction_id)
            .filter(|s| matches!(s.refund.status.as_str(), "processing" | "succeeded"))
            .map(|s| s.refund.amount)
            .sum();
        if refunded.saturating_add(fields.amount) > limit {
            return Err(ApiError::unprocessable(
                "amount_exceeds_refundable",
                format!(
                    "refunds would total {} of a {limit} transaction",
                    refunded.saturating_add(fields.amount)
                ),
            ));
        }
        Ok(transaction_external_identifier)
    }
}

/// The magic amounts refused once the payment is checked.
fn refused_on_purpose(amount: i64) -> Option<ApiError> {
    match amount {
        magic::AMOUNT_REJECTED => Some(ApiError::unprocessable(
            "refund_not_allowed",
            "this transaction cannot be refunded",
        )),
        magic::AMOUNT_SERVER_ERROR => Some(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong",
        )),
        _ => None,
    }
}

/// A refund's status when created, and the final status it settles to, if any: the magic
/// amounts choose, any other is `processing` and then succeeds.
fn course(amount: i64) -> (&'static str, Option<&'static str>) {
    match amount {
        magic::AMOUNT_DECLINED => ("declined", None),
        magic::AMOUNT_FAILED => ("failed", None),
        magic::AMOUNT_SUCCEEDED_AT_ONCE => ("succeeded", None),
        magic::AMOUNT_FAILS_LATER => ("processing", Some("failed")),
        magic::AMOUNT_VOIDED_LATER => ("processing", Some("voided")),
        magic::AMOUNT_STAYS_PROCESSING => ("processing", None),
        _ => ("processing", Some("succeeded")),
    }
}

fn not_found(transaction_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "transaction_not_found",
        format!("no transaction `{transaction_id}`"),
    )
}

/// A random id shaped like eFundPay's (`6a1d4e46-14ed-4fe1-a45f-eff4e025d211`).
fn uuid_like() -> String {
    let hex = format!("{:032x}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A webhook event id: `evt_` + 32 hex digits.
pub(crate) fn event_id() -> String {
    format!("evt_{:032x}", rand::random::<u128>())
}

/// eFundPay's time format: `2013-07-16T19:23:00.000+00:00`.
pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+00:00"
    );
    at.format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000+00:00".into())
}
