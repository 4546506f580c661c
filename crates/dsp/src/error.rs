//! The crate's error type.

use thiserror::Error;

/// Why a configuration, a parameter or a processing call was rejected.
///
/// Every variant names the field that was wrong and what is allowed, so the
/// message can go straight to a user ("sample_rate = 1000 Hz is out of range:
/// allowed 8000 to 384000 Hz").
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// A numeric field is outside its allowed range.
    #[error("{field} = {value}{unit} is out of range: allowed {min} to {max}{unit}")]
    OutOfRange {
        /// The field's name, as the API spells it.
        field: &'static str,
        /// The value that was given.
        value: f64,
        /// The smallest allowed value.
        min: f64,
        /// The largest allowed value.
        max: f64,
        /// The unit, with a leading space (" Hz"), or empty.
        unit: &'static str,
    },
    /// A field was NaN or infinite.
    #[error("{field} is {value}: it must be a finite number")]
    NotFinite {
        /// The field's name.
        field: &'static str,
        /// The non-finite value that was given.
        value: f64,
    },
    /// Two sizes that must agree do not.
    #[error("{field} is {actual}, but {expected} was expected ({context})")]
    Mismatch {
        /// The field's name.
        field: &'static str,
        /// What was expected.
        expected: usize,
        /// What was given.
        actual: usize,
        /// Where the expectation comes from.
        context: &'static str,
    },
    /// An index addresses something that does not exist.
    #[error("{field} = {index} does not exist: allowed 0 to {max_index}")]
    IndexOutOfRange {
        /// The field's name.
        field: &'static str,
        /// The index that was given.
        index: usize,
        /// The largest valid index.
        max_index: usize,
    },
    /// A processor was used before `prepare` succeeded.
    #[error("{processor} was used before prepare(): call prepare with a StreamSpec first")]
    NotPrepared {
        /// The processor's type name.
        processor: &'static str,
    },
    /// A text value could not be parsed.
    #[error("{field} = {value:?} is not valid: expected {expected}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// The text that was given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The resampler library rejected the configuration (rubato's error
    /// kept as the source).
    #[error("resampler: {0}")]
    Resampler(#[source] Cause),
}

impl ConfigError {
    /// Checks that `value` is finite and within `[min, max]`.
    ///
    /// # Errors
    /// [`ConfigError::NotFinite`] or [`ConfigError::OutOfRange`].
    pub fn check_range(
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    ) -> Result<f64, ConfigError> {
        if !value.is_finite() {
            return Err(ConfigError::NotFinite { field, value });
        }
        if value < min || value > max {
            return Err(ConfigError::OutOfRange {
                field,
                value,
                min,
                max,
                unit,
            });
        }
        Ok(value)
    }

    /// Checks an `f32` setting against bounds written in decimal: the
    /// bounds are rounded to `f32` first, so a documented limit such as
    /// `attack_ms = 0.01` (which is 0.0099999998 as an `f32`) is accepted.
    ///
    /// # Errors
    /// [`ConfigError::NotFinite`] or [`ConfigError::OutOfRange`].
    pub fn check_f32(
        field: &'static str,
        value: f32,
        min: f64,
        max: f64,
        unit: &'static str,
    ) -> Result<f32, ConfigError> {
        if !value.is_finite() {
            return Err(ConfigError::NotFinite {
                field,
                value: value as f64,
            });
        }
        if value < min as f32 || value > max as f32 {
            return Err(ConfigError::OutOfRange {
                field,
                value: value as f64,
                min,
                max,
                unit,
            });
        }
        Ok(value)
    }

    /// Checks that an integer `value` lies within `[min, max]`.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`].
    pub fn check_count(
        field: &'static str,
        value: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        if value < min || value > max {
            return Err(ConfigError::OutOfRange {
                field,
                value: value as f64,
                min: min as f64,
                max: max as f64,
                unit: "",
            });
        }
        Ok(value)
    }
}

/// An underlying error kept as an error's [`source`](std::error::Error::source),
/// not flattened into its message. Cheap to clone (shared), and compared by
/// its message, so the error enums that hold one stay `Clone + PartialEq`.
///
/// ```
/// use std::error::Error;
/// use kmidi_dsp::Cause;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("cannot read {path}")]
/// struct ReadError {
///     path: String,
///     #[source]
///     cause: Cause,
/// }
///
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let e = ReadError { path: "a.mid".into(), cause: Cause::new(io) };
/// let source = e.source().unwrap();
/// assert_eq!(source.to_string(), "no such file");
/// let io = source.downcast_ref::<Cause>().unwrap().get().downcast_ref::<std::io::Error>();
/// assert_eq!(io.unwrap().kind(), std::io::ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// Keeps `error`.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(error))
    }

    /// The error kept (downcast it to its own type).
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}
