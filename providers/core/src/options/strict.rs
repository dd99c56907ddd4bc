//! A JSON value read the way a merchant means it: a struct only from an object.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence (its fields in order),
//! and `serde_json::Value` offers one for any array, so `{"bank_detail": ["014", "Jack",
//! "5015377989"]}` would read as a bank detail whose fields a merchant never named. This
//! deserializer is `Value`'s own at every depth, except that a struct (or a struct variant)
//! refuses an array. Everything else (numbers, strings, options, enums, maps, sequences of
//! values, `deserialize_with`) behaves as with `serde_json::from_value`.

use serde::de::value::{BorrowedStrDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Number, Value};

/// `value`, read strictly (see the module's documentation).
#[derive(Clone, Copy)]
pub(crate) struct Strict<'a>(pub(crate) &'a Value);

impl<'de, 'a: 'de> IntoDeserializer<'de, Error> for Strict<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn visit_number<'de, V: Visitor<'de>>(number: &Number, visitor: V) -> Result<V::Value, Error> {
    if let Some(n) = number.as_u64() {
        visitor.visit_u64(n)
    } else if let Some(n) = number.as_i64() {
        visitor.visit_i64(n)
    } else if let Some(n) = number.as_f64() {
        visitor.visit_f64(n)
    } else {
        Err(de::Error::custom("a number out of range"))
    }
}

fn entries(
    map: &Map<String, Value>,
) -> impl Iterator<Item = (BorrowedStrDeserializer<'_, Error>, Strict<'_>)> {
    map.iter()
        .map(|(key, value)| (BorrowedStrDeserializer::new(key.as_str()), Strict(value)))
}

impl<'de, 'a: 'de> de::Deserializer<'de> for Strict<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => visit_number(n, visitor),
            Value::String(s) => visitor.visit_borrowed_str(s.as_str()),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(Strict));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let mut access = MapDeserializer::new(entries(map));
                let value = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(_) => Err(de::Error::invalid_type(
                de::Unexpected::Seq,
                &"an object with named fields",
            )),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s.as_str())),
            // `{"variant": content}`: serde_json's own reading of an externally tagged enum
            // (no option type of ours has one; kept correct rather than strict).
            other => de::Deserializer::deserialize_enum(other, name, variants, visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}
