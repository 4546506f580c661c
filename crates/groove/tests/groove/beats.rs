//! The beat tracker's ends and the tempo it follows: no beats where
//! nothing is played, and a windowed tempo taken at the whole file's
//! metrical level.

use kmidi_groove::beat::{
    Material, TempoPrior, at_metrical_level, beat_tempo, estimate_tempo, refine_tempo_to_onsets,
    track_beats,
};

/// `lead` silent hops, then a pulse every `period` hops for `pulses`
/// pulses, then `tail` hops of a faint decay (a reverb tail).
fn pulses_between_silence(lead: usize, period: usize, pulses: usize, tail: usize) -> Vec<f32> {
    let mut env = vec![0.0f32; lead];
    for _ in 0..pulses {
        env.push(1.0);
        env.extend(std::iter::repeat_n(0.0, period - 1));
    }
    env.extend((0..tail).map(|i| 0.001 * (-(i as f32) / 50.0).exp()));
    env
}

#[test]
fn no_beats_in_a_silent_lead_in_or_a_reverb_tail() {
    // 10 ms hops: 3 s of silence, 40 pulses at 120 BPM, 5 s of tail.
    let (lead, period, pulses) = (300, 50, 40);
    let env = pulses_between_silence(lead, period, pulses, 500);
    let beats = track_beats(&env, 0.01, 120.0);
    let last_pulse = lead + (pulses - 1) * period;
    assert_eq!(beats.first(), Some(&lead), "{beats:?}");
    assert_eq!(beats.last(), Some(&last_pulse), "{beats:?}");
    assert_eq!(beats.len(), pulses, "{beats:?}");
    assert!(beats.windows(2).all(|w| w[1] - w[0] == period), "{beats:?}");
}

#[test]
fn silence_alone_has_no_beats() {
    assert!(track_beats(&[0.0; 2000], 0.01, 120.0).is_empty());
}

#[test]
fn a_window_at_another_metrical_level_is_moved_to_the_whole_files() {
    for (window, whole, want) in [
        (136.0, 70.0, 68.0),   // the eighths
        (35.5, 70.0, 71.0),    // the half notes
        (207.0, 70.0, 69.0),   // triplet eighths
        (23.0, 70.0, 69.0),    // the bars of 3/4
        (135.0, 100.0, 135.0), // a real change: left as it is
        (70.0, 70.0, 70.0),
    ] {
        assert_eq!(
            at_metrical_level(window, whole),
            want,
            "{window} at {whole}"
        );
    }
    // Nothing to measure against: left as it is, never a panic.
    for (window, whole) in [
        (f64::NAN, 70.0),
        (120.0, f64::NAN),
        (120.0, 0.0),
        (120.0, f64::INFINITY),
        (-5.0, 70.0),
    ] {
        let got = at_metrical_level(window, whole);
        assert!(
            got.is_nan() && window.is_nan() || got == window,
            "{window} at {whole}: {got}"
        );
    }
}

#[test]
fn the_beat_follows_the_whole_files_tempo_unless_a_window_hears_a_change() {
    // A few percent of misreading, or another level: the whole file's.
    for window in [70.0, 72.5, 67.0, 141.0, 34.0] {
        assert_eq!(beat_tempo(window, 70.0), 70.0, "{window}");
    }
    // A step from 100 to 135 BPM, or a ramp 8% on: followed.
    assert_eq!(beat_tempo(135.0, 100.0), 135.0);
    assert_eq!(beat_tempo(108.0, 100.0), 108.0);
    // Half of a window that heard 216: 108, followed at that level.
    assert_eq!(beat_tempo(216.0, 100.0), 108.0);
}

/// Eighth notes at 68 quarters per minute, 10 ms hops: every quarter at 1,
/// the eighths between at `offbeat`.
fn eighths_under_a_slow_quarter(offbeat: f32) -> Vec<f32> {
    let eighth_hops = 60.0 / 136.0 / 0.01;
    let mut env = vec![0.0f32; 3000];
    for i in 0usize.. {
        let at = (i as f64 * eighth_hops).round() as usize;
        if at >= env.len() {
            break;
        }
        env[at] = if i.is_multiple_of(2) { 1.0 } else { offbeat };
    }
    env
}

#[test]
fn without_a_kit_the_eighths_under_a_slow_quarter_are_heard_at_the_quarter() {
    // The quarters stand out, if not by much: the kit's prior still hears
    // eighths (it did from an off-beat at 0.3), the pitched prior the
    // quarter (up to 0.5).
    let env = eighths_under_a_slow_quarter(0.4);
    let bpm = |prior| estimate_tempo(&env, 0.01, prior).map(|t| t.bpm);
    let kit = bpm(TempoPrior::DRUM_KIT).unwrap();
    let pitched = bpm(TempoPrior::PITCHED).unwrap();
    assert!((kit / 136.0 - 1.0).abs() < 0.01, "kit prior: {kit}");
    assert!(
        (pitched / 68.0 - 1.0).abs() < 0.01,
        "pitched prior: {pitched}"
    );
    // Even eighths are eighths under either prior.
    let even = eighths_under_a_slow_quarter(1.0);
    let t = estimate_tempo(&even, 0.01, TempoPrior::PITCHED)
        .unwrap()
        .bpm;
    assert!((t / 136.0 - 1.0).abs() < 0.01, "{t}");
}

#[test]
fn a_kit_is_heard_by_its_cymbals_or_by_its_hits() {
    let flux = [2.0f32; 100];
    let ring = |v: f32| [v; 100];
    // Hats and cymbals: the bands above 9 kHz rise like the rest.
    let cymbals = Material::measure(&flux, &ring(1.8), &ring(0.8));
    assert!((cymbals.broadband_share - 0.9).abs() < 1e-6, "{cymbals:?}");
    assert!(cymbals.has_drum_kit());
    // Kick, snare and claves: no cymbals, but every band rises at once.
    let hits = Material::measure(&flux, &ring(0.4), &ring(1.3));
    assert!(hits.has_drum_kit(), "{hits:?}");
    // A piano: some hammer noise up high, its partials in few bands.
    let piano = Material::measure(&flux, &ring(0.5), &ring(0.8));
    assert!(!piano.has_drum_kit(), "{piano:?}");
    assert_eq!(TempoPrior::for_material(piano), TempoPrior::PITCHED);
    // Silence, NaN or rings of another length: no kit, no panic.
    let silent = Material::measure(&[0.0; 10], &[0.0; 10], &[0.0; 10]);
    assert_eq!((silent.broadband_share, silent.rise_spread), (0.0, 0.0));
    assert!(!Material::measure(&flux, &[f32::NAN; 100], &[f32::NAN; 100]).has_drum_kit());
    let short = Material::measure(&flux, &ring(1.8)[..10], &[]);
    assert_eq!(short.broadband_share, 0.0);
}

#[test]
fn a_prior_that_is_not_a_number_gives_no_tempo_and_no_panic() {
    let env = eighths_under_a_slow_quarter(0.4);
    for (centre_bpm, octaves) in [(f64::NAN, 1.0), (100.0, f64::NAN), (0.0, 1.0), (100.0, 0.0)] {
        let prior = TempoPrior {
            centre_bpm,
            octaves,
        };
        assert_eq!(estimate_tempo(&env, 0.01, prior), None, "{prior:?}");
    }
}

/// Onset times (s) on a grid at `bpm`: at the listed fractions of each
/// beat, for `beats` beats, each moved by up to `jitter_s` (a fixed
/// pseudo-random sequence).
fn onsets_on_grid(bpm: f64, fractions: &[f64], beats: usize, jitter_s: f64) -> Vec<f64> {
    let period = 60.0 / bpm;
    let mut state = 0x2545_f491_u32;
    let mut out = Vec::new();
    for b in 0..beats {
        for f in fractions {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let unit = f64::from(state >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0;
            out.push(0.5 + (b as f64 + f) * period + unit * jitter_s);
        }
    }
    out
}

#[test]
fn the_onsets_set_the_period_the_comb_misread_within_its_level() {
    // Quarters and eighths, triplets, and sixteenths with a dotted figure,
    // each with 10 ms of timing spread, read 3% slow or fast by the comb.
    for (fractions, label) in [
        (&[0.0, 0.5][..], "eighths"),
        (&[0.0, 1.0 / 3.0, 2.0 / 3.0][..], "triplets"),
        (&[0.0, 0.75][..], "dotted eighth and sixteenth"),
    ] {
        let onsets = onsets_on_grid(100.0, fractions, 60, 0.01);
        for misread in [97.0, 103.0] {
            let bpm = refine_tempo_to_onsets(misread, &onsets);
            assert!((bpm - 100.0).abs() <= 0.1, "{label}, from {misread}: {bpm}");
        }
    }
    // The level stays the comb's: half and double the onsets' beat rate
    // are moved to exactly half and double it, never to the beat itself.
    let quarters = onsets_on_grid(100.0, &[0.0], 60, 0.0);
    assert!((refine_tempo_to_onsets(49.0, &quarters) - 50.0).abs() <= 0.05);
    assert!((refine_tempo_to_onsets(204.0, &quarters) - 200.0).abs() <= 0.05);
}

#[test]
fn too_few_onsets_or_a_tempo_that_is_not_a_number_leave_the_tempo_alone() {
    let seven = onsets_on_grid(100.0, &[0.0], 7, 0.0);
    assert_eq!(refine_tempo_to_onsets(97.0, &seven), 97.0);
    assert_eq!(refine_tempo_to_onsets(97.0, &[]), 97.0);
    // Onsets that are not numbers are not counted.
    let mut eight = seven.clone();
    eight.extend([f64::NAN, f64::INFINITY]);
    assert_eq!(refine_tempo_to_onsets(97.0, &eight), 97.0);
    eight.push(7.0 * 0.6 + 0.5);
    assert!((refine_tempo_to_onsets(97.0, &eight) - 100.0).abs() <= 0.1);
    let many = onsets_on_grid(100.0, &[0.0], 60, 0.0);
    assert!(refine_tempo_to_onsets(f64::NAN, &many).is_nan());
    assert_eq!(refine_tempo_to_onsets(f64::INFINITY, &many), f64::INFINITY);
    assert_eq!(refine_tempo_to_onsets(0.0, &many), 0.0);
    assert_eq!(refine_tempo_to_onsets(-90.0, &many), -90.0);
}
