//! SPSC ring buffer: semantics, and FIFO order across threads with wrap-around.
//! `scripts/memcheck.sh` runs this file under valgrind memcheck.

mod common;

use kmidi_dsp::ring::{InsufficientSpace, channel};

#[test]
fn capacity_rounds_up_to_a_power_of_two() {
    assert_eq!(channel::<u8>(0).0.capacity(), 1);
    assert_eq!(channel::<u8>(1).0.capacity(), 1);
    assert_eq!(channel::<u8>(3).0.capacity(), 4);
    assert_eq!(channel::<u8>(1024).0.capacity(), 1024);
    assert_eq!(channel::<u8>(1025).0.capacity(), 2048);
}

#[test]
fn single_element_push_and_pop() {
    let (mut tx, mut rx) = channel::<u32>(2);
    assert_eq!(rx.pop(), None);
    tx.push(1).unwrap();
    tx.push(2).unwrap();
    assert_eq!(tx.push(3), Err(3), "full");
    assert_eq!(rx.pop(), Some(1));
    tx.push(3).unwrap();
    assert_eq!(rx.pop(), Some(2));
    assert_eq!(rx.pop(), Some(3));
    assert!(rx.is_empty());
}

#[test]
fn slices_wrap_around_with_two_copies() {
    let (mut tx, mut rx) = channel::<i32>(8);
    tx.push_entire_slice(&[0, 1, 2, 3, 4, 5]).unwrap();
    let mut out = [0; 4];
    rx.pop_entire_slice(&mut out).unwrap();
    assert_eq!(out, [0, 1, 2, 3]);
    // Now write 6 across the end of the storage (slots 6, 7, 0, 1, 2, 3).
    tx.push_entire_slice(&[6, 7, 8, 9, 10, 11]).unwrap();
    assert_eq!(
        tx.push_entire_slice(&[12]),
        Err(InsufficientSpace {
            requested: 1,
            available: 0
        })
    );
    let mut out = [0; 8];
    rx.pop_entire_slice(&mut out).unwrap();
    assert_eq!(out, [4, 5, 6, 7, 8, 9, 10, 11]);
}

#[test]
fn partial_slices_take_what_fits() {
    let (mut tx, mut rx) = channel::<u16>(4);
    assert_eq!(tx.push_slice(&[1, 2, 3, 4, 5, 6]), 4);
    let mut out = [0u16; 3];
    assert_eq!(rx.pop_slice(&mut out), 3);
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(tx.push_slice(&[5, 6, 7, 8]), 3);
    let mut out = [0u16; 8];
    assert_eq!(rx.pop_slice(&mut out), 4);
    assert_eq!(&out[..4], &[4, 5, 6, 7]);
    assert_eq!(
        rx.pop_entire_slice(&mut out[..1]),
        Err(InsufficientSpace {
            requested: 1,
            available: 0
        })
    );
    assert_eq!(tx.slots(), 4);
    assert_eq!(rx.skip(10), 0);
}

#[test]
fn fifo_order_holds_across_threads_with_wrap_around() {
    // A small buffer and random slice sizes on both sides force thousands of
    // wraps and full/empty transitions.
    const TOTAL: u64 = 200_000;
    let (mut tx, mut rx) = channel::<u64>(64);
    let producer = std::thread::spawn(move || {
        let mut noise = common::Noise::new(1);
        let mut next = 0u64;
        let mut chunk = [0u64; 100];
        while next < TOTAL {
            let n = (1 + noise.below(100)).min((TOTAL - next) as usize);
            for (i, v) in chunk[..n].iter_mut().enumerate() {
                *v = next + i as u64;
            }
            let mut sent = 0;
            while sent < n {
                let k = tx.push_slice(&chunk[sent..n]);
                sent += k;
                if k == 0 {
                    std::thread::yield_now();
                }
            }
            next += n as u64;
        }
    });
    let mut noise = common::Noise::new(2);
    let mut expected = 0u64;
    let mut buf = [0u64; 100];
    while expected < TOTAL {
        let want = 1 + noise.below(100);
        let got = if want == 1 {
            rx.pop().map_or(0, |v| {
                buf[0] = v;
                1
            })
        } else {
            rx.pop_slice(&mut buf[..want])
        };
        for &v in &buf[..got] {
            assert_eq!(v, expected, "out of order");
            expected += 1;
        }
        if got == 0 {
            std::thread::yield_now();
        }
    }
    producer.join().unwrap();
    assert!(rx.is_empty());
    assert!(rx.is_abandoned());
}

#[test]
fn audio_blocks_stream_intact_across_threads() {
    // 512-sample blocks through a 2048-slot buffer, as the inference worker uses it.
    let (mut tx, mut rx) = channel::<f32>(2048);
    let blocks = 2_000;
    let producer = std::thread::spawn(move || {
        let mut block = [0.0f32; 512];
        for b in 0..blocks {
            for (i, s) in block.iter_mut().enumerate() {
                *s = (b * 512 + i) as f32;
            }
            while tx.push_entire_slice(&block).is_err() {
                std::thread::yield_now();
            }
        }
    });
    let mut block = [0.0f32; 512];
    for b in 0..blocks {
        while rx.pop_entire_slice(&mut block).is_err() {
            std::thread::yield_now();
        }
        assert_eq!(block[0], (b * 512) as f32);
        assert_eq!(block[511], (b * 512 + 511) as f32);
    }
    producer.join().unwrap();
}
