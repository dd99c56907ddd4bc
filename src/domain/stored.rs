//! A word of a closed vocabulary (a failure code, a history line's kind or source, a merchant
//! event type) read back from the database, where it is TEXT.
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

/// Declares a closed vocabulary from one table of `Variant => "text"` lines: the enum, every
/// word in order (`ALL`), the one text of each (`as_str`, also its `Display`: the text
/// stored, served and shown), `parse` (the word a text names, `None` for any other text)
/// and [`Word`], so a stored text reads back as a [`Stored`] word.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$word_meta:meta])* $word:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$word_meta])* $word, )+
        }

        impl $name {
            /// Every word, in the order of the table.
            pub const ALL: &'static [$name] = &[$(Self::$word),+];

            /// The word's one text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$word => $text,)+
                }
            }

            /// The word `text` names; `None` for any other text.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|word| word.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::domain::stored::Word for $name {
            fn as_str(self) -> &'static str {
                self.as_str()
            }

            fn parse(text: &str) -> Option<Self> {
                Self::parse(text)
            }
        }
    };
}
pub(crate) use vocabulary;

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

/// The test every [`vocabulary!`] enum passes: its words spell exactly `texts` (the
/// documented ones, in order), each text reads back as its word and shows as itself, and a
/// text of another case or an empty one names nothing.
#[cfg(test)]
pub(crate) fn assert_vocabulary<W>(words: &[W], texts: &[&str])
where
    W: Word + fmt::Debug + fmt::Display + PartialEq,
{
    let spelt: Vec<&str> = words.iter().map(|word| word.as_str()).collect();
    assert_eq!(spelt, texts);
    for word in words.iter().copied() {
        assert_eq!(W::parse(word.as_str()), Some(word));
        assert_eq!(word.to_string(), word.as_str());
        assert_eq!(W::parse(&word.as_str().to_uppercase()), None, "{word}");
        assert_eq!(
            Stored::<W>::read(word.as_str().to_owned()),
            Stored::Known(word)
        );
    }
    assert_eq!(W::parse(""), None);
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
        for &source in EventSource::ALL {
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
