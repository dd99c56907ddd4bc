//! What the e-Buy simulator did, as the tests and the e2e read it back: each refund it
//! applied, line by asset.

use serde::{Deserialize, Serialize};

/// One asset line of an applied refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectLine {
    /// `cash`, `cashcard`, `coupon` or `points`.
    pub asset_type: String,
    pub amount_minor: i64,
    /// `succeeded`, `processing` or `failed`.
    pub status: String,
}

/// A refund the sandbox applied (including ones that report `FAIL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The `refundTradeNo`.
    pub reference: String,
    /// The `outTradeNo`.
    pub payment_id: String,
    /// Money that moved or is moving (lines not failed), in fen.
    pub amount_minor: i64,
    /// Always `CNY`.
    pub currency: String,
    /// `succeeded`, `processing`, `failed` or `partial` (some lines failed, others not).
    pub status: String,
    /// The original trade's date, `YYYYMMDD`: `tradeTime` as sent, or, when it was left
    /// out, the date in China (UTC+8) when the refund was applied, as e-Buy defaults it.
    #[serde(default)]
    pub trade_time: String,
    pub assets: Vec<EffectLine>,
    pub created_at: String,
}
