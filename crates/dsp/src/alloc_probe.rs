//! Counting allocations on the current thread: the tool behind every
//! "process never allocates" test, and behind the lab's audio-thread
//! allocation count.
//!
//! Install [`CountingAllocator`] as the global allocator of a test binary (or
//! of the lab's binary), then wrap the code under test in
//! [`count_allocations`]. Counting is per thread, so other test threads and
//! the harness do not disturb the figure.
//!
//! ```
//! use kmidi_dsp::alloc_probe::{count_allocations, CountingAllocator};
//! // In a test binary: #[global_allocator] static A: CountingAllocator = CountingAllocator;
//! let (len, stats) = count_allocations(|| vec![1u8; 16].len());
//! assert_eq!(len, 16);
//! // Without the allocator installed the counts are zero; with it, 1.
//! assert!(stats.allocations <= 1);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static FREES: Cell<u64> = const { Cell::new(0) };
}

/// What happened on this thread while counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocationStats {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Bytes requested by those calls.
    pub bytes: u64,
    /// Calls to `dealloc`.
    pub deallocations: u64,
}

/// The system allocator, plus per-thread counting while armed.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

#[inline]
fn record(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
            let _ = BYTES.try_with(|c| c.set(c.get() + size as u64));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the bookkeeping only touches const-initialised thread-locals
// (which never allocate) through `try_with`, so it cannot recurse or fail.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded from our caller, who upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = ARMED.try_with(|armed| {
            if armed.get() {
                let _ = FREES.try_with(|c| c.set(c.get() + 1));
            }
        });
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and counts the heap operations it makes on this thread.
/// Counting nests: an inner call's operations also count for the outer one.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, AllocationStats) {
    let before = snapshot();
    let was_armed = ARMED.with(|a| a.replace(true));
    let out = f();
    ARMED.with(|a| a.set(was_armed));
    let after = snapshot();
    (
        out,
        AllocationStats {
            allocations: after.allocations - before.allocations,
            bytes: after.bytes - before.bytes,
            deallocations: after.deallocations - before.deallocations,
        },
    )
}

fn snapshot() -> AllocationStats {
    AllocationStats {
        allocations: ALLOCS.with(Cell::get),
        bytes: BYTES.with(Cell::get),
        deallocations: FREES.with(Cell::get),
    }
}
