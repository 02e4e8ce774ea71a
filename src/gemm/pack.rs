//! Packing: copying a block of A or B into the order in which the micro-kernel reads it.
//!
//! A block of A ([mc, kc]) becomes a sequence of panels of MR rows; inside a panel, the MR
//! values of column p are adjacent: `panel[p * MR + i] = A[i, p]`. A block of B ([kc, nc])
//! becomes panels of NR columns: `panel[p * NR + j] = B[p, j]`. The kernel then streams both with
//! unit stride, whatever the strides (or transposition) of the original. A last, partial panel is
//! padded with zeros so that the kernel always works on full tiles.

use super::MatRef;
use crate::scalar::Real;

/// Packs rows `row0 .. row0 + rows` and columns `col0 .. col0 + depth` of A, panel by panel of
/// `mr` rows, into `out` (length: rows rounded up to mr, times depth).
pub(super) fn pack_a<T: Real>(
    a: &MatRef<T>,
    row0: usize,
    rows: usize,
    col0: usize,
    depth: usize,
    mr: usize,
    out: &mut [T],
) {
    for (panel, chunk) in out.chunks_exact_mut(mr * depth).enumerate() {
        let r0 = row0 + panel * mr;
        let live = mr.min(row0 + rows - r0);
        for p in 0..depth {
            let dst = &mut chunk[p * mr..(p + 1) * mr];
            for (i, d) in dst.iter_mut().enumerate() {
                *d = if i < live {
                    a.at(r0 + i, col0 + p)
                } else {
                    T::ZERO
                };
            }
        }
    }
}

/// Packs rows `row0 .. row0 + depth` and columns `col0 .. col0 + cols` of B, panel by panel of
/// `nr` columns, into `out`.
pub(super) fn pack_b<T: Real>(
    b: &MatRef<T>,
    row0: usize,
    depth: usize,
    col0: usize,
    cols: usize,
    nr: usize,
    out: &mut [T],
) {
    for (panel, chunk) in out.chunks_exact_mut(nr * depth).enumerate() {
        let c0 = col0 + panel * nr;
        let live = nr.min(col0 + cols - c0);
        for p in 0..depth {
            let dst = &mut chunk[p * nr..(p + 1) * nr];
            if b.col_stride == 1 && live == nr {
                // The common case: a contiguous run of B's row.
                let start = (row0 + p) * b.row_stride + c0;
                dst.copy_from_slice(&b.data[start..start + nr]);
            } else {
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = if j < live {
                        b.at(row0 + p, c0 + j)
                    } else {
                        T::ZERO
                    };
                }
            }
        }
    }
}
