//! The status query — NOT in the AuthMS documents. This is our assumption, kept here and only
//! here so it can be corrected in one place:
//!
//! `GET {base_url}/wallets/{user_id}/transactions?reference_id={ref}` with the same bearer
//! token, answering `{code, data: [TransactionResponse], message, timestamp}`. The parameter
//! is assumed to filter the wallet's transactions on `reference_id`, or, for transactions
//! that carry none (transfers), on a `description` containing it. The adapter filters the
//! list again itself, so a server that ignores the parameter is still read correctly.
//!
//! - wallet refund: the customer's wallet, the transaction whose `reference_id` is the
//!   refund's reference (type `refund` when a type is given);
//! - transfer: the receiving (customer's) wallet, the transaction whose `reference_id` is the
//!   reference or whose `description` contains it;
//! - no such transaction: `ProviderRefund::not_found()`; several: `Unknown` (the refund may
//!   have been applied more than once, which finance must see).

use refund_provider::ProviderError;
use reqwest::Url;

use crate::endpoint::endpoint;
use crate::options::Method;
use crate::transfer::is_transfer_of;
use crate::wire::TransactionResponse;

/// The query parameter the assumed endpoint filters on.
pub const REFERENCE_PARAM: &str = "reference_id";

/// `{base_url}/wallets/{user_id}/transactions?reference_id={reference}`, the user id
/// percent-encoded as one path segment.
pub fn url(base: &Url, user_id: &str, reference: &str) -> Url {
    let mut url = endpoint(base, &["wallets", user_id, "transactions"]);
    url.query_pairs_mut()
        .append_pair(REFERENCE_PARAM, reference);
    url
}

/// True when `tx` is the transaction the refund `reference` created with `method`.
pub fn is_match(method: Method, tx: &TransactionResponse, reference: &str) -> bool {
    match method {
        Method::WalletRefund => {
            tx.reference_id.as_deref() == Some(reference)
                && tx.kind.as_deref().is_none_or(|kind| kind == "refund")
        }
        Method::Transfer => is_transfer_of(tx, reference),
    }
}

/// The one transaction of the list that is this refund, `None` when there is none.
pub fn select(
    method: Method,
    list: Vec<TransactionResponse>,
    reference: &str,
) -> Result<Option<TransactionResponse>, ProviderError> {
    let mut found: Vec<TransactionResponse> = list
        .into_iter()
        .filter(|tx| is_match(method, tx, reference))
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(ProviderError::unknown(format!(
            "AuthMS holds {n} transactions for reference {reference}: the refund may have \
             been applied more than once"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(
        reference: Option<&str>,
        kind: Option<&str>,
        description: Option<&str>,
    ) -> TransactionResponse {
        TransactionResponse {
            reference_id: reference.map(str::to_owned),
            kind: kind.map(str::to_owned),
            description: description.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn the_query_url_encodes_the_user_and_the_reference() {
        let base = Url::parse("https://iam.example.com/api").expect("url");
        assert_eq!(
            url(&base, "usr/a b", "rf_1&x").as_str(),
            "https://iam.example.com/api/wallets/usr%2Fa%20b/transactions?reference_id=rf_1%26x"
        );
    }

    #[test]
    fn refunds_match_on_reference_and_transfers_also_on_description() {
        let list = vec![
            tx(Some("rf_other"), Some("refund"), None),
            tx(Some("rf_1"), Some("deposit"), None),
            tx(None, Some("transfer_in"), Some("refund rf_1: late")),
        ];
        assert_eq!(
            select(Method::WalletRefund, list, "rf_1").expect("ok"),
            None
        );
        let list = vec![
            tx(Some("rf_other"), Some("refund"), None),
            tx(None, Some("transfer_in"), Some("refund rf_2: late")),
            tx(None, Some("transfer_in"), Some("refund rf_1: late")),
        ];
        assert_eq!(
            select(Method::Transfer, list, "rf_1").expect("ok"),
            Some(tx(None, Some("transfer_in"), Some("refund rf_1: late")))
        );
    }

    #[test]
    fn two_transactions_for_one_reference_are_an_unknown_outcome() {
        let list = vec![
            tx(Some("rf_1"), None, None),
            tx(Some("rf_1"), Some("refund"), None),
        ];
        assert!(matches!(
            select(Method::WalletRefund, list, "rf_1"),
            Err(ProviderError::Unknown { .. })
        ));
    }
}
