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
    supported,
};

pub(super) const F64: Kernel<f64> = Kernel {
    name: "avx2-fma 6x8",
    mr: 6,
    nr: 8,
    run: tile_f64,
    run_rows: tile_rows_f64,
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
    _mm256_mul_ps
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
    _mm256_mul_pd
);
