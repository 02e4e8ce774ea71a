//! Chapter 2 exercises. Fill in the bodies; `cargo test --release --features exercises --test
//! ch02_gemm -- exercise_` says when they are right.

use crate::scalar::Real;

/// Exercise 2.1: C <- A * B for row-major A [m, k], B [k, n], C [m, n], with the loops in the
/// order i, p, j, so that the innermost loop walks along a row of B and a row of C (unit stride)
/// instead of down a column of B.
pub fn matmul_ikj<T: Real>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T]) {
    let _ = (m, n, k, a, b, c);
    todo!(
        "exercise 2.1 (chapter 2, 'The order of the loops'): zero C, then for i, for p, take a = A[i, p] \
         and add a * B[p, j] to C[i, j] for every j of row p of B"
    )
}

/// Exercise 2.2: pack a row-major B [k, n] into panels of `nr` columns, the order the
/// micro-kernel reads: panel q holds columns q*nr .. q*nr+nr, and inside it row p's `nr` values
/// are adjacent: `out[q * k * nr + p * nr + j] = B[p, q * nr + j]`. Columns past n are zero.
pub fn pack_b_panels<T: Real>(k: usize, n: usize, nr: usize, b: &[T]) -> Vec<T> {
    let _ = (k, n, nr, b);
    todo!(
        "exercise 2.2 (chapter 2, 'Packing'): allocate ceil(n / nr) * k * nr zeros, then copy B[p, q*nr + j] \
         to out[q*k*nr + p*nr + j] for every column that exists"
    )
}
