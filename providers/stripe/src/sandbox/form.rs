//! What the simulator checks in a create-refund form before anything happens, as Stripe
//! would: known parameters only, one payment, a positive integer amount, a documented
//! reason, metadata within Stripe's limits. Failing here is a 400 that is not saved under
//! the Idempotency-Key (Stripe saves results only once the endpoint executes).

use std::collections::BTreeMap;

use http::StatusCode;

use crate::metadata::{MAX_KEYS, MAX_KEY_CHARS, MAX_VALUE_CHARS};

/// A Stripe error answer: status and the error object's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StripeError {
    pub(crate) status: StatusCode,
    pub(crate) error_type: &'static str,
    pub(crate) code: Option<&'static str>,
    pub(crate) param: Option<String>,
    pub(crate) message: String,
}

impl StripeError {
    pub(crate) fn invalid(
        code: Option<&'static str>,
        param: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error_type: "invalid_request_error",
            code,
            param: param.map(str::to_owned),
            message: message.into(),
        }
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({"type": self.error_type, "message": self.message});
        if let Some(code) = self.code {
            error["code"] = code.into();
            error["doc_url"] = format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            )
            .into();
        }
        if let Some(param) = &self.param {
            error["param"] = param.clone().into();
        }
        serde_json::json!({ "error": error })
    }
}

/// Parameters of `POST /v1/refunds` the simulator accepts but does nothing with.
const IGNORED: [&str; 7] = [
    "currency",
    "customer",
    "origin",
    "refund_application_fee",
    "reverse_transfer",
    "instructions_email",
    "expand[]",
];
/// The reasons Stripe takes.
const REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

/// Which payment a refund is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PaymentRef {
    PaymentIntent(String),
    Charge(String),
}

impl PaymentRef {
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::PaymentIntent(id) | Self::Charge(id) => id,
        }
    }

    pub(crate) fn param(&self) -> &'static str {
        match self {
            Self::PaymentIntent(_) => "payment_intent",
            Self::Charge(_) => "charge",
        }
    }
}

/// A checked create-refund form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateParams {
    pub(crate) payment: PaymentRef,
    pub(crate) amount: Option<i64>,
    pub(crate) reason: Option<String>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// The form's pairs in a canonical order: two requests with the same parameters have the
/// same fingerprint (the Idempotency-Key comparison).
pub(crate) fn fingerprint(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut sorted = pairs.to_vec();
    sorted.sort();
    sorted
}

/// Checks the form of `POST /v1/refunds`.
pub(crate) fn create_params(pairs: &[(String, String)]) -> Result<CreateParams, StripeError> {
    let mut payment_intent = None;
    let mut charge = None;
    let mut amount = None;
    let mut reason = None;
    let mut metadata = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "payment_intent" => payment_intent = Some(value.clone()),
            "charge" => charge = Some(value.clone()),
            "amount" => amount = Some(positive_integer(value)?),
            "reason" => {
                if !REASONS.contains(&value.as_str()) {
                    return Err(StripeError::invalid(
                        None,
                        Some("reason"),
                        "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
                    ));
                }
                reason = Some(value.clone());
            }
            other if IGNORED.contains(&other) => {}
            other => match other
                .strip_prefix("metadata[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                Some(meta) => {
                    check_metadata(meta, value)?;
                    metadata.insert(meta.to_owned(), value.clone());
                }
                None => {
                    return Err(StripeError::invalid(
                        Some("parameter_unknown"),
                        Some(other),
                        format!("Received unknown parameter: {other}"),
                    ))
                }
            },
        }
    }
    if metadata.len() > MAX_KEYS {
        return Err(StripeError::invalid(
            None,
            Some("metadata"),
            format!("You can specify up to {MAX_KEYS} metadata keys."),
        ));
    }
    let payment = match (payment_intent, charge) {
        (Some(id), None) => PaymentRef::PaymentIntent(id),
        (None, Some(id)) => PaymentRef::Charge(id),
        (None, None) => {
            return Err(StripeError::invalid(
                Some("parameter_missing"),
                None,
                "One of the following params should be provided for this request: payment_intent or charge.",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(StripeError::invalid(
                None,
                Some("charge"),
                "You cannot pass both charge and payment_intent.",
            ))
        }
    };
    Ok(CreateParams {
        payment,
        amount,
        reason,
        metadata,
    })
}

fn positive_integer(value: &str) -> Result<i64, StripeError> {
    let invalid = || {
        StripeError::invalid(
            Some("parameter_invalid_integer"),
            Some("amount"),
            format!(
                "Invalid integer: {}",
                value.chars().take(40).collect::<String>()
            ),
        )
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<i64>() {
        Ok(amount) if amount >= 1 => Ok(amount),
        Ok(_) => Err(StripeError::invalid(
            Some("amount_too_small"),
            Some("amount"),
            "Amount must be at least 1",
        )),
        Err(_) => Err(invalid()),
    }
}

fn check_metadata(key: &str, value: &str) -> Result<(), StripeError> {
    let param = format!("metadata[{key}]");
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.contains(['[', ']']) {
        return Err(StripeError::invalid(
            None,
            Some(&param),
            format!("Metadata keys must be 1-{MAX_KEY_CHARS} characters without square brackets."),
        ));
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(StripeError::invalid(
            None,
            Some(&param),
            format!("Metadata values can have up to {MAX_VALUE_CHARS} characters."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_documented_form_is_read() {
        let params = create_params(&pairs(&[
            ("payment_intent", "pi_1"),
            ("amount", "1299"),
            ("reason", "duplicate"),
            ("metadata[gateway_refund_id]", "rf_1"),
        ]))
        .expect("params");
        assert_eq!(params.payment, PaymentRef::PaymentIntent("pi_1".into()));
        assert_eq!(params.amount, Some(1299));
        assert_eq!(params.metadata["gateway_refund_id"], "rf_1");
    }

    #[test]
    fn bad_forms_are_refused_naming_the_parameter() {
        type Form<'a> = &'a [(&'a str, &'a str)];
        let table: &[(Form, Option<&str>)] = &[
            (&[("amount", "100")], None),
            (
                &[("payment_intent", "pi_1"), ("charge", "ch_1")],
                Some("charge"),
            ),
            (&[("charge", "ch_1"), ("amount", "12.99")], Some("amount")),
            (&[("charge", "ch_1"), ("amount", "0")], Some("amount")),
            (&[("charge", "ch_1"), ("amount", "-5")], Some("amount")),
            (&[("charge", "ch_1"), ("reason", "other")], Some("reason")),
            (
                &[("charge", "ch_1"), ("destination", "x")],
                Some("destination"),
            ),
            (
                &[("charge", "ch_1"), ("metadata[a[b]]", "x")],
                Some("metadata[a[b]]"),
            ),
        ];
        for (form, param) in table {
            let refused = create_params(&pairs(form)).expect_err("refused");
            assert_eq!(refused.status, StatusCode::BAD_REQUEST);
            assert_eq!(refused.param.as_deref(), *param, "{form:?}");
        }
    }

    #[test]
    fn the_same_parameters_in_another_order_have_the_same_fingerprint() {
        let a = pairs(&[("charge", "ch_1"), ("amount", "5")]);
        let b = pairs(&[("amount", "5"), ("charge", "ch_1")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&pairs(&[("charge", "ch_1")])));
    }
}
