//! A preload library that makes a process's monotonic clock read the
//! calling thread's CPU time.
//!
//! Criterion times a bench with [`std::time::Instant`], which on Linux is
//! `clock_gettime(CLOCK_MONOTONIC)`. Loaded with `LD_PRELOAD`, this library
//! defines `clock_gettime` before glibc does and answers `CLOCK_MONOTONIC`
//! with `CLOCK_THREAD_CPUTIME_ID`; every other clock is passed through. An
//! unmodified Criterion bench executable then measures the CPU time of the
//! thread that runs the bench, so the time another process held the CPU
//! (preemption by a compiler on a shared runner) is not counted.
//!
//! `kmidi-perf ab --clock thread-cpu` builds this crate from the source it
//! carries and preloads it into every measuring process. What the signal
//! cannot see: work on other threads (a bench that hands work to a worker
//! thread and blocks is under-counted; one that spins while waiting is
//! counted in full) and time spent blocked in the kernel. Cache and
//! memory-bandwidth contention from the other tenant still slow the
//! thread, and are still counted.
//!
//! Only glibc's own exported entry point is replaced: glibc's internal
//! uses of the clock (timed waits, `sleep`) do not go through it, so
//! sleeping and timeouts keep working. `Instant`s taken on different
//! threads are no longer comparable, which Criterion's measurement loop
//! does not need.
//!
//! Linux with glibc only (`dlsym(RTLD_NEXT, …)` finds glibc's function).

#![cfg(target_os = "linux")]

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};

/// Linux's `CLOCK_MONOTONIC`, the clock `Instant` reads.
pub const CLOCK_MONOTONIC: c_int = 1;
/// Linux's `CLOCK_THREAD_CPUTIME_ID`: CPU time of the calling thread.
pub const CLOCK_THREAD_CPUTIME_ID: c_int = 3;

/// glibc's `RTLD_NEXT` pseudo-handle: the next object in search order.
const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;

/// `ENOSYS`, for the case where no next `clock_gettime` exists.
const ENOSYS: c_int = 38;

/// The C signature of `clock_gettime`.
type ClockGettime = unsafe extern "C" fn(c_int, *mut c_void) -> c_int;

unsafe extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn __errno_location() -> *mut c_int;
}

/// glibc's `clock_gettime`, found once.
static NEXT_CLOCK_GETTIME: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// The next definition of `clock_gettime` in the search order (glibc's).
fn next_clock_gettime() -> Option<ClockGettime> {
    let mut found = NEXT_CLOCK_GETTIME.load(Ordering::Acquire);
    if found.is_null() {
        // SAFETY: `dlsym` with the `RTLD_NEXT` pseudo-handle and a
        // NUL-terminated name is its documented use; it returns the
        // address of the next definition of that symbol, or null.
        found = unsafe { dlsym(RTLD_NEXT, c"clock_gettime".as_ptr()) };
        if found.is_null() {
            return None;
        }
        NEXT_CLOCK_GETTIME.store(found, Ordering::Release);
    }
    // SAFETY: `found` is the non-null address of the next
    // `clock_gettime`, a C function with exactly this signature.
    Some(unsafe { core::mem::transmute::<*mut c_void, ClockGettime>(found) })
}

/// The clock this library reads in place of `clock`.
pub fn replacement_clock(clock: c_int) -> c_int {
    if clock == CLOCK_MONOTONIC {
        CLOCK_THREAD_CPUTIME_ID
    } else {
        clock
    }
}

/// `clock_gettime(2)`, with `CLOCK_MONOTONIC` read as the calling thread's
/// CPU time.
///
/// # Safety
/// As for the C function: `tp` must be valid for writing one
/// `struct timespec`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_gettime(clock: c_int, tp: *mut c_void) -> c_int {
    match next_clock_gettime() {
        // SAFETY: the caller's own `tp`, which the caller guarantees, and a
        // valid clock id, passed to glibc's function.
        Some(next) => unsafe { next(replacement_clock(clock), tp) },
        None => {
            // SAFETY: `__errno_location` returns the calling thread's
            // errno, always valid for writing.
            unsafe { *__errno_location() = ENOSYS };
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    //! The test binary links this crate in, so its own `Instant` reads the
    //! replacement, as a preloaded process's does.

    use std::time::{Duration, Instant, SystemTime};

    #[test]
    fn monotonic_time_stops_while_the_thread_sleeps() {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(200));
        let counted = start.elapsed();
        assert!(
            counted < Duration::from_millis(20),
            "a 200 ms sleep counted {counted:?} of CPU time"
        );
    }

    #[test]
    fn monotonic_time_counts_the_threads_work() {
        // Spin until the replaced clock has counted 50 ms. The thread may
        // lose the CPU to other tests or tenants, so the bound is generous
        // wall time; the clock must get there, and never count more than
        // the wall clock saw.
        let wall = SystemTime::now();
        let start = Instant::now();
        let mut x = 1u64;
        let mut counted = Duration::ZERO;
        while counted < Duration::from_millis(50)
            && wall.elapsed().unwrap_or_default() < Duration::from_secs(20)
        {
            for _ in 0..1000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            counted = start.elapsed();
        }
        let walled = wall.elapsed().unwrap_or_default();
        assert!(
            counted >= Duration::from_millis(50) && counted <= walled + Duration::from_millis(1),
            "spinning counted {counted:?} of CPU time in {walled:?}"
        );
    }

    #[test]
    fn other_clocks_pass_through() {
        assert_eq!(super::replacement_clock(0), 0); // CLOCK_REALTIME
        assert_eq!(super::replacement_clock(7), 7); // CLOCK_BOOTTIME
        assert_eq!(
            super::replacement_clock(super::CLOCK_MONOTONIC),
            super::CLOCK_THREAD_CPUTIME_ID
        );
        let mut ts = [0i64; 2];
        // SAFETY: a `struct timespec` is two 64-bit words on 64-bit Linux.
        let rc = unsafe { super::clock_gettime(0, ts.as_mut_ptr().cast()) };
        assert_eq!(rc, 0);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        assert!((ts[0] - now).abs() <= 2, "realtime {} vs {now}", ts[0]);
    }
}
