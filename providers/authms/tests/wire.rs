//! The wire types read every documented AuthMS answer and write the documented requests.

use provider_authms::wire::{
    RefundDetailResponse, RefundRequest, SimpleResponse, TransactionListResponse,
    TransactionResponse, TransferDetailResponse, TransferRequest, WalletResponse,
};
use refund_provider::testkit::RequestBuilder;
use refund_provider::{Currency, Money, ProviderRefundRequest};
use serde_json::Value;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../fixtures/authms/", $name))
    };
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn cny(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("CNY").expect("cny")).expect("amount")
}

fn request(payment_id: &str, amount: Option<&str>, reason: Option<&str>) -> ProviderRefundRequest {
    let mut req = RequestBuilder::new(payment_id, "CNY")
        .customer("usr_xyz456")
        .build();
    req.amount = amount.map(cny);
    req.reason = reason.map(str::to_owned);
    req
}

#[test]
fn the_refund_request_is_written_exactly_as_the_documented_example() {
    let mut req = request("txn_abc123", Some("50"), Some("商品退货"));
    // reference_id is generated (the gateway refund id); pin it to the document's example.
    req.provider_reference = "REF-001".into();
    let written = serde_json::to_value(RefundRequest::build(&req)).expect("serialize");
    assert_eq!(written, json(fixture!("refund-request.json")));
}

#[test]
fn a_full_refund_omits_the_amount_and_an_absent_reason_is_not_sent() {
    let req = request("txn_abc123", None, None);
    let written = serde_json::to_value(RefundRequest::build(&req)).expect("serialize");
    let object = written.as_object().expect("object");
    assert!(!object.contains_key("amount"));
    assert!(!object.contains_key("reason"));
    assert_eq!(object["reference_id"], req.refund_id.to_string());
    assert_eq!(object["transaction_id"], "txn_abc123");
}

#[test]
fn amounts_carry_exactly_the_currencys_exponent_of_decimals() {
    for (amount, code, sent) in [
        ("50", "CNY", "50.00"),
        ("0.5", "CNY", "0.50"),
        ("1299", "JPY", "1299"),
        ("1.2", "KWD", "1.200"),
    ] {
        let currency = Currency::parse(code).expect("currency");
        let mut req = request("txn_1", None, None);
        req.currency = currency;
        req.amount = Some(Money::parse(amount, currency).expect("money"));
        assert_eq!(
            RefundRequest::build(&req).amount.as_deref(),
            Some(sent),
            "{amount} {code}"
        );
    }
}

#[test]
fn the_transfer_request_has_the_documented_fields_and_carries_the_reference() {
    let req = request("txn_unused", Some("100"), Some("late delivery"));
    let amount = cny("100");
    let written = serde_json::to_value(TransferRequest::build(
        &req,
        "usr_abc123",
        "usr_xyz456",
        &amount,
    ))
    .expect("serialize");
    let mut documented = json(fixture!("transfer-request.json"));
    // description is generated: it carries the gateway refund id for the status query.
    let description = written["description"]
        .as_str()
        .expect("description")
        .to_owned();
    assert_eq!(
        description,
        format!("refund {}: late delivery", req.refund_id)
    );
    documented["description"] = Value::String(description);
    assert_eq!(written, documented);
}

#[test]
fn the_documented_requests_are_read_back_field_for_field() {
    let refund: RefundRequest =
        serde_json::from_str(fixture!("refund-request.json")).expect("refund request");
    assert_eq!(refund.transaction_id, "txn_abc123");
    assert_eq!(refund.amount.as_deref(), Some("50.00"));
    assert_eq!(refund.reason.as_deref(), Some("商品退货"));
    assert_eq!(refund.reference_id.as_deref(), Some("REF-001"));
    let transfer: TransferRequest =
        serde_json::from_str(fixture!("transfer-request.json")).expect("transfer request");
    assert_eq!(transfer.from_user_id, "usr_abc123");
    assert_eq!(transfer.to_user_id, "usr_xyz456");
    assert_eq!(transfer.description.as_deref(), Some("转账给对方"));
}

#[test]
fn every_documented_transaction_and_wallet_field_is_read() {
    let tx: TransactionResponse =
        serde_json::from_str(fixture!("transaction-response.json")).expect("transaction");
    assert_eq!(
        tx,
        TransactionResponse {
            amount: Some("100.00".into()),
            balance_after: Some("1000.00".into()),
            balance_before: Some("900.00".into()),
            counterparty_id: Some("usr_xyz456".into()),
            created_at: Some("2026-04-15T10:30:00Z".into()),
            currency: Some("CNY".into()),
            description: Some("账户充值".into()),
            id: Some("txn_abc123".into()),
            reference_id: Some("order_123".into()),
            status: Some("completed".into()),
            kind: Some("deposit".into()),
            wallet_id: Some("wlt_abc123".into()),
        }
    );
    let wallet: WalletResponse =
        serde_json::from_str(fixture!("wallet-response.json")).expect("wallet");
    assert_eq!(
        wallet,
        WalletResponse {
            application_id: Some("app_abc123".into()),
            balance: Some("1000.00".into()),
            created_at: Some("2026-01-01T00:00:00Z".into()),
            currency: Some("CNY".into()),
            frozen_balance: Some("100.00".into()),
            status: Some("active".into()),
            tenant_id: Some("tnt_xyz789".into()),
            updated_at: Some("2026-04-15T10:30:00Z".into()),
            user_id: Some("usr_abc123".into()),
            wallet_id: Some("wlt_abc123".into()),
        }
    );
}

#[test]
fn the_documented_answers_are_read_and_written_back_unchanged() {
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) -> T {
        let parsed: T = serde_json::from_str(text).expect("reads");
        assert_eq!(serde_json::to_value(&parsed).expect("writes"), json(text));
        parsed
    }
    let refund: RefundDetailResponse = round_trip(fixture!("refund-response.json"));
    let data = refund.data.expect("data");
    let tx = data.transaction.expect("transaction");
    assert_eq!(tx.kind.as_deref(), Some("refund"));
    assert_eq!(tx.status.as_deref(), Some("completed"));
    assert_eq!(
        data.wallet.expect("wallet").balance.as_deref(),
        Some("950.00")
    );

    let transfer: TransferDetailResponse = round_trip(fixture!("transfer-response.json"));
    let data = transfer.data.expect("data");
    assert_eq!(
        data.from_transaction
            .expect("from")
            .balance_after
            .as_deref(),
        Some("900.00")
    );
    assert_eq!(
        data.to_transaction.expect("to").balance_after.as_deref(),
        Some("1000.00")
    );
    assert!(data.from_wallet.is_some() && data.to_wallet.is_some());

    let list: TransactionListResponse = round_trip(fixture!("transactions-response.json"));
    assert_eq!(list.data.expect("data").len(), 1);
    let _: TransactionResponse = round_trip(fixture!("transaction-response.json"));
    let _: WalletResponse = round_trip(fixture!("wallet-response.json"));
}

#[test]
fn every_documented_error_answer_is_a_simple_response() {
    for (text, code) in [
        (fixture!("error-400.json"), 400),
        (fixture!("error-401.json"), 401),
        (fixture!("error-409.json"), 409),
        (fixture!("error-422.json"), 422),
        (fixture!("error-500.json"), 500),
    ] {
        let simple: SimpleResponse = serde_json::from_str(text).expect("simple response");
        assert_eq!(simple.code, Some(code));
        assert!(simple.message.is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn answers_with_fields_left_out_still_read() {
    let sparse: RefundDetailResponse =
        serde_json::from_str(r#"{"data":{"transaction":{"status":"completed"}}}"#).expect("reads");
    assert_eq!(sparse.code, None);
    assert_eq!(
        sparse
            .data
            .and_then(|d| d.transaction)
            .and_then(|t| t.status)
            .as_deref(),
        Some("completed")
    );
}
