//! A wait-free single-producer single-consumer ring buffer for `T: Copy`.
//!
//! * Capacity is rounded up to a power of two, so wrapping is a mask.
//! * The read and write indices are free-running counters, each on its own
//!   128-byte cache line (no false sharing between the two threads).
//! * Each side keeps a cached copy of the other side's index and only reloads
//!   it when the cached value says the buffer is full (or empty), so most
//!   calls touch no shared cache line but their own.
//! * Slice pushes and pops copy with at most two `memcpy`s (one before the
//!   wrap, one after).
//!
//! The protocol: the producer writes slots, then publishes the new write
//! index with `Release`; the consumer loads it with `Acquire`, so it sees
//! the slot contents. Symmetrically, the consumer publishes the read index
//! with `Release` after copying out, and the producer's `Acquire` load of it
//! orders its later writes after those reads. `tests/loom_ring.rs` checks
//! this under every interleaving loom can find, and `scripts/memcheck.sh`
//! runs the ring tests under valgrind.
//!
//! ```
//! let (mut tx, mut rx) = kmidi_dsp::ring::channel::<f32>(1000);
//! assert_eq!(tx.capacity(), 1024);
//! tx.push_entire_slice(&[1.0, 2.0, 3.0]).unwrap();
//! let mut out = [0.0; 3];
//! rx.pop_entire_slice(&mut out).unwrap();
//! assert_eq!(out, [1.0, 2.0, 3.0]);
//! ```

use std::fmt;
use std::mem::MaybeUninit;

#[cfg(loom)]
use loom::sync::Arc;
#[cfg(loom)]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::Arc;
#[cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest capacity [`channel`] accepts (2^30 elements).
pub const MAX_CAPACITY: usize = 1 << 30;

#[cfg(not(loom))]
#[repr(transparent)]
struct Slot<T>(std::cell::UnsafeCell<MaybeUninit<T>>);

#[cfg(not(loom))]
impl<T> Slot<T> {
    fn new() -> Self {
        Self(std::cell::UnsafeCell::new(MaybeUninit::uninit()))
    }
}

#[cfg(loom)]
struct Slot<T>(loom::cell::UnsafeCell<MaybeUninit<T>>);

#[cfg(loom)]
impl<T> Slot<T> {
    fn new() -> Self {
        Self(loom::cell::UnsafeCell::new(MaybeUninit::uninit()))
    }
}

/// Pads and aligns a value to 128 bytes (two 64-byte lines: adjacent-line
/// prefetchers on x86 pull pairs of lines).
#[repr(align(128))]
struct CachePadded<T>(T);

struct Shared<T> {
    /// Next slot the consumer reads (written by the consumer only).
    read: CachePadded<AtomicUsize>,
    /// Next slot the producer writes (written by the producer only).
    write: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    mask: usize,
}

// SAFETY: a slot is only ever accessed by one side at a time: the producer
// writes slots in [write, read + capacity), the consumer reads slots in
// [read, write), and the index protocol (module docs) keeps the ranges
// disjoint. T: Copy + Send, so moving values between threads is fine.
unsafe impl<T: Copy + Send> Sync for Shared<T> {}
// SAFETY: as above; the buffer owns plain Copy data.
unsafe impl<T: Copy + Send> Send for Shared<T> {}

impl<T: Copy> Shared<T> {
    /// Copies `src` into the slots starting at counter `start` (wrapping).
    ///
    /// # Safety
    /// The caller must own slots `start .. start + src.len()` (they are free
    /// and not visible to the consumer), and `src.len() <= capacity`.
    unsafe fn copy_in(&self, start: usize, src: &[T]) {
        let cap = self.mask + 1;
        let first = start & self.mask;
        let n1 = src.len().min(cap - first);
        #[cfg(not(loom))]
        {
            let base = self.slots.as_ptr() as *mut T;
            // SAFETY: Slot<T> is repr(transparent) over UnsafeCell<MaybeUninit<T>>,
            // which has T's layout, so `base` addresses `cap` consecutive T
            // inside UnsafeCells; [first, first + n1) and [0, len - n1) are in
            // bounds and owned by the caller (function contract).
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), base.add(first), n1);
                std::ptr::copy_nonoverlapping(src.as_ptr().add(n1), base, src.len() - n1);
            }
        }
        #[cfg(loom)]
        {
            for (i, v) in src.iter().enumerate() {
                let idx = (first + i) & self.mask;
                self.slots[idx].0.with_mut(|p| {
                    // SAFETY: loom checks this access against the protocol.
                    unsafe { (*p).write(*v) };
                });
            }
            let _ = n1;
        }
    }

    /// Copies the slots starting at counter `start` into `dst`.
    ///
    /// # Safety
    /// The caller must own slots `start .. start + len` (published by the
    /// producer and not yet released), `len <= capacity`, and `dst` must be
    /// valid for `len` writes of `T`.
    unsafe fn copy_out(&self, start: usize, dst: *mut T, len: usize) {
        let cap = self.mask + 1;
        let first = start & self.mask;
        let n1 = len.min(cap - first);
        #[cfg(not(loom))]
        {
            let base = self.slots.as_ptr() as *const T;
            // SAFETY: as in copy_in; the slots were initialised by the
            // producer before it published them, and `dst` is valid for
            // `len` writes (function contract).
            unsafe {
                std::ptr::copy_nonoverlapping(base.add(first), dst, n1);
                std::ptr::copy_nonoverlapping(base, dst.add(n1), len - n1);
            }
        }
        #[cfg(loom)]
        {
            for i in 0..len {
                let idx = (first + i) & self.mask;
                self.slots[idx].0.with(|p| {
                    // SAFETY: loom checks the slot access against the
                    // protocol; `dst` is valid for `len` writes.
                    unsafe { dst.add(i).write((*p).assume_init()) };
                });
            }
            let _ = n1;
        }
    }
}

/// Why a whole-slice push or pop did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientSpace {
    /// Elements asked for.
    pub requested: usize,
    /// Elements (or free slots) that were available.
    pub available: usize,
}

impl fmt::Display for InsufficientSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ring buffer: {} elements requested but only {} available",
            self.requested, self.available
        )
    }
}

impl std::error::Error for InsufficientSpace {}

/// Creates a ring buffer holding at least `capacity` elements (rounded up
/// to a power of two, at least 1, at most [`MAX_CAPACITY`]). Allocates once,
/// here.
pub fn channel<T: Copy + Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let cap = capacity.clamp(1, MAX_CAPACITY).next_power_of_two();
    let slots: Box<[Slot<T>]> = (0..cap).map(|_| Slot::new()).collect();
    let shared = Arc::new(Shared {
        read: CachePadded(AtomicUsize::new(0)),
        write: CachePadded(AtomicUsize::new(0)),
        slots,
        mask: cap - 1,
    });
    (
        Producer {
            shared: Arc::clone(&shared),
            write: 0,
            cached_read: 0,
        },
        Consumer {
            shared,
            read: 0,
            cached_write: 0,
        },
    )
}

/// The writing end. `Send`, not `Clone`: there is exactly one producer.
pub struct Producer<T: Copy + Send> {
    shared: Arc<Shared<T>>,
    write: usize,
    cached_read: usize,
}

/// The reading end. `Send`, not `Clone`: there is exactly one consumer.
pub struct Consumer<T: Copy + Send> {
    shared: Arc<Shared<T>>,
    read: usize,
    cached_write: usize,
}

impl<T: Copy + Send> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("write", &self.write)
            .finish()
    }
}

impl<T: Copy + Send> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &(self.shared.mask + 1))
            .field("read", &self.read)
            .finish()
    }
}

impl<T: Copy + Send> Producer<T> {
    /// Number of elements the buffer holds when full.
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    #[inline]
    fn free_slots(&mut self, wanted: usize) -> usize {
        let cap = self.shared.mask + 1;
        let mut free = cap - self.write.wrapping_sub(self.cached_read);
        if free < wanted {
            self.cached_read = self.shared.read.0.load(Ordering::Acquire);
            free = cap - self.write.wrapping_sub(self.cached_read);
        }
        free
    }

    /// Free slots right now (may grow as the consumer reads).
    pub fn slots(&mut self) -> usize {
        self.free_slots(usize::MAX)
    }

    /// Pushes one element, or gives it back if the buffer is full.
    ///
    /// # Errors
    /// `Err(value)` when full.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.free_slots(1) == 0 {
            return Err(value);
        }
        // SAFETY: one free slot at `write` is owned by the producer.
        unsafe {
            self.shared
                .copy_in(self.write, std::slice::from_ref(&value))
        };
        self.write = self.write.wrapping_add(1);
        self.shared.write.0.store(self.write, Ordering::Release);
        Ok(())
    }

    /// Pushes as many elements of `src` as fit; returns how many.
    #[inline]
    pub fn push_slice(&mut self, src: &[T]) -> usize {
        let n = self.free_slots(src.len()).min(src.len());
        if n == 0 {
            return 0;
        }
        // SAFETY: `n` free slots from `write` are owned by the producer.
        unsafe { self.shared.copy_in(self.write, &src[..n]) };
        self.write = self.write.wrapping_add(n);
        self.shared.write.0.store(self.write, Ordering::Release);
        n
    }

    /// Pushes all of `src`, or nothing if it does not fit.
    ///
    /// # Errors
    /// [`InsufficientSpace`] when fewer than `src.len()` slots are free.
    #[inline]
    pub fn push_entire_slice(&mut self, src: &[T]) -> Result<(), InsufficientSpace> {
        let free = self.free_slots(src.len());
        if free < src.len() {
            return Err(InsufficientSpace {
                requested: src.len(),
                available: free,
            });
        }
        // SAFETY: at least `src.len()` free slots from `write` are owned by the producer.
        unsafe { self.shared.copy_in(self.write, src) };
        self.write = self.write.wrapping_add(src.len());
        self.shared.write.0.store(self.write, Ordering::Release);
        Ok(())
    }

    /// Whether the consumer has been dropped.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) < 2
    }
}

impl<T: Copy + Send> Consumer<T> {
    /// Number of elements the buffer holds when full.
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    #[inline]
    fn available(&mut self, wanted: usize) -> usize {
        let mut avail = self.cached_write.wrapping_sub(self.read);
        if avail < wanted {
            self.cached_write = self.shared.write.0.load(Ordering::Acquire);
            avail = self.cached_write.wrapping_sub(self.read);
        }
        avail
    }

    /// Elements ready to read right now.
    pub fn len(&mut self) -> usize {
        self.available(usize::MAX)
    }

    /// Whether nothing is ready to read.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Pops one element, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            return None;
        }
        let mut out = MaybeUninit::<T>::uninit();
        // SAFETY: one published slot at `read` is owned by the consumer;
        // copy_out writes one initialised T to `out`, which is then read.
        let v = unsafe {
            self.shared.copy_out(self.read, out.as_mut_ptr(), 1);
            out.assume_init()
        };
        self.read = self.read.wrapping_add(1);
        self.shared.read.0.store(self.read, Ordering::Release);
        Some(v)
    }

    /// Pops up to `dst.len()` elements into `dst`; returns how many.
    #[inline]
    pub fn pop_slice(&mut self, dst: &mut [T]) -> usize {
        let n = self.available(dst.len()).min(dst.len());
        if n == 0 {
            return 0;
        }
        // SAFETY: `n` published slots from `read` are owned by the consumer.
        unsafe { self.shared.copy_out(self.read, dst.as_mut_ptr(), n) };
        self.read = self.read.wrapping_add(n);
        self.shared.read.0.store(self.read, Ordering::Release);
        n
    }

    /// Fills all of `dst`, or reads nothing if too few elements are ready.
    ///
    /// # Errors
    /// [`InsufficientSpace`] when fewer than `dst.len()` elements are ready.
    #[inline]
    pub fn pop_entire_slice(&mut self, dst: &mut [T]) -> Result<(), InsufficientSpace> {
        let avail = self.available(dst.len());
        if avail < dst.len() {
            return Err(InsufficientSpace {
                requested: dst.len(),
                available: avail,
            });
        }
        // SAFETY: at least `dst.len()` published slots from `read` are owned by the consumer.
        unsafe { self.shared.copy_out(self.read, dst.as_mut_ptr(), dst.len()) };
        self.read = self.read.wrapping_add(dst.len());
        self.shared.read.0.store(self.read, Ordering::Release);
        Ok(())
    }

    /// Drops up to `n` elements without reading them; returns how many.
    pub fn skip(&mut self, n: usize) -> usize {
        let n = self.available(n).min(n);
        self.read = self.read.wrapping_add(n);
        self.shared.read.0.store(self.read, Ordering::Release);
        n
    }

    /// Whether the producer has been dropped.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) < 2
    }
}
