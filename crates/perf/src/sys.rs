//! Process figures from the OS: peak resident memory and CPU time.

use rustix::time::{ClockId, clock_gettime};

fn status_kib(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak resident set size of this process so far, bytes (`VmHWM`); 0 where
/// /proc is not available.
pub fn peak_rss_bytes() -> u64 {
    status_kib("VmHWM:").map_or(0, |k| k * 1024)
}

/// Resident set size now, bytes (`VmRSS`).
pub fn rss_bytes() -> u64 {
    status_kib("VmRSS:").map_or(0, |k| k * 1024)
}

/// Memory this process has locked, bytes (`VmLck`: mlock/mlockall).
pub fn locked_bytes() -> u64 {
    status_kib("VmLck:").map_or(0, |k| k * 1024)
}

/// What the calling thread has used so far: CPU time (the thread's CPU
/// clock) and context switches (`getrusage(RUSAGE_THREAD)`). Two system
/// calls, no allocation, so the audio thread may take it around each
/// callback.
///
/// The CPU time does not come from getrusage: Linux fills its `ru_utime`
/// and `ru_stime` from the scheduler's running total, which is only
/// brought up to date at a tick or a context switch, so the difference
/// over a short interval can hold time the thread used before it (here,
/// 396 µs reported for a 180 µs callback). `CLOCK_THREAD_CPUTIME_ID`
/// brings the total up to date when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadUsage {
    /// User + system CPU time, µs.
    pub cpu_us: u64,
    /// Voluntary context switches: the thread blocked (a lock, I/O, a
    /// page fault that waited, a sleep).
    pub voluntary_switches: u64,
    /// Involuntary context switches: the scheduler took the CPU away.
    pub involuntary_switches: u64,
    /// Page faults, minor and major: memory touched that was not mapped
    /// in yet (a real-time thread avoids them by touching or locking its
    /// memory beforehand).
    pub page_faults: u64,
}

/// The calling thread's [`ThreadUsage`]; zeros if the call fails.
pub fn thread_usage() -> ThreadUsage {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `u` is a properly aligned, writable rusage; getrusage only
    // writes into it and RUSAGE_THREAD names the calling thread.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, u.as_mut_ptr()) };
    if rc != 0 {
        return ThreadUsage::default();
    }
    // SAFETY: zero-initialised and filled by a successful getrusage.
    let u = unsafe { u.assume_init() };
    let cpu = clock_gettime(ClockId::ThreadCPUTime);
    ThreadUsage {
        cpu_us: cpu.tv_sec.max(0) as u64 * 1_000_000 + cpu.tv_nsec.max(0) as u64 / 1000,
        voluntary_switches: u.ru_nvcsw.max(0) as u64,
        involuntary_switches: u.ru_nivcsw.max(0) as u64,
        page_faults: u.ru_minflt.max(0) as u64 + u.ru_majflt.max(0) as u64,
    }
}

fn seconds(clock: ClockId) -> f64 {
    let t = clock_gettime(clock);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// CPU time of the whole process (every thread), seconds.
pub fn process_cpu_seconds() -> f64 {
    seconds(ClockId::ProcessCPUTime)
}

/// CPU time of the calling thread, seconds.
pub fn thread_cpu_seconds() -> f64 {
    seconds(ClockId::ThreadCPUTime)
}

/// CPU time (user + system) of every child process this process has
/// waited for, seconds, from `/proc/self/stat` (`cutime` + `cstime`, in
/// clock ticks: 10 ms here); 0 where /proc is not available. The
/// difference around one child's run is that child's CPU time.
pub fn children_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, cutime 16 and cstime 17.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(13) + ticks(14)) as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// Held by the unit tests that start child processes: the children's CPU
/// time is one counter for the whole test process, so a test that reads it
/// must not overlap another that spawns children.
#[cfg(test)]
pub(crate) static CHILD_PROCESS_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_cpu_time_move_the_right_way() {
        let before = thread_cpu_seconds();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(thread_cpu_seconds() > before);
        assert!(process_cpu_seconds() >= thread_cpu_seconds());
        let rss = rss_bytes();
        assert!(rss > 1 << 20);
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        assert!(peak_rss_bytes() >= rss + (60 << 20));
    }

    #[test]
    fn thread_usage_counts_cpu_and_blocking_of_this_thread_only() {
        let u0 = thread_usage();
        // Spin until 30 ms of CPU time is counted; the wall bound is
        // generous because a shared machine may take the CPU away.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        let mut u1 = thread_usage();
        while u1.cpu_us - u0.cpu_us < 30_000 && t.elapsed() < std::time::Duration::from_secs(20) {
            for _ in 0..1000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
            }
            u1 = thread_usage();
        }
        let wall_us = t.elapsed().as_micros() as u64;
        assert!(u1.cpu_us - u0.cpu_us >= 30_000, "{u0:?} {u1:?}");
        assert!(
            u1.cpu_us - u0.cpu_us <= wall_us + 1_000,
            "{u0:?} {u1:?} in {wall_us} µs"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        let u2 = thread_usage();
        assert!(
            u2.voluntary_switches > u1.voluntary_switches,
            "a sleep blocks"
        );
        assert!(u2.cpu_us - u1.cpu_us < 10_000, "a sleep uses no CPU");
        // Another thread's work is not this thread's.
        let u3 = thread_usage();
        std::thread::spawn(|| {
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_millis(40) {
                std::hint::spin_loop();
            }
        })
        .join()
        .unwrap();
        assert!(thread_usage().cpu_us - u3.cpu_us < 20_000);
        // Fresh memory, touched page by page, faults in.
        let u4 = thread_usage();
        let fresh = vec![1u8; 8 << 20];
        std::hint::black_box(&fresh);
        assert!(thread_usage().page_faults - u4.page_faults >= 100);
    }

    #[test]
    fn a_short_callbacks_cpu_time_never_exceeds_its_wall_time() {
        // A callback's shape: a sleep, then about 30 µs of work, measured
        // the way the hosts measure it. getrusage's CPU times failed this
        // about 13 times in 2,000 here (time from before the interval
        // arriving in it); the thread's CPU clock cannot.
        let mut over = Vec::new();
        for _ in 0..2000 {
            std::thread::sleep(std::time::Duration::from_millis(1));
            let w0 = std::time::Instant::now();
            let u0 = thread_usage();
            while w0.elapsed() < std::time::Duration::from_micros(30) {
                std::hint::spin_loop();
            }
            let u1 = thread_usage();
            let wall_us = w0.elapsed().as_micros() as u64;
            let cpu_us = u1.cpu_us - u0.cpu_us;
            // 2 µs for the rounding of both readings to whole µs.
            if cpu_us > wall_us + 2 {
                over.push((cpu_us, wall_us));
            }
        }
        assert!(over.is_empty(), "CPU µs > wall µs: {over:?}");
    }

    #[test]
    fn children_cpu_time_counts_work_not_sleep() {
        let _alone = CHILD_PROCESS_TESTS.lock();
        let before = children_cpu_seconds();
        let sleep = std::process::Command::new("sleep").arg("0.3").status();
        assert!(sleep.is_ok_and(|s| s.success()));
        let slept = children_cpu_seconds() - before;
        assert!(slept < 0.1, "{slept}");
        let before = children_cpu_seconds();
        let spin = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"])
            .status();
        assert!(spin.is_ok_and(|s| s.success()));
        let spun = children_cpu_seconds() - before;
        assert!(spun > 0.1, "{spun}");
    }
}
