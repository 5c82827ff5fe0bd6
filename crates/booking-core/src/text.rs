//! Bounded, trimmed text: names, notes and actor names. Control characters
//! are refused so nothing odd reaches logs or the calendar.

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
}

fn check(value: &str, max: usize, allow_newlines: bool) -> Result<String, TextError> {
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
    fn request_ids_are_short_visible_ascii() {
        assert!(RequestId::new("9106aef6-2b1c-4f0e-8c51-2f6c1d8e0a11").is_ok());
        assert_eq!(RequestId::new(""), Err(TextError::Empty));
        assert_eq!(RequestId::new("a b"), Err(TextError::ControlCharacter));
        assert_eq!(RequestId::new("ü"), Err(TextError::ControlCharacter));
        assert!(RequestId::new(&"r".repeat(129)).is_err());
    }
}
