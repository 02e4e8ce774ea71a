//! Chapter 13. Loops compiled for AVX2 where the CPU has it.
//!
//! The crate is compiled for any x86-64, whose vector registers hold 4 f32. Element-wise loops
//! vectorise, but only that wide. [`with_avx2`] runs a closure through a function compiled with
//! AVX2 enabled. The closure is inlined there, so its loops use 8-lane registers. The operations
//! and their order do not change: Rust never fuses a multiply and an add by itself, so the bits
//! are the same as on the plain path.

/// `f()`, compiled for AVX2 when this CPU has it.
///
/// Only code inlined into the AVX2 function is compiled for AVX2. `f` is called from two places
/// (the AVX2 path and the plain one), so a large closure may be kept out of line and compiled
/// for plain x86-64 after all: mark it `#[inline(always)]` (a `perf` profile that shows the
/// closure as its own function, with `xmm` moves, is the sign).
#[inline(always)]
pub(crate) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { call_avx2(f) };
    }
    f()
}

/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn call_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
