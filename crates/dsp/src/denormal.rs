//! Flush-to-zero / denormals-are-zero for the audio thread.
//!
//! A recursive filter fed a decaying tail walks its state down into the
//! subnormal range, where x86 arithmetic can be 100 times slower. Hosts set
//! FTZ and DAZ on their audio threads; [`DenormalGuard`] does the same for
//! ours and restores the previous mode when dropped. (Every filter in this
//! crate also flushes tiny state at block ends, so it stays fast even
//! without the guard.)

/// Sets flush-to-zero (and denormals-are-zero where the CPU has it) for the
/// current thread while alive; restores the previous control word on drop.
///
/// ```
/// use kmidi_dsp::denormal::DenormalGuard;
/// let _guard = DenormalGuard::new();
/// let tiny = std::hint::black_box(f32::MIN_POSITIVE);
/// # #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
/// assert_eq!(std::hint::black_box(tiny * 0.5), 0.0);
/// ```
#[derive(Debug)]
pub struct DenormalGuard {
    previous: usize,
    // Not Send: the mode belongs to the thread that set it.
    _not_send: std::marker::PhantomData<*const ()>,
}

#[cfg(target_arch = "x86_64")]
mod imp {
    /// MXCSR bit 15: flush to zero; bit 6: denormals are zero.
    const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    pub fn read() -> usize {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr stores the SSE control/status register to the
        // given 4-byte location, which is a valid local; SSE is part of the
        // x86_64 baseline.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
        }
        csr as usize
    }

    pub fn write(csr: usize) {
        let csr = csr as u32;
        // SAFETY: ldmxcsr loads a control word read from this thread's own
        // MXCSR with only the FTZ/DAZ bits changed; these bits change
        // rounding of subnormals only and cannot fault.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly));
        }
    }

    pub fn with_flush(csr: usize) -> usize {
        csr | FTZ_DAZ as usize
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    /// FPCR bit 24: flush to zero (inputs and outputs on AArch64).
    const FZ: usize = 1 << 24;

    pub fn read() -> usize {
        let fpcr: usize;
        // SAFETY: reading FPCR has no side effects.
        unsafe {
            std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
        fpcr
    }

    pub fn write(fpcr: usize) {
        // SAFETY: writes back a value read from FPCR with only the FZ bit
        // changed, which affects subnormal handling only.
        unsafe {
            std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack, preserves_flags));
        }
    }

    pub fn with_flush(fpcr: usize) -> usize {
        fpcr | FZ
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod imp {
    pub fn read() -> usize {
        0
    }
    pub fn write(_: usize) {}
    pub fn with_flush(v: usize) -> usize {
        v
    }
}

impl DenormalGuard {
    /// Turns on flush-to-zero for this thread.
    pub fn new() -> Self {
        let previous = imp::read();
        imp::write(imp::with_flush(previous));
        Self {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Whether flush-to-zero is on for this thread now.
    pub fn is_active() -> bool {
        let now = imp::read();
        now == imp::with_flush(now) && cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))
    }
}

impl Default for DenormalGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DenormalGuard {
    fn drop(&mut self) {
        imp::write(self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn guard_flushes_and_restores() {
        let tiny = black_box(f32::MIN_POSITIVE);
        assert!(black_box(tiny * 0.5) > 0.0, "subnormals exist by default");
        {
            let _g = DenormalGuard::new();
            assert!(DenormalGuard::is_active());
            assert_eq!(black_box(tiny * 0.5), 0.0);
        }
        assert!(!DenormalGuard::is_active());
        assert!(black_box(tiny * 0.5) > 0.0, "mode restored on drop");
    }
}
