//! The beat tracker's ends and the tempo it follows: no beats where
//! nothing is played, and a windowed tempo taken at the whole file's
//! metrical level.

use kmidi_groove::beat::{at_metrical_level, beat_tempo, track_beats};

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
