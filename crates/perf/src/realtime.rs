//! The reference stream the lab reports DSP load against: 48 kHz in
//! 512-frame blocks, the setting JACK and most DAWs default to. Every
//! "load at 48 kHz / 512" figure divides by [`BLOCK_PERIOD_NS`].

/// The reference sample rate, Hz.
pub const SAMPLE_RATE: f64 = 48_000.0;

/// The reference block, frames.
pub const BLOCK_FRAMES: usize = 512;

/// The reference block period, ns (10.667 ms).
pub const BLOCK_PERIOD_NS: f64 = BLOCK_FRAMES as f64 / SAMPLE_RATE * 1e9;

/// The period of a block of `frames` at the reference rate, ns.
pub fn period_ns(frames: usize) -> f64 {
    frames as f64 / SAMPLE_RATE * 1e9
}

/// DSP load, percent: `ns` of work per block of `frames` at the reference
/// rate.
pub fn load_percent(ns: f64, frames: usize) -> f64 {
    ns / period_ns(frames) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_period_is_10_667_ms() {
        assert!((BLOCK_PERIOD_NS - 10_666_666.67).abs() < 1.0);
        assert!((load_percent(BLOCK_PERIOD_NS / 4.0, BLOCK_FRAMES) - 25.0).abs() < 1e-9);
        assert!((period_ns(64) * 8.0 - BLOCK_PERIOD_NS).abs() < 1e-6);
    }
}
