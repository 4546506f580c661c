//! Mixer: pan law, solo/mute truth table, sends, smoothing, bad input.

use crate::common;

use kmidi_dsp::mixer::{MixBuses, Mixer, MixerConfig, SendTap, StripLayout, pan_gains};
use kmidi_dsp::{AudioBuffer, StreamSpec};

fn prepared(config: &MixerConfig, block: usize) -> (Mixer, MixBuses) {
    let mut m = Mixer::new(config).unwrap();
    m.prepare(&StreamSpec::new(48_000.0, block, 2).unwrap())
        .unwrap();
    let b = m.create_buses();
    (m, b)
}

fn dc_inputs(values: &[f32], layout: StripLayout, frames: usize) -> Vec<AudioBuffer> {
    values
        .iter()
        .map(|&v| {
            let mut b = AudioBuffer::new(layout.channels(), frames);
            for ch in 0..layout.channels() {
                b.channel_mut(ch).fill(v);
            }
            b
        })
        .collect()
}

/// Processes enough blocks for every ramp (20 ms = 960 frames) to finish.
fn settle(m: &mut Mixer, inputs: &[AudioBuffer], buses: &mut MixBuses) {
    for _ in 0..(2048 / inputs[0].frames()).max(2) {
        m.process(inputs, buses).unwrap();
    }
}

#[test]
fn mono_pan_law_is_constant_power_and_minus_three_db_at_centre() {
    for i in 0..=200 {
        let p = -1.0 + i as f32 / 100.0;
        let (l, r) = pan_gains(StripLayout::Mono, p);
        assert!((l * l + r * r - 1.0).abs() < 1e-6, "pan {p}: {l} {r}");
    }
    let (l, r) = pan_gains(StripLayout::Mono, 0.0);
    assert!((20.0 * l.log10() + 3.0103).abs() < 1e-3 && (l - r).abs() < 1e-7);
    assert_eq!(pan_gains(StripLayout::Mono, -1.0), (1.0, 0.0));
    let (l, r) = pan_gains(StripLayout::Mono, 1.0);
    assert!(l.abs() < 1e-7 && r == 1.0);
    // Balance for stereo strips: unity at centre, one side attenuated off-centre.
    assert_eq!(pan_gains(StripLayout::Stereo, 0.0), (1.0, 1.0));
    let (l, r) = pan_gains(StripLayout::Stereo, -0.5);
    assert!(l == 1.0 && r < 1.0);
}

#[test]
fn the_mixer_applies_the_pan_law() {
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(1, StripLayout::Mono), 64);
    let h = m.handle();
    let inputs = dc_inputs(&[1.0], StripLayout::Mono, 64);
    for p in [-1.0f32, -0.3, 0.0, 0.7, 1.0] {
        h.set_pan(0, p).unwrap();
        settle(&mut m, &inputs, &mut buses);
        let (l, r) = pan_gains(StripLayout::Mono, p);
        assert!((buses.master.channel(0)[63] - l).abs() < 1e-6);
        assert!((buses.master.channel(1)[63] - r).abs() < 1e-6);
    }
}

#[test]
fn a_centred_stereo_strip_at_unity_is_bit_transparent() {
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(1, StripLayout::Stereo), 512);
    let mut noise = common::Noise::new(5);
    let mut input = AudioBuffer::new(2, 512);
    for _ in 0..5 {
        for ch in 0..2 {
            for s in input.channel_mut(ch) {
                *s = noise.sample();
            }
        }
        m.process(std::slice::from_ref(&input), &mut buses).unwrap();
        assert_eq!(buses.master.channel(0), input.channel(0));
        assert_eq!(buses.master.channel(1), input.channel(1));
    }
}

#[test]
fn solo_and_mute_truth_table() {
    // Three strips with values that cannot alias when summed.
    let values = [1.0f32, 10.0, 100.0];
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(3, StripLayout::Stereo), 32);
    let h = m.handle();
    let inputs = dc_inputs(&values, StripLayout::Stereo, 32);
    for state in 0u32..64 {
        let mute = |i: usize| state & (1 << i) != 0;
        let solo = |i: usize| state & (1 << (i + 3)) != 0;
        for i in 0..3 {
            h.set_mute(i, mute(i)).unwrap();
            h.set_solo(i, solo(i)).unwrap();
        }
        settle(&mut m, &inputs, &mut buses);
        let any_solo = (0..3).any(solo);
        let expected: f32 = (0..3)
            .filter(|&i| !mute(i) && (!any_solo || solo(i)))
            .map(|i| values[i])
            .sum();
        assert_eq!(
            buses.master.channel(0)[31],
            expected,
            "mute {:03b} solo {:03b}",
            state & 7,
            state >> 3
        );
        assert_eq!(buses.master.channel(1)[31], expected);
    }
}

#[test]
fn sends_route_through_the_matrix_pre_and_post_fader() {
    let config = MixerConfig {
        strips: vec![StripLayout::Mono, StripLayout::Stereo],
        aux_buses: 2,
        ramp_ms: 1.0,
    };
    let (mut m, mut buses) = prepared(&config, 64);
    let h = m.handle();
    let inputs = vec![
        dc_inputs(&[1.0], StripLayout::Mono, 64).remove(0),
        dc_inputs(&[2.0], StripLayout::Stereo, 64).remove(0),
    ];
    h.set_send(0, 1, -6.0, SendTap::PostFader).unwrap();
    h.set_send(1, 0, 0.0, SendTap::PreFader).unwrap();
    h.set_gain_db(0, -6.0).unwrap();
    h.set_gain_db(1, -144.0).unwrap(); // fader down: pre-fader send still flows
    settle(&mut m, &inputs, &mut buses);
    let g6 = 10f32.powf(-6.0 / 20.0);
    let centre = std::f32::consts::FRAC_1_SQRT_2;
    // Bus 0: only strip 1's pre-fader send, at unity.
    assert!((buses.aux[0].channel(0)[63] - 2.0).abs() < 1e-6);
    // Bus 1: strip 0's post-fader send: -6 dB send after a -6 dB fader, panned centre.
    assert!((buses.aux[1].channel(0)[63] - g6 * g6 * centre).abs() < 1e-6);
    // Master: strip 0 at -6 dB panned centre; strip 1's fader is down.
    assert!((buses.master.channel(1)[63] - g6 * centre).abs() < 1e-6);
    assert_eq!(h.send_db(0, 1), Some(-6.0));
    assert_eq!(h.send_db(0, 2), None);
    // Muting a strip silences its sends too.
    h.set_mute(1, true).unwrap();
    settle(&mut m, &inputs, &mut buses);
    assert_eq!(buses.aux[0].channel(0)[63], 0.0);
}

#[test]
fn a_gain_jump_ramps_without_zipper_steps() {
    let config = MixerConfig {
        ramp_ms: 10.0,
        ..MixerConfig::uniform(1, StripLayout::Stereo)
    };
    let (mut m, mut buses) = prepared(&config, 128);
    let h = m.handle();
    let inputs = dc_inputs(&[1.0], StripLayout::Stereo, 128);
    h.set_gain_db(0, -144.0).unwrap();
    m.reset();
    let mut out = Vec::new();
    h.set_gain_db(0, 0.0).unwrap();
    for _ in 0..8 {
        m.process(&inputs, &mut buses).unwrap();
        out.extend_from_slice(buses.master.channel(0));
    }
    // 10 ms at 48 kHz = 480 frames from 0 to 1: each step is 1/480.
    let max_step = out
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max);
    assert!(max_step <= 1.0 / 480.0 + 1e-6, "largest step {max_step}");
    assert_eq!(*out.last().unwrap(), 1.0);
    assert!(out[0] > 0.0 && out[0] < 0.01);
}

#[test]
fn parameters_change_from_another_thread() {
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(2, StripLayout::Mono), 64);
    let h = m.handle();
    let inputs = dc_inputs(&[1.0, 1.0], StripLayout::Mono, 64);
    std::thread::spawn(move || {
        h.set_pan(0, -1.0).unwrap();
        h.set_pan(1, -1.0).unwrap();
        h.set_master_db(-6.0).unwrap();
    })
    .join()
    .unwrap();
    settle(&mut m, &inputs, &mut buses);
    let g = 10f32.powf(-6.0 / 20.0);
    assert!((buses.master.channel(0)[0] - 2.0 * g).abs() < 1e-5);
    assert!(buses.master.channel(1)[0].abs() < 1e-6);
}

#[test]
fn mismatched_inputs_are_rejected_and_buses_left_alone() {
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(2, StripLayout::Stereo), 64);
    buses.master.channel_mut(0).fill(0.5);
    let one = dc_inputs(&[1.0], StripLayout::Stereo, 64);
    let e = m.process(&one, &mut buses).unwrap_err();
    assert_eq!(
        e.to_string(),
        "inputs is 1, but 2 was expected (one input buffer per strip)"
    );
    let mono = dc_inputs(&[1.0, 1.0], StripLayout::Mono, 64);
    let e = m.process(&mono, &mut buses).unwrap_err();
    assert!(
        e.to_string()
            .contains("input channels is 1, but 2 was expected"),
        "{e}"
    );
    assert!(buses.master.channel(0).iter().all(|&v| v == 0.5));
    let h = m.handle();
    assert!(
        h.set_gain_db(5, 0.0)
            .unwrap_err()
            .to_string()
            .contains("strip = 5 does not exist: allowed 0 to 1")
    );
    assert!(
        h.set_pan(0, 2.0)
            .unwrap_err()
            .to_string()
            .contains("pan = 2 is out of range: allowed -1 to 1")
    );
    assert!(Mixer::new(&MixerConfig::uniform(0, StripLayout::Mono)).is_err());
}

#[test]
fn non_finite_input_does_not_stick() {
    let (mut m, mut buses) = prepared(&MixerConfig::uniform(1, StripLayout::Stereo), 64);
    let mut bad = dc_inputs(&[f32::NAN], StripLayout::Stereo, 64);
    m.process(&bad, &mut buses).unwrap();
    bad[0].channel_mut(0).fill(0.25);
    bad[0].channel_mut(1).fill(0.25);
    m.process(&bad, &mut buses).unwrap();
    assert!(buses.master.channel(0).iter().all(|&v| v == 0.25));
}
