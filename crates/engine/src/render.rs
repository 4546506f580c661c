//! WAV in and out (hound), and offline rendering of a file through an
//! [`Engine`].
//!
//! Any PCM WAV hound reads is accepted: 8-, 16-, 24- and 32-bit integer or
//! 32-bit float, any channel count up to 64, any rate from 8 to 384 kHz.
//! Output is written to a temporary file beside the target and renamed into
//! place only when complete, so a failed render never leaves a half-written
//! file or destroys an older one.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kmidi_dsp::AudioBuffer;
use kmidi_dsp::atomic_file::AtomicFile;

use crate::EngineError;
use crate::config::{EngineConfig, MAX_INPUT_CHANNELS};
use crate::engine::{Engine, EngineStats, InputClock};

/// How samples are stored in a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Signed integer PCM of `bits` (8 to 32).
    Int(u16),
    /// 32-bit IEEE float.
    Float32,
}

impl std::fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleFormat::Int(b) => write!(f, "{b}-bit int"),
            SampleFormat::Float32 => write!(f, "32-bit float"),
        }
    }
}

/// What a WAV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// Channels.
    pub channels: usize,
    /// Sample rate, Hz.
    pub sample_rate: u32,
    /// Sample format.
    pub format: SampleFormat,
    /// Frames (samples per channel).
    pub frames: u64,
}

impl WavInfo {
    /// Duration, seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }
}

/// A WAV file read block by block into planar `f32`.
pub struct WavSource {
    path: PathBuf,
    info: WavInfo,
    reader: hound::WavReader<BufReader<File>>,
    read: u64,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

impl WavSource {
    /// Opens `path` and checks its format.
    ///
    /// # Errors
    /// [`EngineError::Wav`] naming the file: unreadable, not a WAV, a
    /// format hound cannot read, or out of the engine's ranges.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        let path = path.as_ref();
        let reader = hound::WavReader::open(path).map_err(|e| {
            let detail = match &e {
                // The file opened but its header did not parse.
                hound::Error::IoError(io) if path.is_file() => {
                    format!("not a valid WAV file: its header is cut short or corrupt ({io})")
                }
                hound::Error::IoError(io) => format!("cannot read: {io}"),
                other => wav_error(other),
            };
            EngineError::wav_caused(path, detail, e)
        })?;
        let spec = reader.spec();
        let format = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => SampleFormat::Float32,
            (hound::SampleFormat::Int, b @ 8..=32) => SampleFormat::Int(b),
            (fmt, b) => {
                return Err(EngineError::wav(
                    path,
                    format!(
                        "{b}-bit {} samples are not supported: allowed 8 to 32-bit int or 32-bit float",
                        if fmt == hound::SampleFormat::Float {
                            "float"
                        } else {
                            "int"
                        }
                    ),
                ));
            }
        };
        let channels = spec.channels as usize;
        if channels == 0 || channels > MAX_INPUT_CHANNELS {
            return Err(EngineError::wav(
                path,
                format!("{channels} channels: allowed 1 to {MAX_INPUT_CHANNELS}"),
            ));
        }
        if !(8_000..=384_000).contains(&spec.sample_rate) {
            return Err(EngineError::wav(
                path,
                format!(
                    "sample rate {} Hz: allowed 8000 to 384000 Hz",
                    spec.sample_rate
                ),
            ));
        }
        let frames = reader.duration() as u64;
        Ok(Self {
            path: path.to_path_buf(),
            info: WavInfo {
                channels,
                sample_rate: spec.sample_rate,
                format,
                frames,
            },
            reader,
            read: 0,
        })
    }

    /// The file's format.
    pub fn info(&self) -> WavInfo {
        self.info
    }

    /// Reads up to `block.frames()` frames into `block` (planar, scaled to
    /// ±1) and returns how many were read; the rest of the block is
    /// zeroed. 0 means the end of the file.
    ///
    /// # Errors
    /// [`EngineError::Wav`] if the file is truncated or corrupt mid-way,
    /// or a float sample is NaN or infinite (naming its frame and channel).
    pub fn read_block(&mut self, block: &mut AudioBuffer) -> Result<usize, EngineError> {
        let want = block.frames();
        let channels = self.info.channels;
        if block.channels() != channels {
            return Err(EngineError::wav(
                &self.path,
                format!(
                    "reading into {} channels but the file has {channels}",
                    block.channels()
                ),
            ));
        }
        let left = (self.info.frames - self.read) as usize;
        let n = want.min(left);
        let path = &self.path;
        let at = self.read;
        let truncated = |detail: String| {
            EngineError::wav(
                path,
                format!("corrupt or truncated sample data at frame {at}: {detail}"),
            )
        };
        let unreadable = |e: hound::Error| {
            EngineError::wav_caused(
                path,
                format!(
                    "corrupt or truncated sample data at frame {at}: {}",
                    wav_error(&e)
                ),
                e,
            )
        };
        let fill = |it: &mut dyn Iterator<Item = hound::Result<f32>>, block: &mut AudioBuffer| {
            for f in 0..n {
                for ch in 0..channels {
                    let s = it
                        .next()
                        .ok_or_else(|| truncated("the file ends early".into()))?
                        .map_err(&unreadable)?;
                    if !s.is_finite() {
                        return Err(EngineError::wav(
                            path,
                            format!(
                                "sample at frame {}, channel {ch} is {s}: a float WAV must \
                                 hold finite samples",
                                at + f as u64
                            ),
                        ));
                    }
                    block.channel_mut(ch)[f] = s;
                }
            }
            Ok(())
        };
        match self.info.format {
            SampleFormat::Float32 => fill(&mut self.reader.samples::<f32>(), block)?,
            SampleFormat::Int(bits) => {
                // Integers scaled to ±1 are always finite.
                let scale = 1.0 / (1u64 << (bits - 1)) as f32;
                let mut ints = self
                    .reader
                    .samples::<i32>()
                    .map(|r| r.map(|s| s as f32 * scale));
                fill(&mut ints, block)?
            }
        }
        for ch in 0..channels {
            block.channel_mut(ch)[n..want].fill(0.0);
        }
        self.read += n as u64;
        Ok(n)
    }

    /// Reads the whole file into one planar buffer per channel.
    ///
    /// # Errors
    /// As [`read_block`](Self::read_block).
    pub fn read_all(mut self) -> Result<(WavInfo, Vec<Vec<f32>>), EngineError> {
        let info = self.info;
        let frames = usize::try_from(info.frames)
            .map_err(|_| EngineError::wav(&self.path, "too long to hold in memory"))?;
        let mut out = vec![Vec::with_capacity(frames); info.channels];
        let mut block = AudioBuffer::new(info.channels, 8192);
        loop {
            let n = self.read_block(&mut block)?;
            if n == 0 {
                break;
            }
            for (ch, dst) in out.iter_mut().enumerate() {
                dst.extend_from_slice(&block.channel(ch)[..n]);
            }
        }
        Ok((info, out))
    }
}

fn wav_error(e: &hound::Error) -> String {
    match e {
        hound::Error::IoError(io) => io.to_string(),
        hound::Error::FormatError(m) => format!("not a valid WAV file ({m})"),
        hound::Error::TooWide => "sample wider than its declared bits".into(),
        hound::Error::UnfinishedSample => "file ends inside a sample".into(),
        hound::Error::Unsupported => "unsupported WAV variant".into(),
        other => other.to_string(),
    }
}

/// How to write the rendered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// 16-bit integer (rounded and clipped, no dither).
    Int16,
    /// 24-bit integer (rounded and clipped).
    Int24,
    /// 32-bit integer (rounded and clipped).
    Int32,
    /// 32-bit float (default).
    #[default]
    Float32,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "16" | "int16" => Ok(Self::Int16),
            "24" | "int24" => Ok(Self::Int24),
            "32" | "int32" => Ok(Self::Int32),
            "f32" | "float" | "float32" => Ok(Self::Float32),
            _ => Err(format!(
                "unknown output format \"{s}\": allowed int16, int24, int32, float32"
            )),
        }
    }
}

/// A WAV file being written; it appears at its path only on
/// [`finish`](Self::finish).
pub struct WavSink {
    target: PathBuf,
    /// Dropped before `pending`, so the file is closed before an
    /// unfinished one is removed.
    writer: Option<hound::WavWriter<std::io::BufWriter<File>>>,
    pending: Option<AtomicFile>,
    format: OutputFormat,
    channels: usize,
    interleaved: Vec<f32>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("target", &self.target)
            .finish()
    }
}

impl WavSink {
    /// Starts writing `channels` channels at `sample_rate` to a temporary
    /// file beside `path`.
    ///
    /// # Errors
    /// [`EngineError::Wav`] if the directory is not writable.
    pub fn create(
        path: impl AsRef<Path>,
        channels: usize,
        sample_rate: u32,
        format: OutputFormat,
    ) -> Result<Self, EngineError> {
        let target = path.as_ref().to_path_buf();
        let (bits, sample_format) = match format {
            OutputFormat::Int16 => (16, hound::SampleFormat::Int),
            OutputFormat::Int24 => (24, hound::SampleFormat::Int),
            OutputFormat::Int32 => (32, hound::SampleFormat::Int),
            OutputFormat::Float32 => (32, hound::SampleFormat::Float),
        };
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate,
            bits_per_sample: bits,
            sample_format,
        };
        let (pending, file) = AtomicFile::create(&target)
            .map_err(|e| EngineError::wav_caused(&target, format!("cannot write: {e}"), e))?;
        let writer = hound::WavWriter::new(std::io::BufWriter::new(file), spec).map_err(|e| {
            EngineError::wav_caused(&target, format!("cannot write: {}", wav_error(&e)), e)
        })?;
        Ok(Self {
            target,
            pending: Some(pending),
            writer: Some(writer),
            format,
            channels,
            interleaved: Vec::new(),
        })
    }

    /// Appends frames `range` of `block`.
    ///
    /// # Errors
    /// [`EngineError::Wav`] on a write error (disk full...).
    pub fn write(
        &mut self,
        block: &AudioBuffer,
        range: std::ops::Range<usize>,
    ) -> Result<(), EngineError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let target = &self.target;
        let err = |e: hound::Error| {
            EngineError::wav_caused(target, format!("write failed: {}", wav_error(&e)), e)
        };
        let n = range.len();
        self.interleaved.resize(n * self.channels, 0.0);
        for f in 0..n {
            for ch in 0..self.channels {
                self.interleaved[f * self.channels + ch] = block.channel(ch)[range.start + f];
            }
        }
        let int = |x: f32, bits: u32| {
            let max = ((1i64 << (bits - 1)) - 1) as f64;
            let v = if x.is_finite() { x as f64 } else { 0.0 };
            (v * (max + 1.0)).round().clamp(-max - 1.0, max) as i32
        };
        for &x in &self.interleaved {
            match self.format {
                OutputFormat::Float32 => w.write_sample(if x.is_finite() { x } else { 0.0 }),
                OutputFormat::Int16 => w.write_sample(int(x, 16) as i16),
                OutputFormat::Int24 => w.write_sample(int(x, 24)),
                OutputFormat::Int32 => w.write_sample(int(x, 32)),
            }
            .map_err(err)?;
        }
        Ok(())
    }

    /// Finalizes the header and moves the file into place.
    ///
    /// # Errors
    /// [`EngineError::Wav`] if finishing or renaming fails; the target is
    /// then untouched.
    pub fn finish(mut self) -> Result<PathBuf, EngineError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| {
                EngineError::wav_caused(&self.target, format!("write failed: {}", wav_error(&e)), e)
            })?;
        }
        if let Some(pending) = self.pending.take() {
            pending.commit().map_err(|e| {
                EngineError::wav_caused(&self.target, format!("cannot move into place: {e}"), e)
            })?;
        }
        Ok(self.target.clone())
    }
}

/// What [`render_file`] did.
#[derive(Debug, Clone, Copy)]
pub struct RenderReport {
    /// The input file.
    pub input: WavInfo,
    /// Frames written, at the engine rate.
    pub output_frames: u64,
    /// The output rate.
    pub output_rate: u32,
    /// Latency removed from the start of the output, engine frames.
    pub latency_frames: usize,
    /// Wall time, seconds.
    pub wall_seconds: f64,
    /// The engine's counters at the end.
    pub stats: EngineStats,
}

impl RenderReport {
    /// Audio seconds rendered per wall second.
    pub fn speed(&self) -> f64 {
        self.input.seconds() / self.wall_seconds.max(1e-9)
    }
}

/// Renders `input` through an engine built from `config` into a stereo
/// WAV at the engine rate. The input rate becomes the engine's
/// `input_rate` (resampled when it differs); with no `input_channels` in
/// the config, track `t` reads file channel `t % channels`. The engine's
/// latency is removed, so the output lines up with the input and lasts as
/// long.
///
/// # Errors
/// [`EngineError`] for an unreadable input, a config that does not fit
/// the file, or a write error; the output path is then left as it was.
pub fn render_file(
    mut config: EngineConfig,
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    format: OutputFormat,
) -> Result<RenderReport, EngineError> {
    let start = Instant::now();
    let mut source = WavSource::open(input.as_ref())?;
    let info = source.info();
    match config.input_channels {
        None => config.route_inputs(info.channels),
        Some(n) if n != info.channels => {
            return Err(EngineError::wav(
                input.as_ref(),
                format!(
                    "the config expects {n} input channels but the file has {}",
                    info.channels
                ),
            ));
        }
        Some(_) => {}
    }
    config.input_rate = Some(info.sample_rate);
    let block = config.block_frames;
    let rate = config.sample_rate;
    let mut engine = Engine::new(config)?;
    let latency = engine.latency_frames();
    let total_out = (info.frames as u128 * rate as u128).div_ceil(info.sample_rate as u128) as u64;
    let mut sink = WavSink::create(output.as_ref(), 2, rate, format)?;
    let mut clock = InputClock::new(info.sample_rate, rate);
    let max_in = (block as f64 * info.sample_rate as f64 / rate as f64).ceil() as usize + 1;
    let mut in_block = AudioBuffer::new(info.channels, max_in);
    let mut out_block = engine.create_output();
    let mut to_skip = latency as u64;
    let mut written = 0u64;
    while written < total_out {
        let n_in = clock.input_frames(block);
        in_block.set_frames(n_in)?;
        source.read_block(&mut in_block)?;
        out_block.set_frames(block)?;
        engine.process(&in_block, &mut out_block)?;
        let skip = to_skip.min(block as u64) as usize;
        to_skip -= skip as u64;
        let keep = ((block - skip) as u64).min(total_out - written) as usize;
        if keep > 0 {
            sink.write(&out_block, skip..skip + keep)?;
            written += keep as u64;
        }
    }
    sink.finish()?;
    Ok(RenderReport {
        input: info,
        output_frames: written,
        output_rate: rate,
        latency_frames: latency,
        wall_seconds: start.elapsed().as_secs_f64(),
        stats: engine.stats(),
    })
}
