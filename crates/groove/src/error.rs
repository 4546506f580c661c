//! The crate's error type.

use thiserror::Error;

impl GrooveError {
    /// A [`GrooveError::Io`] keeping the OS error as its source.
    pub(crate) fn io(action: &'static str, path: &std::path::Path, e: std::io::Error) -> Self {
        GrooveError::Io {
            action,
            path: path.display().to_string(),
            source: kmidi_dsp::Cause::new(e),
        }
    }
}

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
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The path.
        path: String,
        /// The OS error, kept (its message is the end of this one's).
        source: kmidi_dsp::Cause,
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
