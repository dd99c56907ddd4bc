//! AuthMS wire types, field for field as the wallet refund and wallet transfer documents
//! name them (`dto.RefundRequest`, `dto.TransferRequest`, `dto.TransactionResponse`, ...).
//!
//! Every response field is optional, as the documents say; what the adapter needs from an
//! answer is checked where the answer is mapped, and its absence is an `Unknown` outcome.
//! Requests refuse unknown fields when read (the sandbox reads them with these types).

use serde::{Deserialize, Serialize};

/// `dto.RefundRequest`, the body of `POST /wallets/{user_id}/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The original transaction (the gateway's `payment_id`).
    pub transaction_id: String,
    /// Decimal string with exactly the currency's exponent of decimals ("50.00"); absent
    /// for a full refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The gateway refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
}

/// `dto.TransferRequest`, the body of `POST /wallets/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub amount: String,
    pub from_user_id: String,
    pub to_user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The envelope of every AuthMS answer: `{code, data, message, timestamp}`
/// (`dto.RefundDetailResponse`, `dto.TransferDetailResponse`, and without `data`
/// `SimpleResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// `gitee_com_linmes_authms_base_dto.SimpleResponse`: the body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimpleResponse {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// `dto.RefundResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResult {
    /// The refund transaction (退款交易记录).
    #[serde(default)]
    pub transaction: Option<TransactionResponse>,
    /// The customer's wallet after the refund.
    #[serde(default)]
    pub wallet: Option<WalletResponse>,
}

/// `dto.TransferResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferResult {
    #[serde(default)]
    pub from_transaction: Option<TransactionResponse>,
    #[serde(default)]
    pub from_wallet: Option<WalletResponse>,
    #[serde(default)]
    pub to_transaction: Option<TransactionResponse>,
    #[serde(default)]
    pub to_wallet: Option<WalletResponse>,
}

/// `dto.TransactionResponse` (交易记录信息).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionResponse {
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub balance_after: Option<String>,
    #[serde(default)]
    pub balance_before: Option<String>,
    #[serde(default)]
    pub counterparty_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub wallet_id: Option<String>,
}

/// `dto.WalletResponse` (用户钱包信息).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletResponse {
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub balance: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub frozen_balance: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub wallet_id: Option<String>,
}

/// `dto.RefundDetailResponse`.
pub type RefundDetailResponse = Envelope<RefundResult>;
/// `dto.TransferDetailResponse`.
pub type TransferDetailResponse = Envelope<TransferResult>;
/// The answer of the assumed status query `GET /wallets/{user_id}/transactions`.
pub type TransactionListResponse = Envelope<Vec<TransactionResponse>>;
