//! Tempo estimation and beat tracking over an onset envelope.
//!
//! **Tempo.** The envelope (the [`OnsetDetector`](crate::onset::OnsetDetector)'s
//! SuperFlux per hop) has its local mean removed and is autocorrelated. Every
//! tempo from 40 to 240 BPM in 0.05 BPM steps is scored by a comb: the mean
//! autocorrelation at 1, 2, 3 and 4 beat periods, read between lags by
//! linear interpolation, which resolves tempo far finer than one hop. A
//! comb scores a tempo and its slower multiples nearly alike (every second
//! or third beat is periodic too), so the metrical level is chosen by a
//! prior ([`TempoPrior`]): each comb score is weighted by a log-normal with
//! a standard deviation of one octave, and the best weighted tempo wins.
//! Its centre depends on the material. Music with a drum kit is heard at
//! about 120 BPM, as Ellis (2007) and librosa centre theirs; music without
//! one is centred on 100 BPM, because a chorale or a string quartet moving
//! in eighths at 68 quarters per minute is otherwise read at 136. The
//! onset detector's flux tells the two apart ([`Material`]): a kit's hats
//! and cymbals rise in the bands above 9 kHz as much as anywhere, and its
//! hits rise in every band at once, where pitched attacks rise in few.
//! The comb's period can then be moved a few percent by the onsets
//! themselves ([`refine_tempo_to_onsets`]): on slow attacks the
//! autocorrelation's peaks lean long, the onset times do not.
//!
//! **Beats.** Dynamic programming as in Ellis (2007): each hop's score is its
//! onset strength plus the best earlier score half a period to two periods
//! back, penalised by the squared log of how far the gap is from the
//! period; the beats are the best path traced back from the end, less the
//! beats at either end where nothing is played. [`beat_tempo`] turns a
//! curve of windowed tempo estimates into the period to follow: the whole
//! file's tempo, unless a window hears a real change.
//!
//! ```
//! use kmidi_groove::beat::{TempoPrior, estimate_tempo, track_beats};
//! // A pulse every 50 hops of 10 ms: 120 BPM.
//! let env: Vec<f32> = (0..1000).map(|i| if i % 50 == 0 { 1.0 } else { 0.0 }).collect();
//! let t = estimate_tempo(&env, 0.01, TempoPrior::DRUM_KIT).unwrap();
//! assert!((t.bpm - 120.0).abs() < 0.5, "{}", t.bpm);
//! let beats = track_beats(&env, 0.01, t.bpm);
//! assert!(beats.windows(2).all(|w| w[1] - w[0] == 50));
//! ```

/// A tempo estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoEstimate {
    /// Beats per minute.
    pub bpm: f64,
    /// The comb score of that tempo relative to the autocorrelation at lag
    /// zero (0 to 1; periodic envelopes score high).
    pub strength: f64,
}

/// A log-normal prior over tempi, which picks the metrical level among the
/// tempi a comb scores alike (a tempo, its half and its double). With a
/// centre or width that is not a positive finite number,
/// [`estimate_tempo`] gives no tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoPrior {
    /// The most likely tempo, BPM.
    pub centre_bpm: f64,
    /// The standard deviation of log2(tempo), octaves.
    pub octaves: f64,
}

impl TempoPrior {
    /// For music with a drum kit: 120 BPM, one octave (Ellis 2007,
    /// librosa's `beat_track`).
    pub const DRUM_KIT: Self = Self {
        centre_bpm: 120.0,
        octaves: 1.0,
    };
    /// For pitched instruments alone: 100 BPM, one octave. Chorales and
    /// quartets that move in eighths under a slow quarter are heard at the
    /// quarter.
    pub const PITCHED: Self = Self {
        centre_bpm: 100.0,
        octaves: 1.0,
    };
    /// The prior for material with or without a drum kit
    /// ([`Material::has_drum_kit`]).
    ///
    /// ```
    /// use kmidi_groove::beat::{Material, TempoPrior};
    /// let kit = Material { broadband_share: 0.9, rise_spread: 0.6 };
    /// assert_eq!(TempoPrior::for_material(kit), TempoPrior::DRUM_KIT);
    /// let piano = Material { broadband_share: 0.2, rise_spread: 0.4 };
    /// assert_eq!(TempoPrior::for_material(piano), TempoPrior::PITCHED);
    /// ```
    pub fn for_material(material: Material) -> Self {
        if material.has_drum_kit() {
            Self::DRUM_KIT
        } else {
            Self::PITCHED
        }
    }

    /// The prior's weight of `bpm` (1 at the centre).
    fn weight(&self, bpm: f64) -> f64 {
        debug_assert!(self.is_valid());
        let octaves = (bpm / self.centre_bpm).log2() / self.octaves;
        (-0.5 * octaves * octaves).exp()
    }

    /// A positive finite centre and width.
    fn is_valid(&self) -> bool {
        [self.centre_bpm, self.octaves]
            .iter()
            .all(|x| x.is_finite() && *x > 0.0)
    }
}

impl Default for TempoPrior {
    /// [`TempoPrior::DRUM_KIT`], the field's usual prior.
    fn default() -> Self {
        Self::DRUM_KIT
    }
}

/// What the onset flux says about the material: whether a drum kit
/// plays, which picks the [`TempoPrior`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Material {
    /// How much of the flux lies in the bands from 9 kHz up, per band, over
    /// the average band ([`OnsetDetector::broadband_envelope_into`](
    /// crate::onset::OnsetDetector::broadband_envelope_into)): about 1 for
    /// the noise of hi-hats and cymbals, well under it for pitched attacks.
    pub broadband_share: f64,
    /// How evenly the flux rises over the bands, flux-weighted
    /// ([`OnsetDetector::spread_envelope_into`](
    /// crate::onset::OnsetDetector::spread_envelope_into)): high for drum
    /// hits, which rise in every band at once, low for the partials of
    /// pitched notes.
    pub rise_spread: f64,
}

impl Material {
    /// The [`broadband_share`](Self::broadband_share) from which the hats
    /// and cymbals of a kit are heard. On FluidR3 renders, kits with them
    /// (alone or in a band) measure 0.55 to 1.6; piano, organ and strings
    /// 0.07 to 0.45.
    pub const KIT_BROADBAND_SHARE: f64 = 0.5;
    /// The [`rise_spread`](Self::rise_spread) from which drum hits are
    /// heard. It catches the kits without hats or cymbals (kick, snare and
    /// claves, alone or in a band: 0.58 to 0.73), which the broadband share
    /// misses; piano, organ and strings measure 0.13 to 0.49.
    pub const KIT_RISE_SPREAD: f64 = 0.53;

    /// The material of an onset envelope, from the two rings that run hop
    /// for hop beside it (the hops all three cover count). Silence is
    /// material without a kit.
    pub fn measure(envelope: &[f32], broadband: &[f32], spread: &[f32]) -> Self {
        let n = envelope.len().min(broadband.len()).min(spread.len());
        let whole: f64 = envelope[..n].iter().map(|&x| x as f64).sum();
        let share = |ring: &[f32]| {
            let part: f64 = ring[..n].iter().map(|&x| x as f64).sum();
            if whole > 0.0 && part.is_finite() {
                (part / whole).max(0.0)
            } else {
                0.0
            }
        };
        Self {
            broadband_share: share(broadband),
            rise_spread: share(spread),
        }
    }

    /// Whether a drum kit plays: its hats and cymbals or its hits are heard.
    pub fn has_drum_kit(&self) -> bool {
        self.broadband_share >= Self::KIT_BROADBAND_SHARE
            || self.rise_spread >= Self::KIT_RISE_SPREAD
    }
}

/// Slowest tempo considered.
pub const MIN_BPM: f64 = 40.0;
/// Fastest tempo considered.
pub const MAX_BPM: f64 = 240.0;

/// The envelope with a 1-second moving mean removed, negative values set to
/// zero.
fn detrend(env: &[f32], hop_seconds: f64) -> Vec<f64> {
    let half = ((0.5 / hop_seconds) as usize).max(1);
    let n = env.len();
    let mut prefix = vec![0.0f64; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + env[i] as f64;
    }
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(n);
            let mean = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
            (env[i] as f64 - mean).max(0.0)
        })
        .collect()
}

fn autocorrelation(o: &[f64], max_lag: usize) -> Vec<f64> {
    let n = o.len();
    (0..=max_lag.min(n.saturating_sub(1)))
        .map(|l| {
            let s: f64 = o[..n - l].iter().zip(&o[l..]).map(|(a, b)| a * b).sum();
            s / (n - l) as f64
        })
        .collect()
}

fn interp(ac: &[f64], lag: f64) -> Option<f64> {
    let i = lag.floor() as usize;
    let f = lag - i as f64;
    Some(ac.get(i)? * (1.0 - f) + ac.get(i + 1)? * f)
}

/// The tempo of an onset envelope sampled every `hop_seconds`, its metrical
/// level chosen by `prior`, or `None` if it is too short (under four periods
/// of the slowest tempo) or flat.
pub fn estimate_tempo(
    envelope: &[f32],
    hop_seconds: f64,
    prior: TempoPrior,
) -> Option<TempoEstimate> {
    if !(hop_seconds.is_finite() && hop_seconds > 0.0 && prior.is_valid()) {
        return None;
    }
    let o = detrend(envelope, hop_seconds);
    let slowest_lag = 60.0 / (MIN_BPM * hop_seconds);
    let max_lag = (4.0 * slowest_lag).ceil() as usize + 2;
    if o.len() < max_lag + 2 {
        // Use what there is: fewer comb teeth for slow tempi.
        if o.len() < (2.0 * 60.0 / (MAX_BPM * hop_seconds)) as usize + 4 {
            return None;
        }
    }
    let ac = autocorrelation(&o, max_lag);
    let zero = *ac.first()?;
    if zero <= 0.0 {
        return None;
    }
    let comb = |bpm: f64| -> Option<f64> {
        let lag = 60.0 / (bpm * hop_seconds);
        let mut sum = 0.0;
        let mut teeth = 0;
        for k in 1..=4 {
            if let Some(v) = interp(&ac, lag * k as f64) {
                sum += v;
                teeth += 1;
            }
        }
        (teeth >= 2).then(|| sum / teeth as f64)
    };
    let steps = ((MAX_BPM - MIN_BPM) / TEMPO_STEP_BPM) as usize;
    let scores: Vec<f64> = (0..=steps)
        .map(|i| comb(MIN_BPM + i as f64 * TEMPO_STEP_BPM).unwrap_or(f64::MIN))
        .collect();
    // A comb scores a tempo and its slower multiples (T/2, T/3) nearly
    // alike, so the choice between metrical levels is left to the prior.
    let mut best: Option<(usize, f64)> = None;
    for (i, &sc) in scores.iter().enumerate() {
        if sc <= 0.0 {
            continue;
        }
        let weighted = sc * prior.weight(MIN_BPM + i as f64 * TEMPO_STEP_BPM);
        if best.is_none_or(|(_, b)| weighted > b) {
            best = Some((i, weighted));
        }
    }
    let (i, _) = best?;
    let bpm = MIN_BPM + i as f64 * TEMPO_STEP_BPM;
    Some(TempoEstimate {
        bpm,
        strength: (comb(bpm).unwrap_or(0.0) / zero).clamp(0.0, 1.0),
    })
}

/// The step between the tempi [`estimate_tempo`] scores and
/// [`refine_tempo_to_onsets`] tries, BPM.
const TEMPO_STEP_BPM: f64 = 0.05;

/// How far (as a ratio) [`refine_tempo_to_onsets`] may move a tempo: the
/// comb has already chosen the metrical level, and its misreading of the
/// period on slow attacks stays within a few percent.
const ONSET_REFINE_SPAN: f64 = 0.06;

/// The harmonics of the beat rate whose phase coherence
/// [`refine_tempo_to_onsets`] sums: 1 for onsets on the beat, 2 for
/// eighths, 3 for triplets, 4 for sixteenths.
const ONSET_REFINE_HARMONICS: usize = 4;

/// The fewest onsets [`refine_tempo_to_onsets`] will trust.
const ONSET_REFINE_MIN_ONSETS: usize = 8;

/// `bpm` (a tempo from [`estimate_tempo`]) moved, within 6% and in
/// 0.05 BPM steps, to the tempo whose beat grid the onset times fit best.
///
/// The comb reads the period from the envelope's autocorrelation, whose
/// peaks lean long where attacks are slow: on the rendered corpus it read
/// bowed strings 1.3% slow (median, up to 5%) and organ 0.7% slow, which
/// over a minute walks a beat tracker off the beat, while the onsets
/// detected on the same files kept the score's period. Each candidate
/// tempo is scored by
/// how well the onsets line up in phase with its beat, summed over the
/// beat rate and its first harmonics, so that eighths, triplets and
/// sixteenths count as well as the beats:
/// `Σₕ |Σₙ exp(2πi·h·tₙ·bpm/60)|` for h = 1 to 4. The metrical level
/// stays the comb's. With fewer than 8 finite onsets, or a tempo that is
/// not a positive finite number, `bpm` is returned as it is.
///
/// ```
/// use kmidi_groove::beat::refine_tempo_to_onsets;
/// // Quarters and eighths at 100 BPM, with the comb reading 97.
/// let onsets: Vec<f64> = (0..80).map(|i| i as f64 * 0.3).collect();
/// assert!((refine_tempo_to_onsets(97.0, &onsets) - 100.0).abs() < 0.05);
/// ```
pub fn refine_tempo_to_onsets(bpm: f64, onsets_s: &[f64]) -> f64 {
    if !(bpm.is_finite() && bpm > 0.0) {
        return bpm;
    }
    let finite = || onsets_s.iter().copied().filter(|t| t.is_finite());
    if finite().count() < ONSET_REFINE_MIN_ONSETS {
        return bpm;
    }
    let coherence = |candidate: f64| -> f64 {
        let mut sums = [(0.0f64, 0.0f64); ONSET_REFINE_HARMONICS];
        for t in finite() {
            // Phase in beats, reduced to one beat before the harmonics
            // multiply it, so a long file keeps its precision.
            let beats = t * candidate / 60.0;
            let phase = std::f64::consts::TAU * (beats - beats.floor());
            for (h, (re, im)) in sums.iter_mut().enumerate() {
                let (s, c) = ((h + 1) as f64 * phase).sin_cos();
                *re += c;
                *im += s;
            }
        }
        sums.iter().map(|(re, im)| re.hypot(*im)).sum()
    };
    let steps = (bpm * ONSET_REFINE_SPAN / TEMPO_STEP_BPM).floor() as i64;
    let mut best = (bpm, coherence(bpm));
    for step in (-steps..=steps).filter(|&s| s != 0) {
        let candidate = bpm + step as f64 * TEMPO_STEP_BPM;
        let score = coherence(candidate);
        // Ties keep the tempo nearer the comb's.
        let nearer = (candidate - bpm).abs() < (best.0 - bpm).abs();
        if score > best.1 || (score == best.1 && nearer) {
            best = (candidate, score);
        }
    }
    best.0
}

/// How far (as a ratio) a local tempo, once moved by a whole factor, may
/// lie from the reference level and still count as that level.
const LEVEL_TOLERANCE: f64 = 0.10;

/// `bpm` moved to the metrical level of `reference_bpm`: a local estimate
/// that picked twice, three times, half or a third of the reference's
/// level (a window that heard only the eighths, or only the bars) is
/// multiplied back by that whole factor when that lands within 10% of the
/// reference; any other tempo (a real change, 100 to 135 BPM say) is
/// returned as it is.
///
/// ```
/// use kmidi_groove::beat::at_metrical_level;
/// assert_eq!(at_metrical_level(136.0, 70.0), 68.0);
/// assert_eq!(at_metrical_level(135.0, 100.0), 135.0);
/// ```
pub fn at_metrical_level(bpm: f64, reference_bpm: f64) -> f64 {
    if !(bpm.is_finite() && bpm > 0.0 && reference_bpm.is_finite() && reference_bpm > 0.0) {
        return bpm;
    }
    [1.0, 0.5, 2.0, 1.0 / 3.0, 3.0]
        .into_iter()
        .map(|f| bpm * f)
        .find(|folded| (folded / reference_bpm - 1.0).abs() <= LEVEL_TOLERANCE)
        .unwrap_or(bpm)
}

/// How far (as a ratio) a window's tempo, at the whole file's metrical
/// level, may lie from the whole file's tempo and still be heard as the
/// same tempo: a window of a few seconds misreads a steady tempo by a few
/// percent, which over a minute of beats would drift the tracker off the
/// beat.
const STEADY_TOLERANCE: f64 = 0.06;

/// The tempo a beat tracker should follow where a window of the file
/// estimates `window_bpm` and the whole file `whole_bpm`: the window's
/// tempo moved to the whole file's metrical level
/// ([`at_metrical_level`]), and then the whole file's tempo itself unless
/// the window lies more than 6% from it (a real tempo change).
///
/// ```
/// use kmidi_groove::beat::beat_tempo;
/// assert_eq!(beat_tempo(141.0, 72.0), 72.0); // eighths, 2% fast: steady
/// assert_eq!(beat_tempo(135.0, 100.0), 135.0); // a tempo step
/// ```
pub fn beat_tempo(window_bpm: f64, whole_bpm: f64) -> f64 {
    let level = at_metrical_level(window_bpm, whole_bpm);
    if (level / whole_bpm - 1.0).abs() <= STEADY_TOLERANCE {
        whole_bpm
    } else {
        level
    }
}

/// Beat positions (indices into `envelope`) at `bpm`, by dynamic
/// programming: a beat on every strong onset that keeps the gaps close to
/// the period.
pub fn track_beats(envelope: &[f32], hop_seconds: f64, bpm: f64) -> Vec<usize> {
    if !(bpm.is_finite() && bpm > 0.0) {
        return Vec::new();
    }
    track_beats_varying(envelope, hop_seconds, |_| bpm)
}

/// Beat positions as [`track_beats`], with the tempo allowed to change:
/// `bpm_at(hop)` is the tempo in force at each hop (from
/// [`tempo_curve`], say), and the gap before a beat is judged against the
/// period there.
pub fn track_beats_varying(
    envelope: &[f32],
    hop_seconds: f64,
    bpm_at: impl Fn(usize) -> f64,
) -> Vec<usize> {
    let n = envelope.len();
    if n == 0 || !(hop_seconds.is_finite() && hop_seconds > 0.0) {
        return Vec::new();
    }
    let period_at = |t: usize| {
        let bpm = bpm_at(t);
        let bpm = if bpm.is_finite() {
            bpm.clamp(MIN_BPM, MAX_BPM)
        } else {
            120.0
        };
        60.0 / (bpm * hop_seconds)
    };
    let o = detrend(envelope, hop_seconds);
    let sd = (o.iter().map(|x| x * x).sum::<f64>() / n as f64)
        .sqrt()
        .max(1e-12);
    let o: Vec<f64> = o.iter().map(|x| x / sd).collect();
    let tightness = 400.0;
    let mut score = vec![0.0f64; n];
    let mut back = vec![usize::MAX; n];
    for t in 0..n {
        let period = period_at(t);
        let lo = (period / 2.0).round().max(1.0) as usize;
        let hi = (period * 2.0).round() as usize;
        let mut best = 0.0f64;
        let mut from = usize::MAX;
        if t >= lo {
            let first = t.saturating_sub(hi);
            for (p, &earlier) in score.iter().enumerate().take(t - lo + 1).skip(first) {
                let gap = (t - p) as f64 / period;
                let s = earlier - tightness * gap.ln().powi(2);
                if from == usize::MAX || s > best {
                    best = s;
                    from = p;
                }
            }
        }
        // A path may also start here.
        if from == usize::MAX || best < 0.0 {
            best = 0.0;
            from = usize::MAX;
        }
        score[t] = o[t] + best;
        back[t] = from;
    }
    // Start from the best score in the last period.
    let tail = n.saturating_sub(period_at(n - 1).ceil() as usize);
    let mut t = (tail..n)
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .unwrap_or(n - 1);
    let mut beats = vec![t];
    while back[t] != usize::MAX {
        t = back[t];
        beats.push(t);
    }
    beats.reverse();
    trim_quiet_ends(&mut beats, envelope, period_at);
    beats
}

/// Drops the beats at either end that fall where nothing is played: the
/// path runs on through a silent lead-in or a reverb tail at no cost. A
/// beat's strength is the envelope's peak within a quarter period of it;
/// leading and trailing beats whose strength is under a quarter of the
/// median beat's are taken off (librosa trims its ends in the same
/// spirit, against the RMS of its smoothed onset strength, which a loud
/// first chord can dominate).
fn trim_quiet_ends(beats: &mut Vec<usize>, envelope: &[f32], period_at: impl Fn(usize) -> f64) {
    let strength: Vec<f32> = beats
        .iter()
        .map(|&b| {
            let reach = (period_at(b) / 4.0).round() as usize;
            let lo = b.saturating_sub(reach);
            let hi = (b + reach + 1).min(envelope.len());
            envelope
                .get(lo..hi)
                .map_or(0.0, |w| w.iter().copied().fold(0.0, f32::max))
        })
        .collect();
    let mut sorted = strength.clone();
    sorted.sort_by(f32::total_cmp);
    let Some(&median) = sorted.get(sorted.len() / 2) else {
        return;
    };
    let threshold = 0.25 * median;
    let first = strength.iter().position(|&x| x > threshold);
    let last = strength.iter().rposition(|&x| x > threshold);
    match (first, last) {
        (Some(first), Some(last)) => {
            beats.truncate(last + 1);
            beats.drain(..first);
        }
        _ => beats.clear(),
    }
}

/// The tempo as it would be heard live: every `step_seconds`, the tempo of
/// the last `window_seconds` of the envelope (or of what there is, once
/// that covers two beats of the slowest tempo), under `prior_at(end)`, the
/// prior for the hops before `end` (the [`Material`] heard so far, say).
/// Returns `(hop, estimate)` pairs, `hop` being the last hop of each
/// window.
pub fn tempo_curve(
    envelope: &[f32],
    hop_seconds: f64,
    window_seconds: f64,
    step_seconds: f64,
    prior_at: impl Fn(usize) -> TempoPrior,
) -> Vec<(usize, TempoEstimate)> {
    if !(hop_seconds > 0.0 && window_seconds > 0.0 && step_seconds > 0.0) {
        return Vec::new();
    }
    let window = ((window_seconds / hop_seconds).round() as usize).max(2);
    let step = ((step_seconds / hop_seconds).round() as usize).max(1);
    let mut out = Vec::new();
    let mut end = step;
    while end <= envelope.len() {
        let start = end.saturating_sub(window);
        if let Some(t) = estimate_tempo(&envelope[start..end], hop_seconds, prior_at(end)) {
            out.push((end - 1, t));
        }
        end += step;
    }
    out
}
