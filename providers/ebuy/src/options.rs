//! `provider_options.ebuy` of a merchant request: which asset a partial refund comes from,
//! the original trade date and the goods being returned. Parsed by hand so that every
//! problem names its exact `param` path.

use serde_json::{Map, Value};

use refund_provider::RequestInvalid;

use crate::reference::parse_yyyymmdd;

/// Root of this provider's options in the merchant API.
pub const PARAM_ROOT: &str = "provider_options.ebuy";

/// An e-Buy asset type (`refundMethod[].assetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goods {
    /// `goodsId`, 1-32 characters (the merchant's external goods id).
    pub goods_id: String,
    /// `goodsName`, at most 50 characters.
    pub goods_name: Option<String>,
    /// `goodsCode`, at most 32 characters (e-Buy's internal code).
    pub goods_code: Option<String>,
    /// `goodsNum`, at least 1. The document's mock range (1..10) is not enforced.
    pub quantity: u64,
}

/// Parsed `provider_options.ebuy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EbuyOptions {
    /// The asset an amount is refunded from; `None` means the default, cash.
    pub asset_type: Option<AssetType>,
    /// `tradeTime`: the original trade's date, `YYYYMMDD`.
    pub trade_date: Option<String>,
    pub goods: Option<Goods>,
}

impl EbuyOptions {
    /// Parses the options object; `null` (absent) means all defaults.
    pub fn parse(value: &Value) -> Result<Self, RequestInvalid> {
        let map = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(map) => map,
            _ => return Err(RequestInvalid::invalid(PARAM_ROOT, "expected an object")),
        };
        reject_unknown(map, PARAM_ROOT, &["asset_type", "trade_date", "goods"])?;
        let asset_type = match map.get("asset_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(AssetType::parse(s).ok_or_else(|| {
                RequestInvalid::invalid(
                    &param("asset_type"),
                    "expected one of cash, coupon, cashcard, points",
                )
            })?),
            Some(_) => {
                return Err(RequestInvalid::invalid(
                    &param("asset_type"),
                    "expected a string",
                ))
            }
        };
        let trade_date = match map.get("trade_date") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if parse_yyyymmdd(s).is_some() => Some(s.clone()),
            Some(_) => {
                return Err(RequestInvalid::invalid(
                    &param("trade_date"),
                    "expected a calendar date as YYYYMMDD",
                ))
            }
        };
        let goods = match map.get("goods") {
            None | Some(Value::Null) => None,
            Some(Value::Object(goods)) => Some(parse_goods(goods)?),
            Some(_) => {
                return Err(RequestInvalid::invalid(
                    &param("goods"),
                    "expected an object",
                ))
            }
        };
        Ok(Self {
            asset_type,
            trade_date,
            goods,
        })
    }

    /// The asset a partial refund comes from: the given one, else cash.
    pub fn asset_or_default(&self) -> AssetType {
        self.asset_type.unwrap_or(AssetType::Cash)
    }
}

fn param(name: &str) -> String {
    format!("{PARAM_ROOT}.{name}")
}

fn reject_unknown(
    map: &Map<String, Value>,
    at: &str,
    known: &[&str],
) -> Result<(), RequestInvalid> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(RequestInvalid::invalid(
            &format!("{at}.{unknown}"),
            format!("unknown field (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn parse_goods(map: &Map<String, Value>) -> Result<Goods, RequestInvalid> {
    let at = param("goods");
    reject_unknown(
        map,
        &at,
        &["goods_id", "goods_name", "goods_code", "quantity"],
    )?;
    let goods_id = text(map, &at, "goods_id", 1, 32)?
        .ok_or_else(|| RequestInvalid::missing(&format!("{at}.goods_id")))?;
    let goods_name = text(map, &at, "goods_name", 0, 50)?;
    let goods_code = text(map, &at, "goods_code", 0, 32)?;
    let quantity_param = format!("{at}.quantity");
    let quantity = match map.get("quantity") {
        None | Some(Value::Null) => return Err(RequestInvalid::missing(&quantity_param)),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) if q >= 1 => q,
            _ => {
                return Err(RequestInvalid::invalid(
                    &quantity_param,
                    "expected a whole number of at least 1",
                ))
            }
        },
        Some(_) => {
            return Err(RequestInvalid::invalid(
                &quantity_param,
                "expected a whole number of at least 1",
            ))
        }
    };
    Ok(Goods {
        goods_id,
        goods_name,
        goods_code,
        quantity,
    })
}

/// An optional string field of `min..=max` characters.
fn text(
    map: &Map<String, Value>,
    at: &str,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Option<String>, RequestInvalid> {
    let param = format!("{at}.{name}");
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let len = s.chars().count();
            if len < min || len > max {
                Err(RequestInvalid::invalid(
                    &param,
                    format!("expected {min} to {max} characters"),
                ))
            } else {
                Ok(Some(s.clone()))
            }
        }
        Some(_) => Err(RequestInvalid::invalid(&param, "expected a string")),
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
