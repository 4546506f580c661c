//! Reading a config from a TOML file or string, with errors that give
//! the line and column.

use super::*;

impl EngineConfig {
    /// Reads and validates a TOML config file.
    ///
    /// # Errors
    /// [`EngineError::ConfigFile`] with the line and column of a syntax
    /// error, an unknown field or a value of the wrong type;
    /// [`EngineError::Config`] for a value out of range.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::ConfigFile {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            detail: format!("cannot read: {e}"),
            source: Some(kmidi_dsp::Cause::new(e)),
        })?;
        let mut config = Self::from_toml_str(&text).map_err(|e| match e {
            EngineError::ConfigFile {
                line,
                column,
                detail,
                source,
                ..
            } => EngineError::ConfigFile {
                path: path.to_path_buf(),
                line,
                column,
                detail,
                source,
            },
            other => other,
        })?;
        // A relative MIDI file is relative to the config file.
        if let Some(midi) = &config.groove.midi_file
            && midi.is_relative()
            && let Some(dir) = path.parent()
        {
            config.groove.midi_file = Some(dir.join(midi));
        }
        Ok(config)
    }

    /// Parses and validates a TOML config from a string.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file), with an empty path.
    pub fn from_toml_str(text: &str) -> Result<Self, EngineError> {
        let config: EngineConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            EngineError::ConfigFile {
                path: PathBuf::from("<config>"),
                line,
                column,
                detail: e.message().trim().replace('\n', " "),
                source: Some(kmidi_dsp::Cause::new(e)),
            }
        })?;
        config.validate()?;
        Ok(config)
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
    (line, column)
}
