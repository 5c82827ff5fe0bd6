//! Bounded, trimmed text: names, notes and actor names. Control characters
//! are refused so nothing odd reaches logs or the calendar, and so are the
//! characters that change how the rest is shown without being seen:
//! bidirectional controls (`U+202E` turns "Dr. Vega" around) and invisible
//! ones (zero-width space, word joiner, byte order mark). The joiners that
//! scripts and emoji need (`U+200C`, `U+200D`) are text, and kept.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a piece of text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty (after trimming) where text is required.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Contains control characters (other than newlines in notes).
    #[error("must not contain control characters")]
    ControlCharacter,
    /// Contains a bidirectional control or an invisible character.
    #[error("must not contain bidirectional controls or invisible characters (found U+{code:04X})")]
    Invisible {
        /// The character's code point.
        code: u32,
    },
}

/// Whether `c` changes how text around it is shown without being seen
/// itself: bidirectional marks, embeddings, overrides and isolates, and
/// zero-width spaces and marks that are not joiners.
const fn is_hidden_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

fn check(value: &str, max: usize, allow_newlines: bool) -> Result<String, TextError> {
    let checked = check_stored(value, max, allow_newlines)?;
    if let Some(c) = checked.chars().find(|c| is_hidden_format(*c)) {
        return Err(TextError::Invisible { code: u32::from(c) });
    }
    Ok(checked)
}

/// The rules text was stored under before hidden characters were refused:
/// what a store reads back is held to these, so older rows stay readable.
fn check_stored(value: &str, max: usize, allow_newlines: bool) -> Result<String, TextError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
    {
        return Err(TextError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $max:expr, $newlines:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims and checks the text.
            ///
            /// # Errors
            /// [`TextError`] if empty, too long or containing control characters.
            pub fn new(value: &str) -> Result<Self, TextError> {
                check(value, $max, $newlines).map(Self)
            }

            /// Text as a store reads it back: held to the rules it was
            /// written under (rows from before hidden characters were
            /// refused stay readable).
            ///
            /// # Errors
            /// [`TextError`] if empty, too long or containing control characters.
            pub fn stored(value: &str) -> Result<Self, TextError> {
                check_stored(value, $max, $newlines).map(Self)
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A display name (branch, resource, service, product, tenant): 1–200 characters.
    Name, 200, false
);
text_type!(
    /// A free-text note on a reservation: 1–2000 characters, newlines allowed.
    Note, 2000, true
);
text_type!(
    /// Who made a change, as recorded on every event: 1–200 characters.
    Actor, 200, false
);

impl Actor {
    /// The actor recorded for changes the system makes by itself (hold expiry).
    #[must_use]
    pub fn system() -> Self {
        Self("system".to_owned())
    }
}

/// A request's id (its `x-request-id`), recorded on the events it caused:
/// 1–128 visible ASCII characters, so it is safe in logs and headers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl RequestId {
    /// The longest accepted id.
    pub const MAX_LEN: usize = 128;

    /// Checks an id.
    ///
    /// # Errors
    /// [`TextError`] if empty, too long or not visible ASCII.
    pub fn new(value: &str) -> Result<Self, TextError> {
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        if value.len() > Self::MAX_LEN {
            return Err(TextError::TooLong { max: Self::MAX_LEN });
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestId {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<RequestId> for String {
    fn from(value: RequestId) -> Self {
        value.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(Name::new("  Dr. Vega ").unwrap().as_str(), "Dr. Vega");
        assert_eq!(Name::new("   "), Err(TextError::Empty));
    }

    #[test]
    fn overlong_text_and_control_characters_are_refused() {
        assert_eq!(
            Name::new(&"x".repeat(201)),
            Err(TextError::TooLong { max: 200 })
        );
        assert_eq!(Name::new("a\u{0}b"), Err(TextError::ControlCharacter));
        assert!(Note::new("line one\nline two").is_ok());
        assert_eq!(Name::new("line\nbreak"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn bidirectional_controls_and_invisible_characters_are_refused() {
        assert_eq!(
            Name::new("Dr. \u{202E}anav\u{200B}"),
            Err(TextError::Invisible { code: 0x202E })
        );
        for hidden in ['\u{200B}', '\u{2066}', '\u{200F}', '\u{FEFF}', '\u{2060}'] {
            assert!(Name::new(&format!("Ana{hidden}")).is_err(), "{hidden:?}");
            assert!(
                Note::new(&format!("note {hidden} here")).is_err(),
                "{hidden:?}"
            );
        }
        // A row written before the rule still reads back.
        assert!(Name::stored("Dr. \u{202E}anav").is_ok());
        // Scripts and emoji need their joiners; other languages are text.
        for fine in [
            "می\u{200C}خواهم",
            "👩\u{200D}⚕️ Dr. Ana",
            "Łódź Ñandú 東京",
            "עברית",
        ] {
            assert!(Name::new(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn request_ids_are_short_visible_ascii() {
        assert!(RequestId::new("9106aef6-2b1c-4f0e-8c51-2f6c1d8e0a11").is_ok());
        assert_eq!(RequestId::new(""), Err(TextError::Empty));
        assert_eq!(RequestId::new("a b"), Err(TextError::ControlCharacter));
        assert_eq!(RequestId::new("ü"), Err(TextError::ControlCharacter));
        assert!(RequestId::new(&"r".repeat(129)).is_err());
    }
}
