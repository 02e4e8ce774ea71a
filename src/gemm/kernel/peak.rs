//! The machine's peak: how many f32 FLOP/s one core can do when it does nothing but fused
//! multiply-adds on registers. Every "fraction of peak" in the bench divides by this figure,
//! measured here rather than taken from a data sheet.

/// Independent accumulator chains: enough to cover the FMA latency on both FMA units.
const CHAINS: usize = 12;

/// Runs `iterations` rounds of `CHAINS` vector FMAs and returns the f32 FLOPs done.
pub fn fma_loop(iterations: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was just detected.
            return unsafe { x86::fma_loop_avx512(iterations) };
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the features were just detected.
            return unsafe { x86::fma_loop_avx2(iterations) };
        }
    }
    portable(iterations)
}

/// A scalar loop for CPUs without the vector units above.
fn portable(iterations: usize) -> f64 {
    let mut acc = [0.0f32; CHAINS];
    let (a, b) = (
        std::hint::black_box(1.000_001f32),
        std::hint::black_box(0.999_999f32),
    );
    for _ in 0..iterations {
        for x in acc.iter_mut() {
            *x = *x * a + b;
        }
    }
    std::hint::black_box(acc);
    (iterations * CHAINS * 2) as f64
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use std::arch::x86_64::*;

    macro_rules! fma_loop {
        ($name:ident, $features:literal, $lanes:literal, $vec:ty, $splat:ident, $fmadd:ident) => {
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(iterations: usize) -> f64 {
                let a = $splat(std::hint::black_box(1.000_001f32));
                let b = $splat(std::hint::black_box(0.999_999f32));
                let mut acc: [$vec; CHAINS] = [$splat(0.0); CHAINS];
                for _ in 0..iterations {
                    for x in acc.iter_mut() {
                        *x = $fmadd(*x, a, b);
                    }
                }
                std::hint::black_box(acc);
                (iterations * CHAINS * $lanes * 2) as f64
            }
        };
    }
    fma_loop!(
        fma_loop_avx2,
        "avx2,fma",
        8,
        __m256,
        _mm256_set1_ps,
        _mm256_fmadd_ps
    );
    fma_loop!(
        fma_loop_avx512,
        "avx512f",
        16,
        __m512,
        _mm512_set1_ps,
        _mm512_fmadd_ps
    );
}
