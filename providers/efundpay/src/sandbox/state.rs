//! The simulator's state and rules: payments, refunds, faults, and what eFundPay checks on
//! a create-refund request. Pure logic under one mutex (never held across an await).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use http::StatusCode;
use refund_provider::sandbox_kit::{lock, BoundedLog, FaultCell, Hang, Retention};
use refund_provider::Currency;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{magic, Effect, Faults, SandboxConfig, WebhookDelivery, UNSEEN_PAYMENT_AMOUNT_MINOR};
use crate::request::BANK_DETAIL_METHODS;
use crate::wire::{Refund, REFUND_OBJECT_TYPE};

/// An error answer: `{"type": "error", "code", "message"}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

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

const TOP_LEVEL_FIELDS: [&str; 6] = [
    "amount",
    "currency",
    "reason",
    "external_identifier",
    "webhooks_url",
    "bank_detail",
];

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

    /// Checks and records a create-refund request, as eFundPay would.
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
        let payment = inner
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
        match fields.amount {
            magic::AMOUNT_REJECTED => {
                return Err(ApiError::unprocessable(
                    "refund_not_allowed",
                    "this transaction cannot be refunded",
                ))
            }
            magic::AMOUNT_SERVER_ERROR => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "something went wrong",
                ))
            }
            _ => {}
        }
        let (limit, transaction_external_identifier) =
            (payment.amount_minor, payment.external_identifier.clone());
        let refunded: i64 = inner
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
        let (status, settles_to) = match fields.amount {
            magic::AMOUNT_DECLINED => ("declined", None),
            magic::AMOUNT_FAILED => ("failed", None),
            magic::AMOUNT_SUCCEEDED_AT_ONCE => ("succeeded", None),
            magic::AMOUNT_FAILS_LATER => ("processing", Some("failed")),
            magic::AMOUNT_VOIDED_LATER => ("processing", Some("voided")),
            magic::AMOUNT_STAYS_PROCESSING => ("processing", None),
            _ => ("processing", Some("succeeded")),
        };
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

fn not_found(transaction_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "transaction_not_found",
        format!("no transaction `{transaction_id}`"),
    )
}

/// A create-refund body, checked field by field.
#[derive(Debug)]
struct Fields {
    amount: i64,
    currency: String,
    reason: String,
    external_identifier: String,
    webhooks_url: String,
    has_bank_detail: bool,
}

fn parse_fields(body: &[u8]) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("body is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "body must be a JSON object",
        ));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("unknown field `{unknown}`"),
        ));
    }
    let amount = match object.get("amount") {
        None | Some(Value::Null) => return Err(missing("amount")),
        // Integers only: 1299.0, 12.99 and "1299" are all refused.
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(amount) if amount >= 1 => amount,
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_amount",
                    "amount must be an integer >= 1 in minor units",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "amount must be an integer in minor units",
            ))
        }
    };
    let currency = string(&object, "currency")?;
    if Currency::parse(&currency).is_err() {
        return Err(ApiError::unprocessable(
            "invalid_currency",
            format!("`{currency}` is not an ISO 4217 currency code"),
        ));
    }
    let reason = limited(&object, "reason", 255)?;
    let external_identifier = limited(&object, "external_identifier", 50)?;
    let webhooks_url = string(&object, "webhooks_url")?;
    let valid_url = reqwest::Url::parse(&webhooks_url)
        .map(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .unwrap_or(false);
    if !valid_url {
        return Err(ApiError::unprocessable(
            "invalid_webhooks_url",
            "webhooks_url must be an http(s) URL",
        ));
    }
    let has_bank_detail = match object.get("bank_detail") {
        None | Some(Value::Null) => false,
        Some(Value::Object(detail)) => {
            check_bank_detail(detail)?;
            true
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "bank_detail must be an object or null",
            ))
        }
    };
    Ok(Fields {
        amount,
        currency,
        reason,
        external_identifier,
        webhooks_url,
        has_bank_detail,
    })
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request("missing_field", format!("`{field}` is required"))
}

fn string(object: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            format!("`{field}` must be a string"),
        )),
    }
}

fn limited(object: &Map<String, Value>, field: &str, max: usize) -> Result<String, ApiError> {
    let text = string(object, field)?;
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::unprocessable(
            "invalid_length",
            format!("`{field}` must be 1-{max} characters"),
        ));
    }
    Ok(text)
}

fn check_bank_detail(detail: &Map<String, Value>) -> Result<(), ApiError> {
    const FIELDS: [&str; 3] = ["bank_code", "bank_account_name", "bank_account_no"];
    let valid = detail.len() == FIELDS.len()
        && FIELDS.iter().all(|name| {
            matches!(detail.get(*name), Some(Value::String(text)) if !text.trim().is_empty())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_bank_detail",
            "bank_detail needs exactly bank_code, bank_account_name and bank_account_no",
        ))
    }
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
