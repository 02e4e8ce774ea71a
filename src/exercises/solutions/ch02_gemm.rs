//! Chapter 2 exercises, worked solutions.

use crate::scalar::Real;

/// Exercise 2.1: C <- A * B for row-major A [m, k], B [k, n], C [m, n], with the loops in the
/// order i, p, j, so that the innermost loop walks along a row of B and a row of C (unit stride)
/// instead of down a column of B.
pub fn matmul_ikj<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    c[..m * n].fill(T::ZERO);
    for i in 0..m {
        for p in 0..k {
            let a_ip = a[i * k + p];
            let b_row = &b[p * n..(p + 1) * n];
            let c_row = &mut c[i * n..(i + 1) * n];
            for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ip * b_pj;
            }
        }
    }
}

/// Exercise 2.2: pack a row-major B [k, n] into panels of `nr` columns, the order the
/// micro-kernel reads: panel q holds columns q*nr .. q*nr+nr, and inside it row p's `nr` values
/// are adjacent: `out[q * k * nr + p * nr + j] = B[p, q * nr + j]`. Columns past n are zero.
pub fn pack_b_panels<T: Real>(k: usize, n: usize, nr: usize, b: &[T]) -> Vec<T> {
    let panels = n.div_ceil(nr);
    let mut out = vec![T::ZERO; panels * k * nr];
    for q in 0..panels {
        for p in 0..k {
            for j in 0..nr {
                let col = q * nr + j;
                if col < n {
                    out[q * k * nr + p * nr + j] = b[p * n + col];
                }
            }
        }
    }
    out
}
