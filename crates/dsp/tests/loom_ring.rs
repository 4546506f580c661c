//! Model-checks the ring buffer's index protocol with loom.
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test -p kmidi-dsp --test loom_ring --release`
//! (`scripts/loom.sh` does this in its own target directory).
#![cfg(loom)]

use kmidi_dsp::ring::channel;
use loom::thread;

#[test]
fn single_pushes_and_pops_keep_fifo_order_through_a_wrap() {
    loom::model(|| {
        let (mut tx, mut rx) = channel::<u32>(2);
        let producer = thread::spawn(move || {
            for v in 1..=3u32 {
                while tx.push(v).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut expected = 1;
        while expected <= 3 {
            if let Some(v) = rx.pop() {
                assert_eq!(v, expected);
                expected += 1;
            } else {
                thread::yield_now();
            }
        }
        producer.join().unwrap();
    });
}

#[test]
fn slice_pushes_and_pops_never_tear() {
    loom::model(|| {
        let (mut tx, mut rx) = channel::<u32>(4);
        let producer = thread::spawn(move || {
            for base in [0u32, 3] {
                let chunk = [base, base + 1, base + 2];
                while tx.push_entire_slice(&chunk).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut seen = Vec::new();
        let mut buf = [0u32; 2];
        while seen.len() < 6 {
            let n = rx.pop_slice(&mut buf);
            if n == 0 {
                thread::yield_now();
            }
            seen.extend_from_slice(&buf[..n]);
        }
        assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
        producer.join().unwrap();
    });
}
