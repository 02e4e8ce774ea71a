//! AVX2 + FMA kernels (256-bit registers: 8 f32 or 4 f64 lanes).
//!
//! Register plan for f32, a 6 x 16 tile (16 ymm registers in all):
//!
//! ```text
//!            b0 (8 lanes)   b1 (8 lanes)      <- one row of the B panel, 2 loads
//!   a[0] -> acc0[0]         acc1[0]
//!   ...                                         <- each a[i] is broadcast to all lanes
//!   a[5] -> acc0[5]         acc1[5]            12 accumulators, 2 for B, 1 for a broadcast
//! ```
//!
//! Each step of k does 12 fused multiply-adds against 8 loads, enough to keep both FMA units of
//! a core busy. f64 uses the same plan with 4 lanes (a 6 x 8 tile).

use super::Kernel;
use std::arch::x86_64::*;

fn supported() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

pub(super) const F32: Kernel<f32> = Kernel {
    name: "avx2-fma 6x16",
    mr: 6,
    nr: 16,
    run: tile_f32,
    run_rows: tile_rows_f32,
    run_rows_stream: Some(tile_rows_stream_f32),
    dots: dots_f32,
    thin: thin_f32,
    thin_width: 32,
    supported,
};

pub(super) const F64: Kernel<f64> = Kernel {
    name: "avx2-fma 6x8",
    mr: 6,
    nr: 8,
    run: tile_f64,
    run_rows: tile_rows_f64,
    run_rows_stream: Some(tile_rows_stream_f64),
    dots: dots_f64,
    thin: thin_f64,
    thin_width: 16,
    supported,
};

super::x86_tile_kernel!(
    tile_f32,
    tile_rows_f32,
    "avx2,fma",
    f32,
    6,
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    stream: tile_rows_stream_f32 = _mm256_stream_ps
);
super::x86_tile_kernel!(
    tile_f64,
    tile_rows_f64,
    "avx2,fma",
    f64,
    6,
    4,
    __m256d,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_mul_pd,
    stream: tile_rows_stream_f64 = _mm256_stream_pd
);

super::x86_dots_kernel!(
    dots_f32,
    dots_tile_f32,
    "avx2,fma",
    f32,
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_fmadd_ps,
    4,
    lane_sums_f32
);
super::x86_dots_kernel!(
    dots_f64,
    dots_tile_f64,
    "avx2,fma",
    f64,
    4,
    __m256d,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_fmadd_pd,
    2,
    lane_sums_f64
);

/// The lanes of 4 registers added up, each as [`super::lanes_sum`] does, in 3 horizontal adds:
/// neighbours, then pairs, then the two 128-bit halves.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn lane_sums_f32(v: [__m256; 4]) -> [f32; 4] {
    let pairs = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    let halves = _mm_add_ps(
        _mm256_castps256_ps128(pairs),
        _mm256_extractf128_ps(pairs, 1),
    );
    let mut out = [0.0; 4];
    _mm_storeu_ps(out.as_mut_ptr(), halves);
    out
}

/// The lanes of 2 registers of f64 added up, each as [`super::lanes_sum`] does.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn lane_sums_f64(v: [__m256d; 2]) -> [f64; 2] {
    let pairs = _mm256_hadd_pd(v[0], v[1]);
    let halves = _mm_add_pd(
        _mm256_castpd256_pd128(pairs),
        _mm256_extractf128_pd(pairs, 1),
    );
    let mut out = [0.0; 2];
    _mm_storeu_pd(out.as_mut_ptr(), halves);
    out
}

super::x86_thin_kernel!(
    thin_f32,
    "avx2,fma",
    f32,
    8,
    __m256,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps
);
super::x86_thin_kernel!(
    thin_f64,
    "avx2,fma",
    f64,
    4,
    __m256d,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd
);
