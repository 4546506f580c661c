//! The crate's error type.

use thiserror::Error;

/// What went wrong, with what was allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrooveError {
    /// A setting is outside its allowed range.
    #[error("{what} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The setting.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// Events or tempo changes were not in time order.
    #[error("{what} are not in time order: {detail}")]
    Unsorted {
        /// Which list.
        what: &'static str,
        /// Where the order broke.
        detail: String,
    },
    /// A Standard MIDI File could not be read.
    #[error("cannot read MIDI file: {detail}")]
    Smf {
        /// What was wrong, from the parser.
        detail: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {detail}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        detail: String,
    },
}

pub(crate) fn out_of_range(
    what: &'static str,
    value: impl ToString,
    allowed: &'static str,
) -> GrooveError {
    GrooveError::OutOfRange {
        what,
        value: value.to_string(),
        allowed,
    }
}
