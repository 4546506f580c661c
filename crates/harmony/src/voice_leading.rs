//! Four-part voice leading: a [`VoiceLeader`] sets realized chords for
//! bass, tenor, alto and soprano as MIDI notes, with a beam search over
//! candidate voicings: every chord complete (or a seventh chord without
//! its fifth), each voice in its range, no crossing, the leading tone and
//! the seventh never doubled, and by default no parallel fifths or octaves
//! between the outer voices ([`ParallelRule::AllVoices`] extends that to
//! every pair). [`crate::progression`] re-exports it beside the
//! progressions it realizes.

use std::collections::HashMap;

use crate::HarmonyError;
use crate::chord::ChordTone;
use crate::roman::{RealizedChord, Special};

/// A four-voice chord as MIDI notes, from the bass up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Voicing {
    /// Bass, tenor, alto, soprano.
    pub notes: [u8; 4],
}

impl Voicing {
    /// The bass.
    pub fn bass(&self) -> u8 {
        self.notes[0]
    }
    /// The tenor.
    pub fn tenor(&self) -> u8 {
        self.notes[1]
    }
    /// The alto.
    pub fn alto(&self) -> u8 {
        self.notes[2]
    }
    /// The soprano.
    pub fn soprano(&self) -> u8 {
        self.notes[3]
    }
}

/// Lowest and highest MIDI note of each voice, bass first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceRanges {
    /// (low, high) for bass, tenor, alto, soprano.
    pub ranges: [(u8, u8); 4],
}

impl Default for VoiceRanges {
    /// The textbook SATB ranges: bass E2–C4, tenor C3–G4, alto G3–C5,
    /// soprano C4–G5.
    fn default() -> Self {
        VoiceRanges {
            ranges: [(40, 60), (48, 67), (55, 72), (60, 79)],
        }
    }
}

/// Which voice pairs may not move in parallel fifths or octaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParallelRule {
    /// Bass and soprano (the default).
    OuterVoices,
    /// Every pair of voices.
    AllVoices,
}

/// Why a progression could not be voiced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceLeadingError {
    /// A chord has no voicing within the ranges that meets the rules.
    #[error("chord {index} ({symbol}) has no four-voice voicing within the voice ranges")]
    NoVoicing {
        /// Position in the progression.
        index: usize,
        /// The chord symbol.
        symbol: String,
    },
    /// Two chords cannot follow each other without breaking the parallel rule.
    #[error("chords {index} and {} cannot be connected without parallel fifths or octaves", index + 1)]
    NoConnection {
        /// Position of the first chord.
        index: usize,
    },
}

impl From<VoiceLeadingError> for HarmonyError {
    fn from(e: VoiceLeadingError) -> Self {
        HarmonyError::OutOfRange {
            what: "voice leading",
            detail: e.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    notes: [u8; 4],
    cost: u16,
    /// Bit v set if voice v holds the chord's seventh.
    seventh_voice: u8,
    /// Bit v set if voice v holds the leading tone.
    leading_voice: u8,
    /// Interval class (0-11) of each voice pair, in [`PAIRS`] order.
    pair_class: [u8; 6],
    /// Bit p set if pair p is a perfect fifth or octave (class 7 or 0).
    perfect: u8,
}

/// Voice pairs (lower, upper), bass = 0 to soprano = 3.
const PAIRS: [(usize, usize); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
/// For each voice, the pairs it belongs to, as a bit mask over [`PAIRS`].
const PAIRS_OF_VOICE: [u8; 4] = [0b000111, 0b011001, 0b101010, 0b110100];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CandidateKey {
    mask: u16,
    required: u16,
    no_double: u16,
    fifth: u16,
    third: u16,
    root: u16,
    seventh: u16,
    bass: u8,
}

#[derive(Debug, Clone, Copy)]
struct BeamState {
    cost: u32,
    candidate: u16,
    parent: u16,
}

/// Sets chord sequences in four voices by beam search over the voicings of
/// each chord, minimising voice movement under hard rules (ranges,
/// spacing, no crossing, complete chords, no doubled leading tone or
/// seventh, the parallel rule) and soft ones (doubling preferences,
/// leaps, the resolution of sevenths and leading tones, hidden fifths and
/// octaves in the outer voices).
///
/// The voicings of each distinct chord are computed once and cached, so a
/// leader reused across progressions only searches.
pub struct VoiceLeader {
    ranges: VoiceRanges,
    rule: ParallelRule,
    beam_width: usize,
    cache: HashMap<CandidateKey, usize>,
    arena: Vec<Vec<Candidate>>,
}

impl Default for VoiceLeader {
    fn default() -> Self {
        Self::new(VoiceRanges::default(), ParallelRule::OuterVoices)
    }
}

impl VoiceLeader {
    /// A voice leader with these ranges and parallel rule, and a beam width
    /// of 8.
    pub fn new(ranges: VoiceRanges, rule: ParallelRule) -> Self {
        Self {
            ranges,
            rule,
            beam_width: 8,
            cache: HashMap::new(),
            arena: Vec::new(),
        }
    }

    /// Paths kept per step (1 = greedy; more searches wider). At least 1.
    pub fn with_beam_width(mut self, width: usize) -> Self {
        self.beam_width = width.max(1);
        self
    }

    /// Voicings cached so far (distinct chord shapes).
    pub fn cached_chords(&self) -> usize {
        self.arena.len()
    }

    /// Four voices for each chord.
    ///
    /// # Errors
    /// [`VoiceLeadingError`] if a chord has no voicing in range, or two
    /// chords cannot be joined without breaking the parallel rule (the
    /// search then retries with every voicing before giving up).
    pub fn realize(&mut self, chords: &[RealizedChord]) -> Result<Vec<Voicing>, VoiceLeadingError> {
        if chords.is_empty() {
            return Ok(Vec::new());
        }
        let mut lists = Vec::with_capacity(chords.len());
        for (i, c) in chords.iter().enumerate() {
            let idx = self.candidates(c);
            if self.arena[idx].is_empty() {
                return Err(VoiceLeadingError::NoVoicing {
                    index: i,
                    symbol: c.symbol.to_string(),
                });
            }
            lists.push(idx);
        }
        match self.search(&lists, self.beam_width) {
            Ok(v) => Ok(v),
            Err(_) => self.search(&lists, usize::MAX),
        }
    }

    fn search(&self, lists: &[usize], width: usize) -> Result<Vec<Voicing>, VoiceLeadingError> {
        let mut history: Vec<Vec<BeamState>> = Vec::with_capacity(lists.len());
        let first = &self.arena[lists[0]];
        let mut beam: Vec<BeamState> = first
            .iter()
            .enumerate()
            .map(|(i, c)| BeamState {
                // Prefer a soprano around B4 to start.
                cost: c.cost as u32 + (c.notes[3] as i32 - 71).unsigned_abs(),
                candidate: i as u16,
                parent: 0,
            })
            .collect();
        prune(&mut beam, width);
        history.push(beam.clone());
        let mut next: Vec<BeamState> = Vec::new();
        let mut prev_states: Vec<(u32, Candidate)> = Vec::new();
        for step in 1..lists.len() {
            let prev_list = &self.arena[lists[step - 1]];
            let cur_list = &self.arena[lists[step]];
            next.clear();
            let pair_rule: u8 = match self.rule {
                ParallelRule::OuterVoices => 0b000100,
                ParallelRule::AllVoices => 0b111111,
            };
            prev_states.clear();
            prev_states.extend(
                beam.iter()
                    .map(|st| (st.cost, prev_list[st.candidate as usize])),
            );
            for (ci, cur) in cur_list.iter().enumerate() {
                let mut best = u32::MAX;
                let mut parent = 0u16;
                for (bi, (cost, prev)) in prev_states.iter().enumerate() {
                    let t = Self::transition(pair_rule, prev, cur);
                    let total = cost.saturating_add(t).saturating_add(cur.cost as u32);
                    if total < best {
                        best = total;
                        parent = bi as u16;
                    }
                }
                if best != u32::MAX {
                    next.push(BeamState {
                        cost: best,
                        candidate: ci as u16,
                        parent,
                    });
                }
            }
            if next.is_empty() {
                return Err(VoiceLeadingError::NoConnection { index: step - 1 });
            }
            prune(&mut next, width);
            std::mem::swap(&mut beam, &mut next);
            history.push(beam.clone());
        }
        // Trace back from the cheapest final state.
        let mut out = vec![Voicing { notes: [0; 4] }; lists.len()];
        let mut bi = 0usize;
        for step in (0..lists.len()).rev() {
            let st = history[step][bi];
            out[step] = Voicing {
                notes: self.arena[lists[step]][st.candidate as usize].notes,
            };
            bi = st.parent as usize;
        }
        Ok(out)
    }

    /// Cost of moving from `a` to `b`, or `u32::MAX` if it breaks the
    /// parallel rule. The rare cases (perfect intervals in both chords,
    /// tendency tones) sit behind branches that are almost never taken.
    #[inline(always)]
    fn transition(pair_rule: u8, a: &Candidate, b: &Candidate) -> u32 {
        // Parallel (or contrary) fifths and octaves: a pair that is perfect
        // in both chords, in the same interval class, with a voice moving.
        let both_perfect = a.perfect & b.perfect & pair_rule;
        if both_perfect != 0 {
            let mut moved = 0u8;
            for (v, pairs) in PAIRS_OF_VOICE.iter().enumerate() {
                if a.notes[v] != b.notes[v] {
                    moved |= pairs;
                }
            }
            let mut m = both_perfect & moved;
            while m != 0 {
                let p = m.trailing_zeros() as usize;
                if a.pair_class[p] == b.pair_class[p] {
                    return u32::MAX;
                }
                m &= m - 1;
            }
        }
        let mut cost = 0u32;
        for v in 1..4 {
            let m = (b.notes[v] as i32 - a.notes[v] as i32).unsigned_abs();
            cost += m * 2 + m.saturating_sub(4) * 3;
        }
        // Overlap: a voice moving past where its neighbour just was.
        cost += 6
            * ((b.notes[1] < a.notes[0]) as u32
                + (b.notes[1] > a.notes[2]) as u32
                + (b.notes[2] < a.notes[1]) as u32
                + (b.notes[2] > a.notes[3]) as u32
                + (b.notes[3] < a.notes[2]) as u32);
        let bass = b.notes[0] as i32 - a.notes[0] as i32;
        cost += bass.unsigned_abs() / 2;
        // Hidden fifths and octaves in the outer voices: similar motion into
        // a perfect interval with a leap in the soprano.
        if b.perfect & 0b000100 != 0 {
            let sop = b.notes[3] as i32 - a.notes[3] as i32;
            if sop.signum() == bass.signum() && sop.abs() > 2 {
                cost += 8;
            }
        }
        // The seventh resolves down by step (or stays as a common tone); the
        // leading tone in an outer voice rises to the tonic.
        if a.seventh_voice | (a.leading_voice & 0b1001) != 0 {
            for v in 0..4 {
                let d = b.notes[v] as i32 - a.notes[v] as i32;
                if a.seventh_voice & (1 << v) != 0 && !(-2..=0).contains(&d) {
                    cost += 10;
                }
                if a.leading_voice & 0b1001 & (1 << v) != 0 && !(0..=1).contains(&d) {
                    cost += 6;
                }
            }
        }
        cost
    }

    fn candidates(&mut self, c: &RealizedChord) -> usize {
        let pc = |p: crate::pitch::SpelledPitch| 1u16 << p.pitch_class().semitones();
        let mut key = CandidateKey {
            mask: 0,
            required: 0,
            no_double: 0,
            fifth: 0,
            third: 0,
            root: 0,
            seventh: 0,
            bass: c.bass().pitch_class().semitones(),
        };
        let aug_sixth = matches!(
            c.special,
            Some(Special::Italian | Special::French | Special::German)
        );
        for (role, p) in c.tones() {
            let bit = pc(*p);
            key.mask |= bit;
            match role {
                ChordTone::Root => key.root |= bit,
                ChordTone::Third => key.third |= bit,
                ChordTone::Fifth => key.fifth |= bit,
                ChordTone::Seventh => {
                    key.seventh |= bit;
                    key.no_double |= bit;
                }
                _ => {}
            }
        }
        let lt = 1u16 << c.leading_tone.semitones();
        if key.mask & lt != 0 {
            key.no_double |= lt;
        }
        if aug_sixth {
            // Both tones of the augmented sixth resolve outwards to 5.
            key.no_double |= key.root | key.seventh;
        }
        let has_seventh = key.seventh != 0;
        key.required = if has_seventh && c.tones().len() == 4 {
            key.mask & !key.fifth
        } else {
            key.mask
        };
        if let Some(&idx) = self.cache.get(&key) {
            return idx;
        }
        let list = self.enumerate(&key, lt);
        self.arena.push(list);
        let idx = self.arena.len() - 1;
        self.cache.insert(key, idx);
        idx
    }

    fn enumerate(&self, k: &CandidateKey, leading: u16) -> Vec<Candidate> {
        let notes_in = |(lo, hi): (u8, u8), mask: u16| -> Vec<u8> {
            (lo..=hi).filter(|n| mask & (1 << (n % 12)) != 0).collect()
        };
        let r = self.ranges.ranges;
        let basses = notes_in(r[0], 1 << k.bass);
        let tenors = notes_in(r[1], k.mask);
        let altos = notes_in(r[2], k.mask);
        let sopranos = notes_in(r[3], k.mask);
        let mut out = Vec::new();
        for &b in &basses {
            for &t in &tenors {
                if t <= b || t - b > 24 {
                    continue;
                }
                for &a in &altos {
                    if a < t || a - t > 12 {
                        continue;
                    }
                    for &s in &sopranos {
                        if s < a || s - a > 12 {
                            continue;
                        }
                        let notes = [b, t, a, s];
                        let mut present = 0u16;
                        let mut doubled_forbidden = false;
                        for n in notes {
                            let bit = 1u16 << (n % 12);
                            if present & bit != 0 && k.no_double & bit != 0 {
                                doubled_forbidden = true;
                            }
                            present |= bit;
                        }
                        if doubled_forbidden || present & k.required != k.required {
                            continue;
                        }
                        let mut cost = 0u16;
                        let count_of = |m: u16| -> u8 {
                            notes.iter().filter(|&&n| m & (1 << (n % 12)) != 0).count() as u8
                        };
                        if count_of(k.fifth) == 0 && k.fifth != 0 {
                            cost += 4; // incomplete seventh chord
                        }
                        if count_of(k.root) == 0 {
                            cost += 20; // rootless (only a tone left out by range)
                        }
                        if count_of(k.third) > 1 {
                            cost += 6;
                        }
                        if count_of(k.fifth) > 1 {
                            cost += 2;
                        }
                        if t == a || a == s {
                            cost += 5;
                        }
                        let mut seventh_voice = 0u8;
                        let mut leading_voice = 0u8;
                        for (v, n) in notes.iter().enumerate() {
                            let bit = 1u16 << (n % 12);
                            if k.seventh & bit != 0 {
                                seventh_voice |= 1 << v;
                            }
                            if leading & bit != 0 {
                                leading_voice |= 1 << v;
                            }
                        }
                        let mut pair_class = [0u8; 6];
                        let mut perfect = 0u8;
                        for (p, &(lo, hi)) in PAIRS.iter().enumerate() {
                            let class = (notes[hi] - notes[lo]) % 12;
                            pair_class[p] = class;
                            if class == 0 || class == 7 {
                                perfect |= 1 << p;
                            }
                        }
                        out.push(Candidate {
                            notes,
                            cost,
                            seventh_voice,
                            leading_voice,
                            pair_class,
                            perfect,
                        });
                    }
                }
            }
        }
        out
    }
}

fn prune(beam: &mut Vec<BeamState>, width: usize) {
    if beam.len() > width {
        beam.select_nth_unstable_by_key(width - 1, |s| s.cost);
        beam.truncate(width);
    }
    beam.sort_unstable_by_key(|s| s.cost);
}
