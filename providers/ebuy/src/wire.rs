//! e-Buy wire types, field for field as the "申请退款" (apply for refund) document describes
//! them: the signed request envelope and its `content`, and the answer with its per-asset
//! breakdown. The status query (`refundQuery`, assumed) reuses the same answer shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `action` of a refund request.
pub const ACTION_REFUND: &str = "refund";
/// `action` of the (assumed) refund status query.
pub const ACTION_REFUND_QUERY: &str = "refundQuery";
/// Path of the refund endpoint.
pub const REFUND_PATH: &str = "/api/refund";
/// Path of the (assumed) refund query endpoint.
pub const REFUND_QUERY_PATH: &str = "/api/refund/query";

/// The request envelope: every field is required by the document. `sign` covers all the
/// others (see [`crate::sign`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEnvelope<C> {
    /// `YYYYMMDD-` + 32 lowercase alphanumerics, new per HTTP request.
    pub uuid: String,
    pub app_id: String,
    /// `refund` or `refundQuery`.
    pub action: String,
    /// Milliseconds since the Unix epoch, a JSON number.
    pub timestamp: i64,
    /// Always `sha256`.
    pub sign_type: String,
    pub sign: String,
    /// e.g. `zh_CN`.
    pub lang: String,
    pub content: C,
}

/// `content` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundContent {
    /// The original order's external number (the merchant API's `payment_id`), ≤ 32.
    pub out_trade_no: String,
    /// Our refund number, `YYYYMMDD` + digits, ≤ 32.
    pub refund_trade_no: String,
    /// The original trade's date, `YYYYMMDD`; e-Buy assumes today when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_detail: Option<GoodsDetail>,
    /// Absent for a whole-order refund; else exactly one entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_method: Option<Vec<RefundMethod>>,
}

/// `content.goodsDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GoodsDetail {
    pub goods_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_code: Option<String>,
    pub goods_num: u64,
}

/// One `content.refundMethod` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundMethod {
    /// `cash`, `coupon`, `cashcard` or `points`.
    pub asset_type: String,
    /// In fen (CNY minor units), an integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<i64>,
}

/// `content` of the (assumed) refund status query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryContent {
    pub out_trade_no: String,
    pub refund_trade_no: String,
}

/// The answer envelope. The document marks most fields required; the adapter only relies
/// on `success`, `errorCode`/`errorMessage` and (on success) `content`, and reads `sign`
/// from the raw JSON before this type is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    #[serde(default)]
    pub uuid: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub timestamp: Option<Value>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub sign_type: Option<String>,
    #[serde(default)]
    pub sign: Option<String>,
    /// Kept raw: only parsed (as [`AnswerContent`]) when `success` is true.
    #[serde(default)]
    pub content: Option<Value>,
}

/// `content` of an answer: the refund and its breakdown per asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerContent {
    /// "流水号": echoed order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// Not in the document's answer schema; used when e-Buy echoes it.
    #[serde(default)]
    pub refund_trade_no: Option<String>,
    /// e.g. `2025-03-17 23:56:26`.
    #[serde(default)]
    pub refund_time: Option<String>,
    /// Total refunded, in fen, as a string.
    #[serde(default)]
    pub refund_amount: Option<Fen>,
    /// Cash card (`cashcard`) line.
    #[serde(default)]
    pub card_refund: Option<AssetRefund>,
    #[serde(default)]
    pub coupon_refund: Option<AssetRefund>,
    #[serde(default)]
    pub points_refund: Option<AssetRefund>,
    /// Electronic cash line.
    #[serde(default)]
    pub cash_refund: Option<AssetRefund>,
}

/// One asset line of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRefund {
    pub refund_amount: Fen,
    /// `SUCCESS`, `PROCESSING` or `FAIL`.
    pub refund_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_list: Option<Vec<UseItem>>,
}

/// One `useList` entry (coupon / card usage detail); kept for completeness, not mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UseItem {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default)]
    pub paid_amount: Option<String>,
    #[serde(default)]
    pub use_rule: Option<String>,
    #[serde(default)]
    pub from_goods_ids: Option<String>,
    #[serde(default)]
    pub for_goods_ids: Option<String>,
}

/// An amount in fen as e-Buy writes it: a string of digits (documented), or, leniently, a
/// JSON integer. Kept as text; [`Fen::minor`] parses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fen {
    Text(String),
    Number(i64),
}

impl Fen {
    /// The amount in fen, if it is a non-negative whole number.
    pub fn minor(&self) -> Option<i64> {
        match self {
            Self::Number(n) if *n >= 0 => Some(*n),
            Self::Number(_) => None,
            Self::Text(s) => {
                let s = s.trim();
                if s.is_empty() || s.len() > 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    s.parse().ok()
                }
            }
        }
    }
}

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Number(n) => n.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_amounts_are_whole_non_negative_numbers() {
        assert_eq!(Fen::Text("1250".into()).minor(), Some(1250));
        assert_eq!(Fen::Text("0".into()).minor(), Some(0));
        assert_eq!(Fen::Number(7).minor(), Some(7));
        for bad in ["12.50", "-1", "", "1e3", "abc", "9999999999999999"] {
            assert_eq!(Fen::Text(bad.into()).minor(), None, "{bad}");
        }
        assert_eq!(Fen::Number(-1).minor(), None);
    }
}
