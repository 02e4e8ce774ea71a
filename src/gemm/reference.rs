//! The plain triple loop: slow, obviously right, and the truth every fast path is tested against.

use super::{gemm_dims, MatMut, MatRef};
use crate::scalar::Real;

/// C <- alpha * A * B + beta * C, one dot product per element of C.
///
/// A is [m, k], B is [k, n], C is [m, n] (pass `a.t()` for A^T). When beta is 0, C is only
/// written, never read, so it may hold anything (even NaN), as in BLAS.
#[track_caller]
pub fn gemm_reference<T: Real>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, mut c: MatMut<T>) {
    let (m, n, k) = gemm_dims(&a, &b, &c);
    for i in 0..m {
        for j in 0..n {
            let mut dot = T::ZERO;
            for p in 0..k {
                dot += a.at(i, p) * b.at(p, j);
            }
            let old = if beta == T::ZERO {
                T::ZERO
            } else {
                beta * c.at(i, j)
            };
            *c.at_mut(i, j) = alpha * dot + old;
        }
    }
}
