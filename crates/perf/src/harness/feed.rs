//! Input feeds: what fills each input block (generated material or a
//! WAV held in memory).

use std::path::{Path, PathBuf};

use kmidi_dsp::AudioBuffer;
use kmidi_engine::material::{Material, MaterialPlayer};

use crate::PerfError;

/// Something that fills input blocks.
pub trait Feed {
    /// Fills `block` (keeping its frame count); false once the input is
    /// exhausted (the block is then zero-padded).
    fn fill(&mut self, block: &mut AudioBuffer) -> bool;

    /// Starts over from the beginning.
    fn rewind(&mut self);
}

impl Feed for MaterialPlayer<'_> {
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        MaterialPlayer::fill(self, block);
        true
    }

    fn rewind(&mut self) {
        MaterialPlayer::rewind(self);
    }
}

/// A file held in memory, played once.
#[derive(Debug, Clone)]
pub struct FileFeed {
    channels: Vec<Vec<f32>>,
    position: usize,
}

impl FileFeed {
    /// Planar channels.
    pub fn new(channels: Vec<Vec<f32>>) -> Self {
        Self {
            channels,
            position: 0,
        }
    }

    /// Frames in the file.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

impl Feed for FileFeed {
    fn fill(&mut self, block: &mut AudioBuffer) -> bool {
        let n = block.frames();
        let len = self.frames();
        let take = n.min(len.saturating_sub(self.position));
        for (ch, src) in self.channels.iter().enumerate().take(block.channels()) {
            let dst = block.channel_mut(ch);
            dst[..take].copy_from_slice(&src[self.position..self.position + take]);
            dst[take..].fill(0.0);
        }
        self.position += take;
        self.position < len || take == n
    }

    fn rewind(&mut self) {
        self.position = 0;
    }
}

/// Material for a spec, rendered at `rate`.
pub(super) fn material(rate: u32) -> Material {
    Material::generate(rate, "C major".parse().expect("a valid key name"), 1)
}

/// The `.wav` files in `dir`, sorted.
///
/// # Errors
/// [`PerfError::File`] if the folder cannot be read or holds no WAV.
pub fn wav_files(dir: &Path) -> Result<Vec<PathBuf>, PerfError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PerfError::file_caused(dir, format!("cannot read the folder: {e}"), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(PerfError::file(dir, "no .wav files in the folder"));
    }
    Ok(files)
}
