//! A Criterion measurement of the benchmark thread's own CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), beside wall time.
//!
//! Wall time counts every moment another process held the CPU; on a shared
//! machine that is noise, not the code's cost. Thread CPU time counts only
//! the time this thread ran, so preemption by other tenants drops out
//! (what remains: cache and memory-bandwidth contention, and the clock
//! frequency). The lab judges it as its own signal: its benches have their
//! own ids (`cpu_time/…`), next to the wall-time benches of the same code.
//!
//! ```
//! use criterion::measurement::Measurement;
//! use kmidi_benches::cpu_time::ThreadCpuTime;
//! let m = ThreadCpuTime::default();
//! let start = m.start();
//! let mut x = 0u64;
//! for i in 0..100_000 { x = x.wrapping_add(std::hint::black_box(i)); }
//! assert!(m.to_f64(&m.end(start)) > 0.0);
//! ```

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use rustix::time::{ClockId, clock_gettime};

/// The calling thread's CPU time as a Criterion [`Measurement`], in
/// nanoseconds (formatted like wall time).
pub struct ThreadCpuTime {
    // Only for its duration formatter: values are nanoseconds either way.
    wall: WallTime,
}

impl Default for ThreadCpuTime {
    fn default() -> Self {
        Self { wall: WallTime }
    }
}

fn thread_cpu_now() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeping_costs_no_cpu_time_and_spinning_does() {
        let m = ThreadCpuTime::default();
        let start = m.start();
        std::thread::sleep(Duration::from_millis(60));
        let slept = m.end(start);
        assert!(slept < Duration::from_millis(10), "{slept:?}");

        // Spin until the clock has counted 20 ms. A shared machine may take
        // the CPU away for a while, so the bound is generous wall time; a
        // clock that does not count this thread's work never gets there,
        // and one that counts more than the thread ran exceeds the wall.
        let start = m.start();
        let began = std::time::Instant::now();
        let mut x = 0u64;
        let mut spun = Duration::ZERO;
        while spun < Duration::from_millis(20) && began.elapsed() < Duration::from_secs(20) {
            for _ in 0..1000 {
                x = x.wrapping_add(std::hint::black_box(1));
            }
            spun = m.end(start);
        }
        std::hint::black_box(x);
        let wall = began.elapsed();
        assert!(spun >= Duration::from_millis(20), "{spun:?} in {wall:?}");
        assert!(
            spun <= wall + Duration::from_millis(1),
            "{spun:?} in {wall:?}"
        );
    }
}
