//! The lab's global allocator: per-thread allocation counting (for the
//! audio thread's "must be 0"), switchable to dhat's heap profiler for
//! `kmidi-perf profile --memory`.
//!
//! Both paths end in the system allocator, so a block allocated by one and
//! freed by the other is freed correctly: dhat only adds bookkeeping, and
//! it ignores frees of blocks it never saw.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

use kmidi_dsp::alloc_probe::CountingAllocator;

static HEAP_PROFILING: AtomicBool = AtomicBool::new(false);

/// Counting by default; dhat while [`heap_profiling`] is on. Install it in
/// a binary with `#[global_allocator] static A: LabAllocator = LabAllocator;`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LabAllocator;

/// Routes every allocation through dhat (`true`) or the counting
/// allocator (`false`). Start the `dhat::Profiler` after turning it on.
pub fn set_heap_profiling(on: bool) {
    HEAP_PROFILING.store(on, Ordering::SeqCst);
}

/// Whether allocations go through dhat.
pub fn heap_profiling() -> bool {
    HEAP_PROFILING.load(Ordering::Relaxed)
}

// SAFETY: every method forwards its arguments unchanged to one of two
// allocators that both implement `GlobalAlloc` over `System`: the counting
// allocator (System plus thread-local counters) or dhat's (System plus a
// table it keys by address and tolerates misses in). Whichever path a block
// was allocated on, the memory itself is `System`'s, so freeing or
// reallocating it through either path is a `System` call with the
// original layout, as `GlobalAlloc` requires.
unsafe impl GlobalAlloc for LabAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if heap_profiling() {
            // SAFETY: forwarded from our caller, who upholds `alloc`'s contract.
            unsafe { dhat::Alloc.alloc(layout) }
        } else {
            // SAFETY: as above.
            unsafe { CountingAllocator.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if heap_profiling() {
            // SAFETY: as for `alloc`.
            unsafe { dhat::Alloc.alloc_zeroed(layout) }
        } else {
            // SAFETY: as for `alloc`.
            unsafe { CountingAllocator.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if heap_profiling() {
            // SAFETY: `ptr` came from `System` through one of the two paths
            // (see the impl's comment), with this layout.
            unsafe { dhat::Alloc.dealloc(ptr, layout) }
        } else {
            // SAFETY: as above.
            unsafe { CountingAllocator.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if heap_profiling() {
            // SAFETY: as for `dealloc`.
            unsafe { dhat::Alloc.realloc(ptr, layout, new_size) }
        } else {
            // SAFETY: as for `dealloc`.
            unsafe { CountingAllocator.realloc(ptr, layout, new_size) }
        }
    }
}
