//! The refund's `metadata[...]` form fields: the two the gateway sets
//! (`metadata[gateway_refund_id]`, which the status query and webhooks match on, and
//! `metadata[merchant_id]`) and the merchant's own metadata, checked against Stripe's limits
//! before sending (DESIGN §7; Stripe: at most 50 keys, keys up to 40 characters without `[`
//! or `]`, values up to 500 characters).

use std::collections::BTreeMap;

use refund_provider::{RefundId, RequestInvalid};

/// The key holding the gateway refund id.
pub const GATEWAY_REFUND_ID: &str = "gateway_refund_id";
/// The key holding the merchant's id.
pub const MERCHANT_ID: &str = "merchant_id";
/// Keys the gateway sets; a merchant may not.
pub const RESERVED: [&str; 2] = [GATEWAY_REFUND_ID, MERCHANT_ID];
/// Stripe's limits.
pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_VALUE_CHARS: usize = 500;

/// The request field merchant metadata comes from.
const PARAM: &str = "metadata";

/// The `metadata[key]` form fields of a refund, the gateway's keys first, the merchant's
/// after in key order; a merchant key that breaks a rule is a 400 naming it.
pub fn form_fields(
    refund_id: &RefundId,
    merchant_id: Option<&str>,
    merchant: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, RequestInvalid> {
    let mut fields = vec![field(GATEWAY_REFUND_ID, &refund_id.to_string())];
    if let Some(merchant_id) = merchant_id {
        fields.push(field(MERCHANT_ID, merchant_id));
    }
    if fields.len() + merchant.len() > MAX_KEYS {
        return Err(RequestInvalid::invalid(
            PARAM,
            format!(
                "Stripe takes at most {MAX_KEYS} metadata keys, {} of them the gateway's",
                fields.len()
            ),
        ));
    }
    for (key, value) in merchant {
        let param = format!("{PARAM}.{key}");
        if RESERVED.contains(&key.as_str()) {
            return Err(RequestInvalid::invalid(
                &param,
                "this key is reserved by the gateway",
            ));
        }
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(RequestInvalid::invalid(
                &param,
                format!("Stripe takes metadata keys of 1-{MAX_KEY_CHARS} characters"),
            ));
        }
        if key.contains(['[', ']']) {
            return Err(RequestInvalid::invalid(
                &param,
                "Stripe takes no `[` or `]` in metadata keys",
            ));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(RequestInvalid::invalid(
                &param,
                format!("Stripe takes metadata values of at most {MAX_VALUE_CHARS} characters"),
            ));
        }
        fields.push(field(key, value));
    }
    Ok(fields)
}

fn field(key: &str, value: &str) -> (String, String) {
    (format!("metadata[{key}]"), value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RefundId {
        RefundId::parse("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e").expect("id")
    }

    fn merchant(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_gateway_keys_come_first_then_the_merchants_in_key_order() {
        let fields = form_fields(
            &id(),
            Some("acme"),
            &merchant(&[("z", "2"), ("order", "A-1")]),
        )
        .expect("fields");
        assert_eq!(
            fields,
            [
                ("metadata[gateway_refund_id]".into(), id().to_string()),
                ("metadata[merchant_id]".into(), "acme".into()),
                ("metadata[order]".into(), "A-1".into()),
                ("metadata[z]".into(), "2".into()),
            ]
        );
        assert_eq!(
            form_fields(&id(), None, &BTreeMap::new()).map(|f| f.len()),
            Ok(1)
        );
    }

    #[test]
    fn a_merchant_key_that_breaks_a_rule_is_refused_naming_it() {
        let long_key = "k".repeat(41);
        let long_value = "v".repeat(501);
        let table: &[(&str, &str, &str)] = &[
            ("gateway_refund_id", "x", "metadata.gateway_refund_id"),
            ("merchant_id", "x", "metadata.merchant_id"),
            (
                &long_key,
                "x",
                "metadata.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
            ),
            ("a[b]", "x", "metadata.a[b]"),
            ("", "x", "metadata."),
            ("note", &long_value, "metadata.note"),
        ];
        for (key, value, param) in table {
            let refused =
                form_fields(&id(), Some("acme"), &merchant(&[(key, value)])).expect_err("refused");
            assert_eq!(refused.code.as_str(), "parameter_invalid", "{key}");
            assert_eq!(refused.param.as_deref(), Some(*param), "{key}");
        }
        let at_limits = merchant(&[(&"k".repeat(40), &"v".repeat(500))]);
        assert!(form_fields(&id(), Some("acme"), &at_limits).is_ok());
    }

    #[test]
    fn more_keys_than_stripe_takes_are_refused() {
        let many: BTreeMap<String, String> =
            (0..49).map(|n| (format!("k{n}"), "v".to_owned())).collect();
        assert!(form_fields(&id(), None, &many).is_ok());
        assert!(form_fields(&id(), Some("acme"), &many).is_err());
    }
}
