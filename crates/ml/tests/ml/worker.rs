//! The inference worker: a real model behind it gives the same results as
//! a direct run; under back-pressure the oldest requests are dropped and
//! counted, and the newest one is always served.

use std::time::{Duration, Instant};

use kmidi_ml::models::{Model, Precision};
use kmidi_ml::session::SessionConfig;
use kmidi_ml::worker::spawn;

fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "worker did not answer"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_model_behind_the_worker_answers_like_a_direct_run() {
    let mut direct = Model::DynamicsEngine
        .load(Precision::Fp32, SessionConfig::default())
        .unwrap();
    let mut session = Model::DynamicsEngine
        .load(Precision::Fp32, SessionConfig::default())
        .unwrap();
    let (worker, mut audio) = spawn::<[f32; 128], [f32; 32]>(16, 16, move |features| {
        session
            .input_f32("features")
            .unwrap()
            .copy_from_slice(&features);
        let mut out = [0.0f32; 32];
        if session.run().is_ok() {
            out.copy_from_slice(session.output("gain_db").unwrap());
        }
        out
    })
    .unwrap();
    for k in 0..10 {
        let features: [f32; 128] = std::array::from_fn(|i| ((i * 7 + k * 13) % 100) as f32 / 100.0);
        assert!(audio.request(features));
        let got = wait_for(|| audio.poll());
        direct
            .input_f32("features")
            .unwrap()
            .copy_from_slice(&features);
        direct.run().unwrap();
        assert_eq!(&got[..], direct.output("gain_db").unwrap());
    }
    assert_eq!(worker.runs(), 10);
    assert_eq!((audio.dropped(), audio.rejected()), (0, 0));
    worker.stop();
}

#[test]
fn back_pressure_drops_the_oldest_and_serves_the_newest() {
    let (worker, mut audio) = spawn::<u64, u64>(256, 2, |id| {
        std::thread::sleep(Duration::from_millis(3));
        id
    })
    .unwrap();
    for id in 0..200u64 {
        assert!(audio.request(id));
    }
    let mut served = Vec::new();
    let start = Instant::now();
    while served.last() != Some(&199) {
        if let Some(r) = audio.poll() {
            served.push(r);
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{served:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(served.windows(2).all(|w| w[0] < w[1]), "{served:?}");
    assert!(audio.dropped() > 100, "dropped {}", audio.dropped());
    assert_eq!(
        audio.dropped() + served.len() as u64,
        200,
        "every request is served or counted"
    );
    assert_eq!(audio.rejected(), 0);
    worker.stop();
    // A full ring with the worker stopped rejects and counts.
    let (worker, mut audio) = spawn::<u64, u64>(4, 4, |id| id).unwrap();
    worker.stop();
    let accepted = (0..10).filter(|&i| audio.request(i)).count();
    assert!(accepted <= 4);
    assert_eq!(audio.rejected(), 10 - accepted as u64);
    assert!(spawn::<u64, u64>(1, 1, |x| x).is_err());
    assert!(spawn::<u64, u64>(8, 9, |x| x).is_err());
}
