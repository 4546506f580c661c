//! Gain: dB conversions and zipper-free ramps.

use kmidi_dsp::gain::{Gain, db_to_linear, linear_to_db};
use kmidi_dsp::{AudioBuffer, Processor, StreamSpec};

#[test]
fn db_conversions_round_trip() {
    for i in -1400..=240 {
        let db = i as f32 * 0.1;
        assert!((linear_to_db(db_to_linear(db)) - db).abs() < 1e-3, "{db}");
    }
    assert_eq!(db_to_linear(-144.0), 0.0);
    assert_eq!(linear_to_db(0.0), -144.0);
    assert_eq!(linear_to_db(-1.0), -144.0);
    assert_eq!(linear_to_db(f32::NAN), -144.0);
}

#[test]
fn a_gain_jump_ramps_over_the_configured_time() {
    for ramp_ms in [1.0, 20.0, 50.0] {
        let spec = StreamSpec::new(48_000.0, 64, 2).unwrap();
        let mut g = Gain::new(-144.0).with_ramp_ms(ramp_ms).unwrap();
        g.prepare(&spec).unwrap();
        let h = g.handle();
        h.set_db(0.0).unwrap();
        let ramp_frames = (ramp_ms * 48.0).round() as usize;
        let mut out = Vec::new();
        let mut buf = AudioBuffer::new(2, 64);
        for _ in 0..(ramp_frames / 64 + 4) {
            buf.channel_mut(0).fill(1.0);
            buf.channel_mut(1).fill(-1.0);
            g.process(&mut buf);
            assert_eq!(
                buf.channel(0)[7],
                -buf.channel(1)[7],
                "channels follow one ramp"
            );
            out.extend_from_slice(buf.channel(0));
        }
        let steps: Vec<f32> = out.windows(2).map(|w| w[1] - w[0]).collect();
        let max_step = steps.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(
            max_step <= 1.0 / ramp_frames as f32 + 1e-6,
            "{ramp_ms} ms: step {max_step}"
        );
        assert!(steps.iter().all(|&s| s >= 0.0), "monotonic");
        assert_eq!(
            out[ramp_frames - 1],
            1.0,
            "arrives after exactly the ramp time"
        );
        assert!(out[ramp_frames - 2] < 1.0);
    }
}

#[test]
fn bad_gain_settings_are_rejected() {
    let g = Gain::new(0.0);
    assert_eq!(
        g.handle().set_db(30.0).unwrap_err().to_string(),
        "gain_db = 30 dB is out of range: allowed -144 to 24 dB"
    );
    assert!(g.handle().set_db(f32::NAN).is_err());
    assert!(Gain::new(0.0).with_ramp_ms(0.0).is_err());
}
