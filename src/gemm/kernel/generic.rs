//! The portable kernel: plain Rust that any CPU runs (and that LLVM vectorises where it can).
//! No fused multiply-add: without hardware FMA, `mul_add` would be a slow library call.

use super::{always, Kernel};
use crate::scalar::Real;

const MR: usize = 4;
const NR: usize = 8;

pub(super) const F32: Kernel<f32> = Kernel {
    name: "generic 4x8",
    mr: MR,
    nr: NR,
    run: tile::<f32>,
    run_rows: tile_rows::<f32>,
    run_rows_stream: None,
    dots: dots::<f32>,
    thin: thin::<f32>,
    thin_width: 32,
    supported: always,
};

pub(super) const F64: Kernel<f64> = Kernel {
    name: "generic 4x8",
    mr: MR,
    nr: NR,
    run: tile::<f64>,
    run_rows: tile_rows::<f64>,
    run_rows_stream: None,
    dots: dots::<f64>,
    thin: thin::<f64>,
    thin_width: 16,
    supported: always,
};

/// # Safety
/// See [`super::KernelFn`].
unsafe fn tile<T: Real>(
    k: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
    rsc: usize,
    alpha: T,
    beta: T,
) {
    let b = std::slice::from_raw_parts(b, k * NR);
    tile_body(k, a, |p| &b[p * NR..p * NR + NR], c, rsc, alpha, beta)
}

/// # Safety
/// See [`super::KernelRowsFn`].
#[allow(clippy::too_many_arguments)]
unsafe fn tile_rows<T: Real>(
    k: usize,
    a: *const T,
    b: *const T,
    offsets: *const usize,
    c: *mut T,
    rsc: usize,
    alpha: T,
    beta: T,
) {
    let offsets = std::slice::from_raw_parts(offsets, k);
    tile_body(
        k,
        a,
        |p| std::slice::from_raw_parts(b.add(offsets[p]), NR),
        c,
        rsc,
        alpha,
        beta,
    )
}

/// The tile, with row p of B given by `row_of_b(p)`.
///
/// # Safety
/// `a` holds k * MR values and `c` an MR x NR tile with row stride `rsc`.
#[inline(always)]
unsafe fn tile_body<'b, T: Real>(
    k: usize,
    a: *const T,
    row_of_b: impl Fn(usize) -> &'b [T],
    c: *mut T,
    rsc: usize,
    alpha: T,
    beta: T,
) {
    let a = std::slice::from_raw_parts(a, k * MR);
    let mut acc = [[T::ZERO; NR]; MR];
    for p in 0..k {
        let (ap, bp) = (&a[p * MR..p * MR + MR], row_of_b(p));
        for i in 0..MR {
            for j in 0..NR {
                acc[i][j] += ap[i] * bp[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let c_row = std::slice::from_raw_parts_mut(c.add(i * rsc), NR);
        for (cij, &sum) in c_row.iter_mut().zip(row) {
            *cij = if beta == T::ZERO {
                alpha * sum
            } else {
                alpha * sum + beta * *cij
            };
        }
    }
}

/// The dot-product form, one plain sum per (i, j) in increasing p.
///
/// # Safety
/// See [`super::DotsFn`].
#[allow(clippy::too_many_arguments)]
unsafe fn dots<T: Real>(
    k: usize,
    a: *const T,
    lda: usize,
    b: super::DotsB<T>,
    c: *mut T,
    ldc: usize,
    m: usize,
    n: usize,
    accumulate: bool,
) {
    for i in 0..m {
        let a_row = std::slice::from_raw_parts(a.add(i * lda), k);
        for j in 0..n {
            let b_jp = |p: usize| {
                *b.base
                    .add(b.rows[j] + (p / b.piece) * b.pitch + p % b.piece)
            };
            let sum = (0..k).fold(T::ZERO, |s, p| s + a_row[p] * b_jp(p));
            let cij = c.add(i * ldc + j);
            *cij = if accumulate { *cij + sum } else { sum };
        }
    }
}

/// The thin-output form, plainly: `width / THIN_VECTORS` values per register.
///
/// # Safety
/// See [`super::ThinFn`].
unsafe fn thin<T: Real>(
    segments: *const super::ThinSegment<T>,
    n_segments: usize,
    b: *const T,
    stride: usize,
    vec_at: *const usize,
    c: *mut T,
    ldc: usize,
) {
    use super::{THIN_M, THIN_VECTORS};
    let lanes = if std::mem::size_of::<T>() == 4 { 8 } else { 4 };
    let segments = std::slice::from_raw_parts(segments, n_segments);
    let at = std::slice::from_raw_parts(vec_at, THIN_VECTORS);
    let mut acc = [[T::ZERO; 8 * THIN_VECTORS]; THIN_M];
    for segment in segments {
        for p in 0..segment.k {
            let row = b.add(segment.b_offset + p * stride);
            for (i, acc) in acc.iter_mut().enumerate() {
                let a = *segment.a.add(p * THIN_M + i);
                for (v, &offset) in at.iter().enumerate() {
                    for l in 0..lanes {
                        acc[v * lanes + l] += a * *row.add(offset + l);
                    }
                }
            }
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        std::ptr::copy_nonoverlapping(acc.as_ptr(), c.add(i * ldc), THIN_VECTORS * lanes);
    }
}
