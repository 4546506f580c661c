//! The canary bench: fixed work scaled by `KMIDI_CANARY_WORK` (percent of
//! nominal, default 100). It exists to measure the regression detector:
//! `kmidi-perf ab --base-env KMIDI_CANARY_WORK=100 --head-env
//! KMIDI_CANARY_WORK=110` must flag a 10% slowdown, and A/A runs must not.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kmidi_benches::canary::{Canary, work_percent};
use kmidi_benches::criterion_config;

fn canary(c: &mut Criterion) {
    let mut canary = Canary::new(work_percent());
    c.bench_function("canary/biquad_passes", |b| {
        b.iter(|| black_box(canary.run()))
    });
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = canary
}
criterion_main!(benches);
