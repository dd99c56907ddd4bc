//! `provider_options.ebuy` of a merchant request: which asset a refund comes from, the
//! original trade date and the goods being returned. Read through serde by
//! [`refund_provider::parse_options`], so every problem names its exact `param` path; the
//! checks live in the types (`deny_unknown_fields`, the asset enum, `deserialize_with`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use refund_provider::{parse_options, RequestInvalid};

use crate::reference::parse_yyyymmdd;

/// Root of this provider's options in the merchant API.
pub const PARAM_ROOT: &str = "provider_options.ebuy";

/// An e-Buy asset type (`refundMethod[].assetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetType {
    /// `cash`: electronic cash (the default).
    Cash,
    /// `coupon`: can only be refunded whole.
    Coupon,
    /// `cashcard`: cash card / stored-value card.
    Cashcard,
    /// `points`.
    Points,
}

impl AssetType {
    pub const ALL: [AssetType; 4] = [Self::Cash, Self::Coupon, Self::Cashcard, Self::Points];

    /// The wire and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Coupon => "coupon",
            Self::Cashcard => "cashcard",
            Self::Points => "points",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// `provider_options.ebuy.goods`: the goods being returned (`content.goodsDetail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goods {
    /// `goodsId`, 1-32 characters (the merchant's external goods id).
    #[serde(deserialize_with = "goods_id")]
    pub goods_id: String,
    /// `goodsName`, at most 50 characters.
    #[serde(default, deserialize_with = "goods_name")]
    pub goods_name: Option<String>,
    /// `goodsCode`, at most 32 characters (e-Buy's internal code).
    #[serde(default, deserialize_with = "goods_code")]
    pub goods_code: Option<String>,
    /// `goodsNum`, at least 1. The document's mock range (1..10) is not enforced.
    #[serde(deserialize_with = "quantity")]
    pub quantity: u64,
}

/// Parsed `provider_options.ebuy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbuyOptions {
    /// The asset a refund comes from: with an amount, that much of it (default cash);
    /// without an amount, the whole of that asset; `None` and no amount is a whole-order
    /// refund of every asset.
    #[serde(default)]
    pub asset_type: Option<AssetType>,
    /// `tradeTime`: the original trade's date, `YYYYMMDD`.
    #[serde(default, deserialize_with = "trade_date")]
    pub trade_date: Option<String>,
    #[serde(default)]
    pub goods: Option<Goods>,
}

impl EbuyOptions {
    /// Parses the options object; `null` (absent) means all defaults.
    pub fn parse(value: &Value) -> Result<Self, RequestInvalid> {
        parse_options(crate::identity::PROVIDER_ID, value)
    }

    /// The asset a partial refund comes from: the given one, else cash.
    pub fn asset_or_default(&self) -> AssetType {
        self.asset_type.unwrap_or(AssetType::Cash)
    }
}

/// A string of `min..=max` characters (not bytes: goods names are often Chinese).
fn text<'de, D: Deserializer<'de>>(d: D, min: usize, max: usize) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    let len = text.chars().count();
    if len < min || len > max {
        return Err(D::Error::custom(format!(
            "expected {min} to {max} characters"
        )));
    }
    Ok(text)
}

fn goods_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d, 1, 32)
}

fn goods_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Bounded<0, 50>>::deserialize(d).map(|o| o.map(|b| b.0))
}

fn goods_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Bounded<0, 32>>::deserialize(d).map(|o| o.map(|b| b.0))
}

/// A string of `MIN..=MAX` characters, for optional fields (`null` stays `None`).
struct Bounded<const MIN: usize, const MAX: usize>(String);

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d, MIN, MAX).map(Self)
    }
}

fn quantity<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => match n.as_u64() {
            Some(q) if q >= 1 => Ok(q),
            _ => Err(D::Error::custom("expected a whole number of at least 1")),
        },
        Value::Null => Err(D::Error::custom("invalid type: null, expected a quantity")),
        _ => Err(D::Error::custom("expected a whole number of at least 1")),
    }
}

fn trade_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d) {
        Ok(Some(date)) if parse_yyyymmdd(&date).is_some() => Ok(Some(date)),
        Ok(None) => Ok(None),
        _ => Err(D::Error::custom("expected a calendar date as YYYYMMDD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param_of(value: Value) -> Option<String> {
        EbuyOptions::parse(&value).err().and_then(|e| e.param)
    }

    #[test]
    fn the_design_example_options_parse() {
        let options = EbuyOptions::parse(&json!({
            "asset_type": "cash", "trade_date": "20250317",
            "goods": {"goods_id": "G1", "goods_name": "Mug", "goods_code": "C1", "quantity": 1}
        }))
        .expect("options");
        assert_eq!(options.asset_type, Some(AssetType::Cash));
        assert_eq!(options.trade_date.as_deref(), Some("20250317"));
        assert_eq!(
            options.goods,
            Some(Goods {
                goods_id: "G1".into(),
                goods_name: Some("Mug".into()),
                goods_code: Some("C1".into()),
                quantity: 1
            })
        );
    }

    #[test]
    fn absent_options_mean_a_cash_refund_without_goods() {
        let options = EbuyOptions::parse(&Value::Null).expect("options");
        assert_eq!(options, EbuyOptions::default());
        assert_eq!(options.asset_or_default(), AssetType::Cash);
    }

    #[test]
    fn every_bad_option_names_its_param() {
        let cases = [
            (json!("cash"), "provider_options.ebuy"),
            (
                json!({"asset_type": "gold"}),
                "provider_options.ebuy.asset_type",
            ),
            (json!({"asset_type": 1}), "provider_options.ebuy.asset_type"),
            (
                json!({"trade_date": "2025-03-17"}),
                "provider_options.ebuy.trade_date",
            ),
            (
                json!({"trade_date": "20250230"}),
                "provider_options.ebuy.trade_date",
            ),
            (json!({"bank": 1}), "provider_options.ebuy.bank"),
            (json!({"goods": []}), "provider_options.ebuy.goods"),
            (
                json!({"goods": {"quantity": 1}}),
                "provider_options.ebuy.goods.goods_id",
            ),
            (
                json!({"goods": {"goods_id": "", "quantity": 1}}),
                "provider_options.ebuy.goods.goods_id",
            ),
            (
                json!({"goods": {"goods_id": "G", "quantity": 0}}),
                "provider_options.ebuy.goods.quantity",
            ),
            (
                json!({"goods": {"goods_id": "G", "quantity": 1.5}}),
                "provider_options.ebuy.goods.quantity",
            ),
            (
                json!({"goods": {"goods_id": "G"}}),
                "provider_options.ebuy.goods.quantity",
            ),
            (
                json!({"goods": {"goods_id": "G", "quantity": 1, "goods_name": "x".repeat(51)}}),
                "provider_options.ebuy.goods.goods_name",
            ),
            (
                json!({"goods": {"goods_id": "G", "quantity": 1, "goods_code": "x".repeat(33)}}),
                "provider_options.ebuy.goods.goods_code",
            ),
            (
                json!({"goods": {"goods_id": "G", "quantity": 1, "colour": "red"}}),
                "provider_options.ebuy.goods.colour",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                param_of(value.clone()).as_deref(),
                Some(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn absent_or_null_required_goods_fields_are_missing_and_bad_ones_invalid() {
        let code_of = |value: Value| EbuyOptions::parse(&value).err().map(|e| e.code.as_str());
        for missing in [
            json!({"goods": {"quantity": 1}}),
            json!({"goods": {"goods_id": null, "quantity": 1}}),
            json!({"goods": {"goods_id": "G"}}),
            json!({"goods": {"goods_id": "G", "quantity": null}}),
        ] {
            assert_eq!(
                code_of(missing.clone()),
                Some("parameter_missing"),
                "{missing}"
            );
        }
        for invalid in [
            json!({"goods": {"goods_id": "", "quantity": 1}}),
            json!({"goods": {"goods_id": "G", "quantity": -1}}),
            json!({"asset_type": "gold"}),
            json!({"trade_date": 20250317}),
        ] {
            assert_eq!(
                code_of(invalid.clone()),
                Some("parameter_invalid"),
                "{invalid}"
            );
        }
    }

    #[test]
    fn the_mock_limits_of_the_document_are_not_enforced() {
        let options = EbuyOptions::parse(&json!({"goods": {"goods_id": "G", "quantity": 250}}))
            .expect("options");
        assert_eq!(options.goods.map(|g| g.quantity), Some(250));
    }

    #[test]
    fn chinese_goods_names_count_characters_not_bytes() {
        let name = "马克杯".repeat(16); // 48 characters, 144 bytes
        assert!(EbuyOptions::parse(
            &json!({"goods": {"goods_id": "G", "quantity": 1, "goods_name": name}})
        )
        .is_ok());
    }
}
