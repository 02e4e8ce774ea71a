//! Chapter 5 (made fast in chapter 13). The per-channel sums of batch normalisation, with
//! AVX2 where the CPU has it and the plain loops beside them as the reference; and its two
//! passes over the values, compiled for AVX2 where the CPU has it (`simd::with_avx2`).
//!
//! Batch normalisation sums f32 values in f64, so that a batch's statistics keep their digits.
//! Compiled for any x86-64, that conversion is done one value at a time, and it made the
//! sums cost more than reading the values. Here [`SUMS`] running sums take value k of every
//! group of SUMS values; the AVX2 version holds them in four registers of four f64 lanes, one
//! lane per running sum, and does in each lane exactly what the plain version does (no fused
//! multiply-adds), so both give the same bits (tested below).

use crate::scalar::Real;
use crate::simd::with_avx2;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// Running sums: enough independent additions to fill the pipeline (an f64 addition takes 3-4
/// cycles, and a core starts one or two per cycle), and four AVX2 registers' worth.
pub(crate) const SUMS: usize = 16;

/// Two sets of running sums over a channel's values, filled run by run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sums {
    pub f: [f64; SUMS],
    pub h: [f64; SUMS],
}

impl Sums {
    pub(crate) fn new() -> Self {
        Sums {
            f: [0.0; SUMS],
            h: [0.0; SUMS],
        }
    }

    /// The two totals: the running sums added pairwise, in a fixed tree.
    pub(crate) fn totals(&self) -> (f64, f64) {
        (pairwise(self.f), pairwise(self.h))
    }
}

/// ((s0 + s1) + (s2 + s3)) + ...
fn pairwise(mut sums: [f64; SUMS]) -> f64 {
    let mut len = SUMS;
    while len > 1 {
        len /= 2;
        for k in 0..len {
            sums[k] = sums[2 * k] + sums[2 * k + 1];
        }
    }
    sums[0]
}

/// Adds d = x - shift to `sums.f` and d^2 to `sums.h`, for the values x of one run: value k of
/// each group of SUMS to sum k, the leftovers to sum 0.
pub(crate) fn add_shifted<T: Real>(run: &[T], shift: f64, sums: &mut Sums) {
    #[cfg(target_arch = "x86_64")]
    if let Some(run) = as_f32(run) {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2::add_shifted(run, shift, sums) };
        }
    }
    add_shifted_plain(run, shift, sums)
}

/// Adds g to `sums.f` and g * x_hat to `sums.h`, where x_hat = (x - mean) * inv_std is
/// computed in T: for the values g and x of one run.
pub(crate) fn add_gradient<T: Real>(g: &[T], x: &[T], mean: T, inv_std: T, sums: &mut Sums) {
    assert_eq!(g.len(), x.len(), "add_gradient: runs of different lengths");
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), Some(x)) = (as_f32(g), as_f32(x)) {
        if std::arch::is_x86_feature_detected!("avx2") {
            let (mean, inv_std) = (mean.to_f64() as f32, inv_std.to_f64() as f32);
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2::add_gradient(g, x, mean, inv_std, sums) };
        }
    }
    add_gradient_plain(g, x, mean, inv_std, sums)
}

/// The values as f32, when T is f32.
fn as_f32<T: Real>(values: &[T]) -> Option<&[f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: T is f32.
        unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len()) }
    })
}

/// The reference for [`add_shifted`].
pub(crate) fn add_shifted_plain<T: Real>(run: &[T], shift: f64, sums: &mut Sums) {
    let mut groups = run.chunks_exact(SUMS);
    for group in &mut groups {
        for (k, &v) in group.iter().enumerate() {
            let d = v.to_f64() - shift;
            sums.f[k] += d;
            sums.h[k] += d * d;
        }
    }
    for &v in groups.remainder() {
        let d = v.to_f64() - shift;
        sums.f[0] += d;
        sums.h[0] += d * d;
    }
}

/// The reference for [`add_gradient`].
pub(crate) fn add_gradient_plain<T: Real>(g: &[T], x: &[T], mean: T, inv_std: T, sums: &mut Sums) {
    let term = |u: T, v: T| (u.to_f64(), u.to_f64() * ((v - mean) * inv_std).to_f64());
    let (mut groups_g, mut groups_x) = (g.chunks_exact(SUMS), x.chunks_exact(SUMS));
    for (gg, gx) in (&mut groups_g).zip(&mut groups_x) {
        for k in 0..SUMS {
            let (a, b) = term(gg[k], gx[k]);
            sums.f[k] += a;
            sums.h[k] += b;
        }
    }
    for (&u, &v) in groups_g.remainder().iter().zip(groups_x.remainder()) {
        let (a, b) = term(u, v);
        sums.f[0] += a;
        sums.h[0] += b;
    }
}

/// y = gamma * ((x - mean) * inv_std) + beta for the values of one run, written into `y`:
/// batch normalisation's forward pass, compiled for AVX2 when the CPU has it (the same
/// operations in the same order, 8 lanes at a time instead of 4).
pub(crate) fn normalise_run<T: Real>(
    x: &[T],
    (mean, inv_std): (T, T),
    (gamma, beta): (T, T),
    y: &mut [MaybeUninit<T>],
) {
    with_avx2(|| normalise_run_plain(x, (mean, inv_std), (gamma, beta), y))
}

#[inline(always)]
fn normalise_run_plain<T: Real>(
    x: &[T],
    (mean, inv_std): (T, T),
    (gamma, beta): (T, T),
    y: &mut [MaybeUninit<T>],
) {
    for (y, &v) in y.iter_mut().zip(x) {
        let v_hat = (v - mean) * inv_std;
        y.write(gamma * v_hat + beta);
    }
}

/// grad_input = k * (m g - sum_g - x_hat sum_g_xhat), x_hat = (x - mean) * inv_std, for the
/// values of one run, written into `out`: batch normalisation's backward pass, compiled for
/// AVX2 when the CPU has it (as [`normalise_run`]).
pub(crate) fn input_gradient_run<T: Real>(
    g: &[T],
    x: &[T],
    stats: (T, T),
    terms: [T; 4],
    out: &mut [MaybeUninit<T>],
) {
    with_avx2(|| input_gradient_run_plain(g, x, stats, terms, out))
}

/// `terms`: [k, m, sum_g, sum_g_xhat] as T.
#[inline(always)]
fn input_gradient_run_plain<T: Real>(
    g: &[T],
    x: &[T],
    (mean, inv_std): (T, T),
    [k, m, sum_g, sum_g_xhat]: [T; 4],
    out: &mut [MaybeUninit<T>],
) {
    for (gi, (&u, &v)) in out.iter_mut().zip(g.iter().zip(x)) {
        let x_hat = (v - mean) * inv_std;
        gi.write(k * (m * u - sum_g - x_hat * sum_g_xhat));
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Sums, SUMS};
    use std::arch::x86_64::*;

    /// The running sums as four registers of four lanes: lane j of register r is sum 4r + j.
    struct Lanes {
        f: [__m256d; 4],
        h: [__m256d; 4],
    }

    impl Lanes {
        #[target_feature(enable = "avx2")]
        fn load(sums: &Sums) -> Self {
            // SAFETY: each read is 4 of the SUMS = 16 values.
            unsafe {
                let at = |s: &[f64; SUMS], r: usize| _mm256_loadu_pd(s.as_ptr().add(4 * r));
                Lanes {
                    f: [0, 1, 2, 3].map(|r| at(&sums.f, r)),
                    h: [0, 1, 2, 3].map(|r| at(&sums.h, r)),
                }
            }
        }

        #[target_feature(enable = "avx2")]
        fn store(&self, sums: &mut Sums) {
            for r in 0..4 {
                // SAFETY: each write is 4 of the SUMS = 16 values.
                unsafe {
                    _mm256_storeu_pd(sums.f.as_mut_ptr().add(4 * r), self.f[r]);
                    _mm256_storeu_pd(sums.h.as_mut_ptr().add(4 * r), self.h[r]);
                }
            }
        }
    }

    /// Values 4r..4r+4 of a group of 16 f32, as f64.
    #[target_feature(enable = "avx2")]
    fn widen(group: &[f32], r: usize) -> __m256d {
        // SAFETY: the group holds 16 values.
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(group.as_ptr().add(4 * r))) }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_shifted(run: &[f32], shift: f64, sums: &mut Sums) {
        let mut lanes = Lanes::load(sums);
        let shift_v = _mm256_set1_pd(shift);
        let mut groups = run.chunks_exact(SUMS);
        for group in &mut groups {
            for r in 0..4 {
                let d = _mm256_sub_pd(widen(group, r), shift_v);
                lanes.f[r] = _mm256_add_pd(lanes.f[r], d);
                lanes.h[r] = _mm256_add_pd(lanes.h[r], _mm256_mul_pd(d, d));
            }
        }
        lanes.store(sums);
        super::add_shifted_plain(groups.remainder(), shift, sums);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_gradient(g: &[f32], x: &[f32], mean: f32, inv_std: f32, sums: &mut Sums) {
        let mut lanes = Lanes::load(sums);
        let (mean_v, inv_std_v) = (_mm_set1_ps(mean), _mm_set1_ps(inv_std));
        let (mut groups_g, mut groups_x) = (g.chunks_exact(SUMS), x.chunks_exact(SUMS));
        for (gg, gx) in (&mut groups_g).zip(&mut groups_x) {
            for r in 0..4 {
                let u = widen(gg, r);
                // x_hat in f32, as the plain version computes it, then widened.
                // SAFETY: the group holds 16 values.
                let v = unsafe { _mm_loadu_ps(gx.as_ptr().add(4 * r)) };
                let x_hat = _mm256_cvtps_pd(_mm_mul_ps(_mm_sub_ps(v, mean_v), inv_std_v));
                lanes.f[r] = _mm256_add_pd(lanes.f[r], u);
                lanes.h[r] = _mm256_add_pd(lanes.h[r], _mm256_mul_pd(u, x_hat));
            }
        }
        lanes.store(sums);
        super::add_gradient_plain(
            groups_g.remainder(),
            groups_x.remainder(),
            mean,
            inv_std,
            sums,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(128) })]

        /// The dispatched sums (AVX2 on this CPU if it has it) give the bits of the plain
        /// loops: runs of any length (0, 1, primes, not multiples of 16), sums already started.
        #[test]
        fn fast_sums_are_the_plain_sums_bit_for_bit(
            lens in proptest::collection::vec(0usize..70, 1..5), seed in any::<u64>(),
        ) {
            let mut rng = crate::rng::Rng::new(seed);
            let mut values = |len: usize, scale: f64| -> Vec<f32> {
                (0..len).map(|_| (scale * rng.gaussian()) as f32).collect()
            };
            let (mut fast, mut plain) = (Sums::new(), Sums::new());
            let (mut fast_g, mut plain_g) = (Sums::new(), Sums::new());
            for &len in &lens {
                let (x, g) = (values(len, 3.0), values(len, 1.0));
                add_shifted(&x, 0.25, &mut fast);
                add_shifted_plain(&x, 0.25, &mut plain);
                add_gradient(&g, &x, 0.5f32, 1.5f32, &mut fast_g);
                add_gradient_plain(&g, &x, 0.5f32, 1.5f32, &mut plain_g);
            }
            prop_assert_eq!(fast, plain);
            prop_assert_eq!(fast_g, plain_g);
            prop_assert_eq!(fast.totals(), plain.totals());
        }

        /// The two passes over the values, compiled for AVX2 here if the CPU has it, give the
        /// plain loops' bits.
        #[test]
        fn fast_passes_are_the_plain_passes_bit_for_bit(len in 0usize..70, seed in any::<u64>()) {
            let mut rng = crate::rng::Rng::new(seed);
            let mut values = || -> Vec<f32> { (0..len).map(|_| rng.gaussian() as f32).collect() };
            let (x, g) = (values(), values());
            let read = |v: Vec<MaybeUninit<f32>>| -> Vec<f32> {
                // SAFETY: both passes write every value.
                v.into_iter().map(|v| unsafe { v.assume_init() }).collect()
            };
            let slots = || vec![MaybeUninit::new(f32::NAN); len];
            let (mut fast, mut plain) = (slots(), slots());
            normalise_run(&x, (0.3, 1.7), (0.9, -0.2), &mut fast);
            normalise_run_plain(&x, (0.3, 1.7), (0.9, -0.2), &mut plain);
            prop_assert_eq!(read(fast), read(plain));
            let terms = [0.01, 64.0, 1.5, -2.5];
            let (mut fast, mut plain) = (slots(), slots());
            input_gradient_run(&g, &x, (0.3, 1.7), terms, &mut fast);
            input_gradient_run_plain(&g, &x, (0.3, 1.7), terms, &mut plain);
            prop_assert_eq!(read(fast), read(plain));
        }
    }
}
