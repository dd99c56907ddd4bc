//! Saved Idempotency-Key answers, kept as Stripe keeps them: a key is reserved while its
//! request runs; its answer (a saved 500 included) is replayed for 24 hours to a repeat with
//! the same parameters; a key reused with other parameters, or while its first request still
//! runs, is refused. At most `cap` keys are kept, the oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use http::StatusCode;

use crate::sandbox::form::StripeError;

/// How long Stripe keeps an Idempotency-Key's saved answer.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

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

/// The keys seen, with their state, oldest first.
#[derive(Debug)]
pub(super) struct SavedAnswers {
    saved: HashMap<String, Saved>,
    order: VecDeque<String>,
    cap: usize,
}

impl SavedAnswers {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            saved: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Looks up a key before executing; reserves it when fresh.
    pub(super) fn begin(&mut self, key: &str, fingerprint: &[(String, String)]) -> Begin {
        let now = Instant::now();
        match self.saved.get(key) {
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
        if !self.saved.contains_key(key) {
            self.order.push_back(key.to_owned());
        }
        self.saved.insert(
            key.to_owned(),
            Saved::InProgress {
                fingerprint: fingerprint.to_vec(),
            },
        );
        while self.order.len() > self.cap {
            if let Some(oldest) = self.order.pop_front() {
                self.saved.remove(&oldest);
            }
        }
        Begin::Fresh
    }

    /// Releases a key whose request failed validation (nothing is saved for it).
    pub(super) fn abandon(&mut self, key: &str) {
        if matches!(self.saved.get(key), Some(Saved::InProgress { .. })) {
            self.forget(key);
        }
    }

    /// Saves the answer a repeat of `key` is given, except a rate-limited one: Stripe
    /// processed nothing, so the key is forgotten and may be used again.
    pub(super) fn finish(
        &mut self,
        key: &str,
        fingerprint: Vec<(String, String)>,
        status: StatusCode,
        body: String,
    ) {
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.forget(key);
            return;
        }
        self.saved.insert(
            key.to_owned(),
            Saved::Done {
                fingerprint,
                status,
                body,
                at: Instant::now(),
            },
        );
    }

    fn forget(&mut self, key: &str) {
        self.saved.remove(key);
        self.order.retain(|k| k != key);
    }
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
