//! # kmidi-dsp
//!
//! The real-time DSP core of kmidi: planar buffers, the [`Processor`] trait
//! every audio-thread node implements, and the production processors built on
//! it.
//!
//! | module | what it holds |
//! |---|---|
//! | [`gain`] | dB ↔ linear, a ramped [`gain::Gain`] |
//! | [`mixer`] | strips (gain, constant-power pan, mute, solo-in-place), aux sends, stereo master |
//! | [`biquad`], [`eq`] | RBJ cookbook biquads in TDF2, a multi-band [`eq::Equalizer`] |
//! | [`dynamics`] | feed-forward [`dynamics::Compressor`], lookahead [`dynamics::Limiter`] |
//! | [`resampler`] | rubato 5 underneath, any block length, zero-copy bypass |
//! | [`ring`] | wait-free SPSC ring buffer with bulk slice copies |
//! | [`denormal`] | FTZ/DAZ guard for the audio thread |
//! | [`param`] | lock-free parameters and linear ramps |
//! | [`fastmath`] | polynomial `log2`/`exp2` accurate to 0.001 dB |
//! | [`spectrum`] | the shared analysis front end: Hann window, real FFT, power spectrum, mel and log-spaced filterbanks |
//! | [`true_peak`] | inter-sample peaks: BS.1770-4 interpolation, the true-peak limiter's filters |
//! | [`sample`] | what counts as a usable sample, and what nodes do with the rest |
//! | [`alloc_probe`] | per-thread allocation counting for zero-allocation tests |
//! | [`atomic_file`] | files users keep, written whole or not at all (not for the audio thread) |
//!
//! With the `serde` feature, the settings that config files hold
//! ([`biquad::FilterType`], [`dynamics::CompressorSettings`]) derive
//! `Serialize` and `Deserialize`.
//!
//! ## The real-time contract
//! `prepare` is the only place that allocates. `process` never allocates,
//! locks, blocks, does I/O or panics, and NaN or Inf input never leaves a
//! filter's state poisoned. Parameters change from other threads through
//! atomics (each processor's `handle()`), and every change is smoothed.
//!
//! ```
//! use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
//! use kmidi_dsp::biquad::FilterType;
//! use kmidi_dsp::dynamics::{Compressor, CompressorSettings};
//! use kmidi_dsp::eq::{BandSettings, Equalizer};
//!
//! let spec = StreamSpec::new(48_000.0, 512, 2)?;
//! let mut eq = Equalizer::new(&[BandSettings::new(FilterType::HighPass, 80.0, 0.707, 0.0)])?;
//! let mut comp = Compressor::new(CompressorSettings::default())?;
//! eq.prepare(&spec)?;
//! comp.prepare(&spec)?;
//!
//! let mut block = AudioBuffer::new(2, 512);
//! for (i, s) in block.channel_mut(0).iter_mut().enumerate() {
//!     *s = (i as f32 * 0.05).sin();
//! }
//! eq.process(&mut block); // allocation-free from here on
//! comp.process(&mut block);
//!
//! // The control thread changes parameters lock-free:
//! eq.handle().set_band(0, BandSettings::new(FilterType::HighPass, 120.0, 0.707, 0.0))?;
//! # Ok::<(), kmidi_dsp::ConfigError>(())
//! ```
#![warn(missing_docs)]

pub mod alloc_probe;
pub mod atomic_file;
pub mod biquad;
mod buffer;
pub mod denormal;
pub mod dynamics;
pub mod eq;
mod error;
pub mod fastmath;
pub mod gain;
pub mod mixer;
pub mod param;
mod processor;
pub mod resampler;
pub mod ring;
pub mod sample;
pub mod simd;
mod spec;
pub mod spectrum;
pub mod true_peak;

pub use buffer::AudioBuffer;
pub use error::{Cause, ConfigError};
pub use processor::{BufferProcessor, FrameMapping, InPlace, IoLayout, ProcessError, Processor};
pub use spec::{MAX_BLOCK_FRAMES, MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, StreamSpec};
