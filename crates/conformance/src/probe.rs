//! What the audio thread did besides computing: heap allocations, system
//! calls, blocking waits and page faults, counted per thread.
//!
//! * **Allocations**: [`kmidi_dsp::alloc_probe`], which needs its counting
//!   allocator installed as the test binary's global allocator.
//!   [`allocation_counting_works`] tells whether it is.
//! * **System calls**: a Linux perf counter on the `raw_syscalls:sys_enter`
//!   tracepoint, opened for the calling thread only. It needs tracefs
//!   mounted (`mount -t tracefs nodev /sys/kernel/tracing`) and the right to
//!   open tracepoint counters (root, or `perf_event_paranoid` ≤ 1 with
//!   `CAP_PERFMON`). A lock that had to wait, a sleep, any I/O, `mmap` from
//!   an allocator that grows: each is a system call, so this is also the
//!   suite's lock check. (An uncontended lock makes no system call and
//!   cannot be seen from outside; the allocation count and the code review
//!   are the guard there.)
//! * **Blocking waits and page faults**: `getrusage(RUSAGE_THREAD)`'s
//!   voluntary context switches (the thread gave up the CPU: a lock, a
//!   sleep, blocking I/O) and minor plus major page faults (first touch of
//!   memory that `prepare` allocated but never wrote).

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use kmidi_dsp::alloc_probe::count_allocations;

/// Whether the counting allocator is installed, so that
/// [`count_allocations`] sees allocations.
pub fn allocation_counting_works() -> bool {
    let (_, stats) = count_allocations(|| std::hint::black_box(Box::new(7u64)));
    stats.allocations > 0
}

/// Where tracefs is looked for.
const TRACEFS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// `perf_event_attr`, in its first published layout (`PERF_ATTR_SIZE_VER0`,
/// 64 bytes), which every Linux since 2.6.31 accepts.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Counts the system calls the thread that opened it makes.
#[derive(Debug)]
pub struct SyscallCounter {
    fd: OwnedFd,
    /// System calls that reading the counter itself costs.
    own_cost: u64,
}

impl SyscallCounter {
    /// Opens a counter for the calling thread.
    ///
    /// # Errors
    /// A one-line reason when the machine does not allow it, with the fix.
    pub fn for_this_thread() -> Result<Self, String> {
        let id = TRACEFS
            .iter()
            .find_map(|root| {
                fs::read_to_string(format!("{root}/events/raw_syscalls/sys_enter/id")).ok()
            })
            .ok_or_else(|| {
                "tracefs is not mounted (as root: mount -t tracefs nodev /sys/kernel/tracing)"
                    .to_string()
            })?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| format!("unreadable tracepoint id {id:?}"))?;
        let attr = PerfEventAttr {
            kind: PERF_TYPE_TRACEPOINT,
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: id,
            ..Default::default()
        };
        // SAFETY: perf_event_open reads `size` bytes from a valid, fully
        // initialised attr struct that outlives the call; pid 0 / cpu -1
        // means "this thread, any CPU"; group -1 means no group. The result
        // is a new file descriptor or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            return Err(format!(
                "perf_event_open on the syscall tracepoint failed: {err} (needs root or CAP_PERFMON)"
            ));
        }
        // SAFETY: `fd` is a file descriptor the kernel just returned to us
        // and nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        let mut counter = Self { fd, own_cost: 0 };
        let a = counter.read();
        let b = counter.read();
        counter.own_cost = b.saturating_sub(a);
        Ok(counter)
    }

    /// The count so far (the reads themselves included): one `read`.
    pub fn read(&self) -> u64 {
        let mut value = 0u64;
        // SAFETY: reads at most 8 bytes into a live u64 through a
        // descriptor this struct owns.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast::<libc::c_void>(),
                std::mem::size_of::<u64>(),
            )
        };
        if n == std::mem::size_of::<u64>() as isize {
            value
        } else {
            0
        }
    }

    /// System calls between two readings `before` and `after`, less what
    /// the readings cost.
    pub fn between(&self, before: u64, after: u64) -> u64 {
        after.saturating_sub(before).saturating_sub(self.own_cost)
    }
}

/// Voluntary context switches and page faults of the calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadUsage {
    /// Times the thread gave up the CPU (waited on something).
    pub voluntary_switches: u64,
    /// Minor and major page faults.
    pub page_faults: u64,
}

impl ThreadUsage {
    /// Reads the calling thread's counters (`getrusage(RUSAGE_THREAD)`).
    pub fn now() -> Self {
        const RUSAGE_THREAD: libc::c_int = 1;
        // SAFETY: rusage is plain old data, valid when zeroed.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes one rusage into the valid pointer given.
        let rc = unsafe { libc::getrusage(RUSAGE_THREAD, &mut usage) };
        if rc != 0 {
            return Self::default();
        }
        Self {
            voluntary_switches: usage.ru_nvcsw as u64,
            page_faults: (usage.ru_minflt + usage.ru_majflt) as u64,
        }
    }

    /// What happened between `self` and `later`.
    pub fn until(self, later: Self) -> Self {
        Self {
            voluntary_switches: later
                .voluntary_switches
                .saturating_sub(self.voluntary_switches),
            page_faults: later.page_faults.saturating_sub(self.page_faults),
        }
    }
}
