//! The crate's error type.

use thiserror::Error;

/// Why a string could not be parsed, or a value is out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HarmonyError {
    /// Parsing stopped at `position` (a byte offset into `input`).
    #[error("cannot parse {what} {input:?}: at byte {position}, expected {expected}")]
    Parse {
        /// What was being parsed ("note", "interval", ...).
        what: &'static str,
        /// The whole input.
        input: String,
        /// Byte offset where parsing stopped.
        position: usize,
        /// What would have been accepted there.
        expected: &'static str,
    },
    /// A value is outside what the type can represent.
    #[error("{what} is out of range: {detail}")]
    OutOfRange {
        /// What was out of range.
        what: &'static str,
        /// The value and the allowed range.
        detail: String,
    },
}

impl HarmonyError {
    pub(crate) fn parse(
        what: &'static str,
        input: &str,
        position: usize,
        expected: &'static str,
    ) -> Self {
        HarmonyError::Parse {
            what,
            input: input.to_string(),
            position,
            expected,
        }
    }
}
