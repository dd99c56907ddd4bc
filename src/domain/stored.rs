//! A word of a closed vocabulary (a failure code, an event source) read back from the
//! database, where it is TEXT.
//!
//! The rule at the store boundary: the gateway writes only words its enums know; a word read
//! back that this build does not know (written by another version, or by hand) is kept
//! verbatim as [`Stored::Unknown`] and shown as it was stored. Reading never fails and never
//! guesses.

use std::fmt;

use refund_provider::FailureCode;
use serde::{Serialize, Serializer};

/// A closed vocabulary with one text per word.
pub trait Word: Copy {
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Option<Self>;
}

impl Word for FailureCode {
    fn as_str(self) -> &'static str {
        self.as_str()
    }

    fn parse(text: &str) -> Option<Self> {
        Self::parse(text)
    }
}

/// A stored word: one this build knows, or the text as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<W> {
    Known(W),
    Unknown(String),
}

impl<W: Word> Stored<W> {
    /// The word a stored text names (never fails: see the module doc).
    pub(crate) fn read(text: String) -> Self {
        match W::parse(&text) {
            Some(word) => Self::Known(word),
            None => Self::Unknown(text),
        }
    }

    /// The text to store and show, exactly as read or as the word spells it.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Known(word) => word.as_str(),
            Self::Unknown(text) => text,
        }
    }
}

impl<W> From<W> for Stored<W> {
    fn from(word: W) -> Self {
        Self::Known(word)
    }
}

impl<W: Word> fmt::Display for Stored<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<W: Word> Serialize for Stored<W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventSource;

    #[test]
    fn every_failure_code_and_source_round_trips_through_its_stored_text() {
        for code in FailureCode::ALL {
            let stored = Stored::<FailureCode>::read(code.as_str().to_owned());
            assert_eq!(stored, Stored::Known(code));
            assert_eq!(stored.as_str(), code.as_str());
        }
        for source in EventSource::ALL {
            let stored = Stored::<EventSource>::read(source.as_str().to_owned());
            assert_eq!(stored, Stored::Known(source));
            assert_eq!(stored.as_str(), source.as_str());
        }
    }

    #[test]
    fn an_unknown_stored_word_is_kept_verbatim_and_shown_as_stored() {
        let stored = Stored::<FailureCode>::read("card_expired_v2".to_owned());
        assert_eq!(stored, Stored::Unknown("card_expired_v2".to_owned()));
        assert_eq!(stored.as_str(), "card_expired_v2");
        assert_eq!(
            serde_json::to_value(&stored).ok(),
            Some(serde_json::Value::from("card_expired_v2"))
        );
        let source = Stored::<EventSource>::read(String::new());
        assert_eq!(source.as_str(), "");
    }
}
