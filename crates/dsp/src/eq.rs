//! A multi-band parametric equalizer for any channel count.
//!
//! Each band is an RBJ biquad ([`crate::biquad`]). Parameter changes arrive
//! lock-free through an [`EqualizerHandle`]; the audio thread designs the new
//! coefficients once and then moves to them by linear interpolation, updated
//! every [`COEFFICIENT_UPDATE_FRAMES`] frames over the ramp time. Because the
//! biquad stability triangle is convex, every interpolated filter is stable,
//! and the sweep has no step in it, so no click.
//!
//! All active bands run in one fused pass per channel (each sample goes
//! through every band while the band states stay in registers). The
//! alternative, band after band over the whole block, is kept as
//! [`BandOrder::Sequential`] so the benches can compare the two; fused
//! measured faster (`dsp/eq/3band`, see docs/PERFORMANCE.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::biquad::{
    BiquadCoefficients, FilterType, GAIN_RANGE_DB, MIN_FREQUENCY_HZ, Q_RANGE, sanitize_state,
    tdf2_tick,
};
use crate::param::{AtomicF32, AtomicSwitch};
use crate::{AudioBuffer, ConfigError, Processor, StreamSpec};

/// Most bands one equalizer can hold.
pub const MAX_BANDS: usize = 16;
/// How often interpolated coefficients are refreshed during a change, in frames.
pub const COEFFICIENT_UPDATE_FRAMES: usize = 8;
/// Default time a parameter change takes, in milliseconds.
pub const DEFAULT_EQ_RAMP_MS: f64 = 20.0;
/// How far below the input a ring-out must fall before it counts as gone
/// ([`Processor::tail_frames`]).
const TAIL_DB: f64 = 100.0;

/// The settings of one band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandSettings {
    /// Filter shape.
    pub kind: FilterType,
    /// Centre or corner frequency, in Hz.
    pub frequency_hz: f32,
    /// Quality factor (bandwidth); 0.707 is Butterworth for low and high pass.
    pub q: f32,
    /// Gain in dB, for peaking and shelf bands.
    pub gain_db: f32,
    /// Whether the band is in the signal path.
    pub enabled: bool,
}

impl BandSettings {
    /// An enabled band.
    pub fn new(kind: FilterType, frequency_hz: f32, q: f32, gain_db: f32) -> Self {
        Self {
            kind,
            frequency_hz,
            q,
            gain_db,
            enabled: true,
        }
    }

    /// Checks every field against its allowed range (the frequency only
    /// against 1 Hz to 188 160 Hz here; `prepare` checks it against the
    /// actual sample rate).
    ///
    /// # Errors
    /// [`ConfigError`] naming `frequency_hz`, `q` or `gain_db`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::check_f32(
            "frequency_hz",
            self.frequency_hz,
            MIN_FREQUENCY_HZ,
            crate::biquad::MAX_FREQUENCY_RATIO * crate::spec::MAX_SAMPLE_RATE,
            " Hz",
        )?;
        ConfigError::check_f32("q", self.q, Q_RANGE.0, Q_RANGE.1, "")?;
        ConfigError::check_f32(
            "gain_db",
            self.gain_db,
            GAIN_RANGE_DB.0,
            GAIN_RANGE_DB.1,
            " dB",
        )?;
        Ok(())
    }

    fn coefficients(&self, sample_rate: f64) -> BiquadCoefficients {
        if !self.enabled {
            return BiquadCoefficients::IDENTITY;
        }
        BiquadCoefficients::design_unchecked(
            self.kind,
            sample_rate,
            self.frequency_hz as f64,
            self.q as f64,
            self.gain_db as f64,
        )
    }
}

/// Settings `t` (0 to 1) of the way from `a` to `b`, on the scales the
/// glide uses (log frequency and Q, gain in dB); the type and switch of
/// whichever end is nearer.
fn interpolate_settings(a: &BandSettings, b: &BandSettings, t: f64) -> BandSettings {
    let log_lerp = |x: f32, y: f32| {
        let (x, y) = (x.max(1e-6) as f64, y.max(1e-6) as f64);
        (x.ln() + (y.ln() - x.ln()) * t).exp() as f32
    };
    let near = if t < 0.5 { a } else { b };
    BandSettings {
        kind: near.kind,
        frequency_hz: log_lerp(a.frequency_hz, b.frequency_hz),
        q: log_lerp(a.q, b.q),
        gain_db: a.gain_db + (b.gain_db - a.gain_db) * t as f32,
        enabled: near.enabled,
    }
}

/// How the bands are run over a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandOrder {
    /// Every sample passes through all bands before the next sample (default).
    #[default]
    Fused,
    /// Each band filters the whole block before the next band starts.
    Sequential,
}

#[derive(Debug)]
struct SharedBand {
    version: AtomicU32,
    kind: AtomicU32,
    frequency_hz: AtomicF32,
    q: AtomicF32,
    gain_db: AtomicF32,
    enabled: AtomicSwitch,
}

impl SharedBand {
    fn new(s: &BandSettings) -> Self {
        Self {
            version: AtomicU32::new(0),
            kind: AtomicU32::new(s.kind.to_index()),
            frequency_hz: AtomicF32::new(s.frequency_hz),
            q: AtomicF32::new(s.q),
            gain_db: AtomicF32::new(s.gain_db),
            enabled: AtomicSwitch::new(s.enabled),
        }
    }

    fn load(&self) -> BandSettings {
        BandSettings {
            kind: FilterType::from_index(self.kind.load(Ordering::Relaxed)),
            frequency_hz: self.frequency_hz.load(),
            q: self.q.load(),
            gain_db: self.gain_db.load(),
            enabled: self.enabled.get(),
        }
    }
}

/// The control side of an [`Equalizer`]: change bands from any thread.
#[derive(Debug, Clone)]
pub struct EqualizerHandle {
    bands: Arc<[SharedBand]>,
    /// The prepared sample rate (f64 bits; 0 before `prepare`).
    sample_rate: Arc<AtomicU64>,
}

impl EqualizerHandle {
    /// Replaces band `index`'s settings; the audio thread glides to them.
    ///
    /// # Errors
    /// [`ConfigError`] if the index does not exist or a field is out of
    /// range, the frequency included: once the equalizer is prepared, a
    /// band must lie below 0.49 × its sample rate (a 40 kHz band at 48 kHz
    /// is refused, not silently moved).
    pub fn set_band(&self, index: usize, settings: BandSettings) -> Result<(), ConfigError> {
        settings.validate()?;
        let rate = f64::from_bits(self.sample_rate.load(Ordering::Acquire));
        if rate > 0.0 {
            ConfigError::check_f32(
                "frequency_hz",
                settings.frequency_hz,
                MIN_FREQUENCY_HZ,
                crate::biquad::MAX_FREQUENCY_RATIO * rate,
                " Hz",
            )?;
        }
        let band = self.bands.get(index).ok_or(ConfigError::IndexOutOfRange {
            field: "band",
            index,
            max_index: self.bands.len().saturating_sub(1),
        })?;
        band.kind.store(settings.kind.to_index(), Ordering::Relaxed);
        band.frequency_hz.store(settings.frequency_hz);
        band.q.store(settings.q);
        band.gain_db.store(settings.gain_db);
        band.enabled.set(settings.enabled);
        // Release: a reader that sees the new version sees the fields above.
        band.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Number of bands.
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }
}

#[derive(Debug, Clone, Copy)]
struct BandRuntime {
    seen_version: u32,
    /// Where a glide started and where it goes, as settings.
    from_settings: BandSettings,
    to_settings: BandSettings,
    /// The same, as coefficients.
    from: BiquadCoefficients,
    to: BiquadCoefficients,
    current: BiquadCoefficients,
    /// The coefficients at the end of the segment being played.
    segment_end: BiquadCoefficients,
    ramp_pos: usize,
    ramp_len: usize,
    /// A change of type or of on/off: the old and the new filter both run,
    /// the new one on its own state, and their outputs are crossfaded.
    crossfade: bool,
}

impl BandRuntime {
    fn ramping(&self) -> bool {
        self.ramp_pos < self.ramp_len
    }

    /// The coefficients `t` (0 to 1) of the way through the glide.
    ///
    /// A glide that keeps the filter type moves through the settings
    /// themselves (frequency and Q on a log scale, gain in dB), so every
    /// filter on the way is a proper filter of that type and the gain at
    /// any frequency moves monotonically. Moving the coefficients in a
    /// straight line instead passes through filters with resonances
    /// neither end has (a click under automation: 4-9% of the peak in one
    /// sample). A change of type or of on/off has no such path: it moves
    /// the coefficients linearly.
    fn coefficients_at(&self, t: f64, sample_rate: f64) -> BiquadCoefficients {
        if t >= 1.0 {
            return self.to;
        }
        let (a, b) = (&self.from_settings, &self.to_settings);
        if a.kind != b.kind || a.enabled != b.enabled || !a.enabled {
            return self.from.lerp(&self.to, t);
        }
        let log_lerp = |x: f32, y: f32| {
            let (x, y) = (x.max(1e-6) as f64, y.max(1e-6) as f64);
            (x.ln() + (y.ln() - x.ln()) * t).exp()
        };
        BiquadCoefficients::design_unchecked(
            b.kind,
            sample_rate,
            log_lerp(a.frequency_hz, b.frequency_hz),
            log_lerp(a.q, b.q),
            a.gain_db as f64 + (b.gain_db as f64 - a.gain_db as f64) * t,
        )
    }
}

/// A multi-band parametric equalizer implementing [`Processor`].
///
/// ```
/// use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};
/// use kmidi_dsp::biquad::FilterType;
/// use kmidi_dsp::eq::{BandSettings, Equalizer};
/// let mut eq = Equalizer::new(&[
///     BandSettings::new(FilterType::LowShelf, 120.0, 0.707, 3.0),
///     BandSettings::new(FilterType::Peaking, 1_000.0, 1.0, -4.0),
///     BandSettings::new(FilterType::HighShelf, 8_000.0, 0.707, 2.0),
/// ]).unwrap();
/// eq.prepare(&StreamSpec::new(48_000.0, 512, 2).unwrap()).unwrap();
/// let mut block = AudioBuffer::new(2, 512);
/// eq.process(&mut block);
/// ```
#[derive(Debug)]
pub struct Equalizer {
    shared: Arc<[SharedBand]>,
    shared_rate: Arc<AtomicU64>,
    bands: Vec<BandRuntime>,
    /// Per channel, per band TDF2 state.
    states: Vec<[[f64; 2]; MAX_BANDS]>,
    /// The state of the filter a crossfading band fades in.
    shadow: Vec<[[f64; 2]; MAX_BANDS]>,
    sample_rate: f64,
    ramp_ms: f64,
    ramp_frames: usize,
    max_frames: usize,
    order: BandOrder,
    prepared: bool,
}

impl Equalizer {
    /// An equalizer with these bands (1 to 16).
    ///
    /// # Errors
    /// [`ConfigError`] if there are no bands, more than 16, or a band's
    /// settings are out of range.
    pub fn new(bands: &[BandSettings]) -> Result<Self, ConfigError> {
        ConfigError::check_count("bands", bands.len(), 1, MAX_BANDS)?;
        for b in bands {
            b.validate()?;
        }
        let shared: Arc<[SharedBand]> = bands.iter().map(SharedBand::new).collect();
        let runtime = |settings: &BandSettings| BandRuntime {
            seen_version: 0,
            from_settings: *settings,
            to_settings: *settings,
            from: BiquadCoefficients::IDENTITY,
            to: BiquadCoefficients::IDENTITY,
            current: BiquadCoefficients::IDENTITY,
            segment_end: BiquadCoefficients::IDENTITY,
            ramp_pos: 0,
            ramp_len: 0,
            crossfade: false,
        };
        Ok(Self {
            shared,
            shared_rate: Arc::new(AtomicU64::new(0)),
            bands: bands.iter().map(runtime).collect(),
            states: Vec::new(),
            shadow: Vec::new(),
            sample_rate: 48_000.0,
            ramp_ms: DEFAULT_EQ_RAMP_MS,
            ramp_frames: 960,
            max_frames: 0,
            order: BandOrder::Fused,
            prepared: false,
        })
    }

    /// Sets how long a parameter change takes (0.5 to 1000 ms).
    ///
    /// # Errors
    /// [`ConfigError`] naming `ramp_ms`.
    pub fn with_ramp_ms(mut self, ramp_ms: f64) -> Result<Self, ConfigError> {
        self.ramp_ms = ConfigError::check_range("ramp_ms", ramp_ms, 0.5, 1000.0, " ms")?;
        Ok(self)
    }

    /// Chooses fused (default) or band-after-band processing.
    pub fn with_band_order(mut self, order: BandOrder) -> Self {
        self.order = order;
        self
    }

    /// A handle for changing bands from another thread.
    pub fn handle(&self) -> EqualizerHandle {
        EqualizerHandle {
            bands: Arc::clone(&self.shared),
            sample_rate: Arc::clone(&self.shared_rate),
        }
    }

    /// The coefficients band `index` is using now.
    pub fn band_coefficients(&self, index: usize) -> Option<BiquadCoefficients> {
        self.bands.get(index).map(|b| b.current)
    }

    /// Reads the shared settings and starts a glide for every band whose
    /// settings changed since the last block.
    fn poll_parameters(&mut self) {
        for (index, (rt, shared)) in self.bands.iter_mut().zip(self.shared.iter()).enumerate() {
            let version = shared.version.load(Ordering::Acquire);
            if version == rt.seen_version || (rt.crossfade && rt.ramping()) {
                // A crossfade finishes first (at most one ramp time): a
                // third filter cannot join it without a step.
                continue;
            }
            rt.seen_version = version;
            let settings = shared.load();
            let was = if rt.ramping() {
                rt.to_settings
            } else {
                rt.from_settings
            };
            rt.crossfade =
                was.enabled != settings.enabled || (settings.enabled && was.kind != settings.kind);
            // A glide in flight continues from where it is now.
            rt.from_settings = if rt.ramping() {
                let t = rt.ramp_pos as f64 / rt.ramp_len.max(1) as f64;
                interpolate_settings(&rt.from_settings, &rt.to_settings, t)
            } else {
                rt.to_settings
            };
            rt.from = rt.current;
            rt.to_settings = settings;
            rt.to = settings.coefficients(self.sample_rate);
            rt.ramp_pos = 0;
            rt.ramp_len = self.ramp_frames;
            if rt.crossfade {
                for ch in self.shadow.iter_mut() {
                    ch[index] = [0.0; 2];
                }
            }
        }
    }

    /// Moves every gliding band `frames` further and sets the coefficients
    /// the segment ends on; the segment itself moves from `current` to
    /// there sample by sample.
    fn plan_segment(&mut self, frames: usize) {
        let rate = self.sample_rate;
        for rt in self.bands.iter_mut() {
            if rt.ramping() && !rt.crossfade {
                rt.ramp_pos = (rt.ramp_pos + frames).min(rt.ramp_len);
                let t = rt.ramp_pos as f64 / rt.ramp_len as f64;
                rt.segment_end = rt.coefficients_at(t, rate);
            } else {
                rt.segment_end = rt.current;
            }
        }
    }

    /// One segment during a glide: every band's coefficients move in a
    /// straight line from `current` to `segment_end`, one step per sample,
    /// so the response has no step in it.
    fn run_gliding_segment(&mut self, block: &mut AudioBuffer, start: usize, end: usize) {
        let len = end - start;
        if len == 0 {
            return;
        }
        let n = self.bands.len();
        let mut from = [BiquadCoefficients::IDENTITY; MAX_BANDS];
        let mut step = [BiquadCoefficients::IDENTITY; MAX_BANDS];
        // Crossfading bands: the new filter, and the fade's position
        // before the segment and per frame.
        let mut fade = [None::<(BiquadCoefficients, f64, f64)>; MAX_BANDS];
        let inv = 1.0 / len as f64;
        for (k, rt) in self.bands.iter().enumerate() {
            if rt.crossfade && rt.ramping() {
                let per_frame = 1.0 / rt.ramp_len as f64;
                fade[k] = Some((rt.to, rt.ramp_pos as f64 * per_frame, per_frame));
            }
            from[k] = rt.current;
            let (a, b) = (&rt.current, &rt.segment_end);
            step[k] = BiquadCoefficients {
                b0: (b.b0 - a.b0) * inv,
                b1: (b.b1 - a.b1) * inv,
                b2: (b.b2 - a.b2) * inv,
                a1: (b.a1 - a.a1) * inv,
                a2: (b.a2 - a.a2) * inv,
            };
        }
        let channels = block.channels().min(self.states.len());
        for ch in 0..channels {
            let states = &mut self.states[ch];
            let shadow = &mut self.shadow[ch];
            let samples = &mut block.channel_mut(ch)[start..end];
            for (i, x) in samples.iter_mut().enumerate() {
                let t = (i + 1) as f64;
                let mut v = *x as f64;
                for k in 0..n {
                    if let Some((to, at, per_frame)) = &fade[k] {
                        let old = tdf2_tick(&from[k], &mut states[k], v);
                        let new = tdf2_tick(to, &mut shadow[k], v);
                        let w = (at + per_frame * t).min(1.0);
                        v = old + (new - old) * w;
                        continue;
                    }
                    let (f, d) = (&from[k], &step[k]);
                    let c = BiquadCoefficients {
                        b0: f.b0 + d.b0 * t,
                        b1: f.b1 + d.b1 * t,
                        b2: f.b2 + d.b2 * t,
                        a1: f.a1 + d.a1 * t,
                        a2: f.a2 + d.a2 * t,
                    };
                    v = tdf2_tick(&c, &mut states[k], v);
                }
                *x = v as f32;
            }
        }
        for (k, rt) in self.bands.iter_mut().enumerate() {
            if rt.crossfade && rt.ramping() {
                rt.ramp_pos = (rt.ramp_pos + len).min(rt.ramp_len);
                if !rt.ramping() {
                    // Faded over: the new filter and its state take over.
                    rt.crossfade = false;
                    rt.current = rt.to;
                    rt.segment_end = rt.to;
                    for (st, sh) in self.states.iter_mut().zip(self.shadow.iter()) {
                        st[k] = sh[k];
                    }
                }
            } else {
                rt.current = rt.segment_end;
            }
        }
    }

    fn run_segment(&mut self, block: &mut AudioBuffer, start: usize, end: usize) {
        // Gather the bands that do something, so pass-through bands cost nothing.
        let mut coeffs = [BiquadCoefficients::IDENTITY; MAX_BANDS];
        let mut map = [0usize; MAX_BANDS];
        let mut n = 0;
        for (i, rt) in self.bands.iter().enumerate() {
            if !rt.current.is_identity() {
                coeffs[n] = rt.current;
                map[n] = i;
                n += 1;
            }
        }
        if n == 0 {
            return;
        }
        let channels = block.channels().min(self.states.len());
        let mut ch = 0;
        // Channel pairs share one fused loop: two independent recurrences
        // keep the FPU busy while each waits on its own previous sample.
        while self.order == BandOrder::Fused && ch + 1 < channels {
            let Some((left, right)) = block.channel_pair_mut(ch, ch + 1) else {
                break;
            };
            let (left, right) = (&mut left[start..end], &mut right[start..end]);
            let (sl, sr) = {
                let (a, b) = self.states.split_at_mut(ch + 1);
                (&mut a[ch], &mut b[0])
            };
            let mut stl = [[0.0f64; 2]; MAX_BANDS];
            let mut str_ = [[0.0f64; 2]; MAX_BANDS];
            for k in 0..n {
                stl[k] = sl[map[k]];
                str_[k] = sr[map[k]];
            }
            run_fused_pair(&coeffs[..n], &mut stl[..n], &mut str_[..n], left, right);
            for k in 0..n {
                sl[map[k]] = stl[k];
                sr[map[k]] = str_[k];
            }
            ch += 2;
        }
        while ch < channels {
            let samples = &mut block.channel_mut(ch)[start..end];
            let all = &mut self.states[ch];
            let mut st = [[0.0f64; 2]; MAX_BANDS];
            for k in 0..n {
                st[k] = all[map[k]];
            }
            match self.order {
                BandOrder::Fused => run_fused(&coeffs[..n], &mut st[..n], samples),
                BandOrder::Sequential => {
                    for k in 0..n {
                        let c = coeffs[k];
                        let mut s = st[k];
                        for x in samples.iter_mut() {
                            *x = tdf2_tick(&c, &mut s, *x as f64) as f32;
                        }
                        st[k] = s;
                    }
                }
            }
            for k in 0..n {
                all[map[k]] = st[k];
            }
            ch += 1;
        }
    }
}

/// Like [`run_fused`], for two channels at once.
fn run_fused_pair(
    coeffs: &[BiquadCoefficients],
    left_states: &mut [[f64; 2]],
    right_states: &mut [[f64; 2]],
    left: &mut [f32],
    right: &mut [f32],
) {
    macro_rules! fixed {
        ($n:literal) => {{
            let mut c = [BiquadCoefficients::IDENTITY; $n];
            c.copy_from_slice(&coeffs[..$n]);
            let mut sl = [[0.0f64; 2]; $n];
            let mut sr = [[0.0f64; 2]; $n];
            sl.copy_from_slice(&left_states[..$n]);
            sr.copy_from_slice(&right_states[..$n]);
            fused_pair_fixed::<$n>(&c, &mut sl, &mut sr, left, right);
            left_states[..$n].copy_from_slice(&sl);
            right_states[..$n].copy_from_slice(&sr);
        }};
    }
    match coeffs.len() {
        1 => fixed!(1),
        2 => fixed!(2),
        3 => fixed!(3),
        4 => fixed!(4),
        5 => fixed!(5),
        6 => fixed!(6),
        _ => {
            run_fused(coeffs, left_states, left);
            run_fused(coeffs, right_states, right);
        }
    }
}

#[inline(always)]
fn fused_pair_fixed<const N: usize>(
    c: &[BiquadCoefficients; N],
    sl: &mut [[f64; 2]; N],
    sr: &mut [[f64; 2]; N],
    left: &mut [f32],
    right: &mut [f32],
) {
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let mut vl = *l as f64;
        let mut vr = *r as f64;
        for k in 0..N {
            vl = tdf2_tick(&c[k], &mut sl[k], vl);
            vr = tdf2_tick(&c[k], &mut sr[k], vr);
        }
        *l = vl as f32;
        *r = vr as f32;
    }
}

/// Runs `coeffs.len()` cascaded sections over `samples`, one sample at a time
/// through all of them. Counts up to 8 get a monomorphised loop whose states
/// live in registers.
fn run_fused(coeffs: &[BiquadCoefficients], states: &mut [[f64; 2]], samples: &mut [f32]) {
    macro_rules! fixed {
        ($n:literal) => {{
            let mut c = [BiquadCoefficients::IDENTITY; $n];
            c.copy_from_slice(&coeffs[..$n]);
            let mut s = [[0.0f64; 2]; $n];
            s.copy_from_slice(&states[..$n]);
            fused_fixed::<$n>(&c, &mut s, samples);
            states[..$n].copy_from_slice(&s);
        }};
    }
    match coeffs.len() {
        1 => fixed!(1),
        2 => fixed!(2),
        3 => fixed!(3),
        4 => fixed!(4),
        5 => fixed!(5),
        6 => fixed!(6),
        7 => fixed!(7),
        8 => fixed!(8),
        _ => {
            for x in samples.iter_mut() {
                let mut v = *x as f64;
                for (c, s) in coeffs.iter().zip(states.iter_mut()) {
                    v = tdf2_tick(c, s, v);
                }
                *x = v as f32;
            }
        }
    }
}

#[inline(always)]
fn fused_fixed<const N: usize>(
    c: &[BiquadCoefficients; N],
    s: &mut [[f64; 2]; N],
    samples: &mut [f32],
) {
    for x in samples.iter_mut() {
        let mut v = *x as f64;
        for k in 0..N {
            v = tdf2_tick(&c[k], &mut s[k], v);
        }
        *x = v as f32;
    }
}

impl Processor for Equalizer {
    fn prepare(&mut self, spec: &StreamSpec) -> Result<(), ConfigError> {
        let nyquist_limit = crate::biquad::MAX_FREQUENCY_RATIO * spec.sample_rate();
        for shared in self.shared.iter() {
            let s = shared.load();
            ConfigError::check_f32(
                "frequency_hz",
                s.frequency_hz,
                MIN_FREQUENCY_HZ,
                nyquist_limit,
                " Hz",
            )?;
        }
        self.sample_rate = spec.sample_rate();
        self.shared_rate
            .store(spec.sample_rate().to_bits(), Ordering::Release);
        self.ramp_frames = spec.ms_to_frames(self.ramp_ms);
        self.max_frames = spec.max_block_frames();
        self.states = vec![[[0.0; 2]; MAX_BANDS]; spec.channels()];
        self.shadow = vec![[[0.0; 2]; MAX_BANDS]; spec.channels()];
        for (rt, shared) in self.bands.iter_mut().zip(self.shared.iter()) {
            rt.seen_version = shared.version.load(Ordering::Acquire);
            let settings = shared.load();
            rt.from_settings = settings;
            rt.to_settings = settings;
            let c = settings.coefficients(self.sample_rate);
            rt.segment_end = c;
            rt.crossfade = false;
            rt.from = c;
            rt.to = c;
            rt.current = c;
            rt.ramp_pos = 0;
            rt.ramp_len = 0;
        }
        self.prepared = true;
        Ok(())
    }

    fn process(&mut self, block: &mut AudioBuffer) {
        if !self.prepared {
            return;
        }
        self.poll_parameters();
        let frames = block.frames().min(self.max_frames);
        if self.bands.iter().any(BandRuntime::ramping) {
            let mut start = 0;
            while start < frames {
                let end = (start + COEFFICIENT_UPDATE_FRAMES).min(frames);
                self.plan_segment(end - start);
                self.run_gliding_segment(block, start, end);
                start = end;
                if !self.bands.iter().any(BandRuntime::ramping) && start < frames {
                    self.run_segment(block, start, frames);
                    break;
                }
            }
        } else {
            self.run_segment(block, 0, frames);
        }
        for ch in self.states.iter_mut().chain(self.shadow.iter_mut()) {
            for s in ch.iter_mut() {
                sanitize_state(s);
            }
        }
    }

    fn tail_frames(&self) -> usize {
        // Cascaded bands ring one after another; each rings as long as the
        // slower of where it is and where it is going.
        self.bands
            .iter()
            .map(|b| {
                b.current
                    .decay_frames(TAIL_DB)
                    .max(b.to.decay_frames(TAIL_DB))
            })
            .fold(0usize, usize::saturating_add)
            .saturating_add(self.ramp_frames)
    }

    fn reset(&mut self) {
        for ch in self.states.iter_mut().chain(self.shadow.iter_mut()) {
            *ch = [[0.0; 2]; MAX_BANDS];
        }
        for rt in self.bands.iter_mut() {
            rt.current = rt.to;
            rt.from = rt.to;
            rt.segment_end = rt.to;
            rt.from_settings = rt.to_settings;
            rt.crossfade = false;
            rt.ramp_pos = rt.ramp_len;
        }
    }
}
