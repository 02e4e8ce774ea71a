//! AVX-512 kernels (512-bit registers: 16 f32 or 8 f64 lanes).
//!
//! The same plan as the AVX2 kernels, written by the same macro, with twice the lanes and twice
//! the registers: an 8 x 32 tile of f32 keeps 16 accumulators in 32 zmm registers.

use super::Kernel;
use std::arch::x86_64::*;

fn supported() -> bool {
    is_x86_feature_detected!("avx512f")
}

pub(super) const F32: Kernel<f32> = Kernel {
    name: "avx512 8x32",
    mr: 8,
    nr: 32,
    run: tile_f32,
    run_rows: tile_rows_f32,
    run_rows_stream: None,
    // Every AVX-512 CPU has AVX2 and FMA, and 12 sums of 16 lanes would gain nothing: the
    // dot-product form serves short tiles, whose time is in the loads.
    dots: super::x86_avx2::dots_f32,
    thin: super::x86_avx2::thin_f32,
    thin_width: 32,
    supported,
};

pub(super) const F64: Kernel<f64> = Kernel {
    name: "avx512 8x16",
    mr: 8,
    nr: 16,
    run: tile_f64,
    run_rows: tile_rows_f64,
    run_rows_stream: None,
    dots: super::x86_avx2::dots_f64,
    thin: super::x86_avx2::thin_f64,
    thin_width: 16,
    supported,
};

super::x86_tile_kernel!(
    tile_f32,
    tile_rows_f32,
    "avx512f",
    f32,
    8,
    16,
    __m512,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps
);
super::x86_tile_kernel!(
    tile_f64,
    tile_rows_f64,
    "avx512f",
    f64,
    8,
    8,
    __m512d,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd
);
