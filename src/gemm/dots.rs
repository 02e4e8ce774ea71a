//! Chapter 13. C (+)= A B^T as dot products of rows, for a small C summed over a long k.
//!
//! The weight gradient of a layer with few input channels (DCGAN's first discriminator layer,
//! 3 -> 64, or the generator's last, 64 -> 3) is such a product:
//!
//! ```text
//! grad_W [C_out, C_in*kH*kW] += G [C_out, K] * cols^T,   cols [C_in*kH*kW, K]
//! ```
//!
//! a 64 x 48 result summed over the K window positions of the images, thousands of them. Both
//! operands already lie along k. The blocked GEMM would first copy both into panels, which for
//! this shape transposes them, at a fifth of the pass's time. Here every tile of C is up to 12
//! dot products ([`DotsFn`](super::kernel::DotsFn)) read straight from the rows.
//!
//! k is cut into blocks of [`DOTS_KC`] values: the 4 rows of A of a tile stay in L1 while the
//! rows of B stream past them. Each block's sums are added into C in block order, so the
//! result depends on the kernel but not on threads (the caller splits work by output).

use super::kernel::{best_kernel, DotsB, Kernel, DOT_M, DOT_N};
use super::MatMut;
use crate::scalar::Real;

/// Values of k per block: 4 rows of A at 4 KiB each (f32) fill half of a 32 KiB L1.
pub const DOTS_KC: usize = 1024;

/// C (+)= A B^T with the fastest kernel this CPU supports: A is [m, k] and B is [n, k], both
/// row-major with rows `k` apart, C is [m, n]. With `accumulate` false C is only written.
#[track_caller]
pub fn gemm_nt_by_dots<T: Real>(a: &[T], b: &[T], k: usize, accumulate: bool, c: MatMut<T>) {
    gemm_nt_by_dots_with_kernel(best_kernel::<T>(), a, b, k, accumulate, c)
}

/// [`gemm_nt_by_dots`] with a chosen kernel (tests compare every kernel the CPU supports).
#[track_caller]
pub fn gemm_nt_by_dots_with_kernel<T: Real>(
    kernel: &Kernel<T>,
    a: &[T],
    b: &[T],
    k: usize,
    accumulate: bool,
    c: MatMut<T>,
) {
    let n = c.cols;
    assert!(
        b.len() == n * k,
        "gemm_nt_by_dots: B holds {} values; expected [{n}, {k}] = {}",
        b.len(),
        n * k
    );
    let rows: Vec<usize> = (0..n).map(|j| j * k).collect();
    let b = RowsInPieces {
        values: b,
        rows: &rows,
        piece: k.max(1),
        pitch: 0,
    };
    by_dots(kernel, a, &b, k, accumulate, c)
}

/// The rows of B where they lie: B_j[p] = `values[rows[j] + (p / piece) * pitch + p % piece]`.
/// A convolution's window rows, read straight from the arranged image, are such rows: one
/// piece per output row.
pub(crate) struct RowsInPieces<'a, T> {
    pub values: &'a [T],
    pub rows: &'a [usize],
    pub piece: usize,
    pub pitch: usize,
}

/// C (+)= A B^T with B's rows read in place ([`RowsInPieces`]). When `piece` is a multiple of
/// 8 that divides [`DOTS_KC`], every sum is taken in the same order as by [`gemm_nt_by_dots`]
/// on the rows written out, so the bits are the same.
#[track_caller]
pub(crate) fn gemm_nt_by_dots_in_place<T: Real>(
    a: &[T],
    b: &RowsInPieces<T>,
    k: usize,
    accumulate: bool,
    c: MatMut<T>,
) {
    by_dots(best_kernel::<T>(), a, b, k, accumulate, c)
}

#[track_caller]
fn by_dots<T: Real>(
    kernel: &Kernel<T>,
    a: &[T],
    b: &RowsInPieces<T>,
    k: usize,
    accumulate: bool,
    c: MatMut<T>,
) {
    let (m, n, ldc) = (c.rows, c.cols, c.row_stride);
    assert!(
        a.len() == m * k && b.rows.len() == n && b.piece > 0,
        "gemm_nt_by_dots: A holds {} values and B {} rows; expected [{m}, {k}] and {n} rows",
        a.len(),
        b.rows.len(),
    );
    if k > 0 {
        // B_j[p] grows with p (pieces do not overlap), so its last value is the furthest.
        let last = ((k - 1) / b.piece) * b.pitch + (k - 1) % b.piece;
        assert!(
            (k <= b.piece || b.pitch >= b.piece)
                && b.rows.iter().all(|&r| r + last < b.values.len()),
            "gemm_nt_by_dots: a row of B runs past its {} values",
            b.values.len()
        );
    }
    assert!(
        kernel.is_supported(),
        "gemm_nt_by_dots: this CPU cannot run the kernel {}",
        kernel.name
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c.data[i * ldc..i * ldc + n].fill(T::ZERO);
            }
        }
        return;
    }
    // A block of k is a whole number of pieces, or lies inside one piece.
    let (block, piece) = if b.piece >= k {
        (DOTS_KC, usize::MAX)
    } else {
        ((DOTS_KC / b.piece).max(1) * b.piece, b.piece)
    };
    let c_ptr = c.data.as_mut_ptr();
    for k0 in (0..k).step_by(block) {
        let kc = block.min(k - k0);
        let at = (k0 / b.piece) * b.pitch + k0 % b.piece;
        for i0 in (0..m).step_by(DOT_M) {
            for j0 in (0..n).step_by(DOT_N) {
                let nj = DOT_N.min(n - j0);
                let mut rows = [0; DOT_N];
                for (j, row) in rows.iter_mut().enumerate().take(nj) {
                    *row = b.rows[j0 + j] + at;
                }
                let b_tile = DotsB {
                    base: b.values.as_ptr(),
                    rows,
                    piece,
                    pitch: b.pitch,
                };
                // SAFETY: rows i0.. of A hold k values from k0 on, every B_j[p] lies in B's
                // values (checked above), the tile lies inside C (the view checked its
                // length), and the kernel runs on this CPU.
                unsafe {
                    kernel.dots(
                        kc,
                        (a.as_ptr().add(i0 * k + k0), k),
                        b_tile,
                        (c_ptr.add(i0 * ldc + j0), ldc),
                        (DOT_M.min(m - i0), nj),
                        accumulate || k0 > 0,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::kernel::{lanes_sum, supported_kernels};
    use crate::rng::Rng;
    use proptest::prelude::*;

    /// The sum a SIMD kernel with `lanes` lanes takes, written plainly: per block of k, lane l
    /// sums p = l, l + lanes, ... with fused multiply-adds, the lanes are added pairwise, the
    /// rest of the block follows one by one, and the block's sum is added into C.
    fn lanes_model<T: Real, const LANES: usize>(a: &[T], b: &[T], k: usize, c0: Option<T>) -> T {
        let lanes = LANES;
        let mut c = c0;
        for k0 in (0..k).step_by(DOTS_KC) {
            let kc = DOTS_KC.min(k - k0);
            let full = kc - kc % lanes;
            let mut acc = [T::ZERO; LANES];
            for p in (0..full).step_by(lanes) {
                for (l, s) in acc.iter_mut().enumerate() {
                    *s = a[k0 + p + l].mul_add(b[k0 + p + l], *s);
                }
            }
            let mut sum = lanes_sum(acc);
            for p in full..kc {
                sum = a[k0 + p].mul_add(b[k0 + p], sum);
            }
            c = Some(c.map_or(sum, |c| c + sum));
        }
        c.unwrap_or(T::ZERO)
    }

    fn check<T: Real>(m: usize, n: usize, k: usize, accumulate: bool, seed: u64) {
        let mut rng = Rng::new(seed);
        let mut random =
            |len: usize| -> Vec<T> { (0..len).map(|_| T::from_f64(rng.gaussian())).collect() };
        let (a, b, c0) = (random(m * k), random(n * k), random(m * n));
        let epsilon = if std::mem::size_of::<T>() == 4 {
            f32::EPSILON as f64
        } else {
            f64::EPSILON
        };
        for kernel in supported_kernels::<T>() {
            let mut c = c0.clone();
            gemm_nt_by_dots_with_kernel(kernel, &a, &b, k, accumulate, MatMut::new(&mut c, m, n));
            let simd = !kernel.name.starts_with("generic");
            for i in 0..m {
                for j in 0..n {
                    let (a_i, b_j) = (&a[i * k..][..k], &b[j * k..][..k]);
                    let exact: f64 = (0..k)
                        .map(|p| a_i[p].to_f64() * b_j[p].to_f64())
                        .sum::<f64>()
                        + if accumulate {
                            c0[i * n + j].to_f64()
                        } else {
                            0.0
                        };
                    let got = c[i * n + j];
                    let scale: f64 = (0..k)
                        .map(|p| (a_i[p] * b_j[p]).to_f64().abs())
                        .sum::<f64>()
                        + 1.0;
                    assert!(
                        (got.to_f64() - exact).abs() <= scale * 1e3 * epsilon,
                        "kernel {}: [{m}, {k}] x [{n}, {k}]^T, C[{i}, {j}] = {got:?}, expected {exact}",
                        kernel.name
                    );
                    if simd {
                        // The SIMD kernels' exact order of operations, bit for bit.
                        let c0_ij = accumulate.then(|| c0[i * n + j]);
                        let want = if std::mem::size_of::<T>() == 4 {
                            lanes_model::<T, 8>(a_i, b_j, k, c0_ij)
                        } else {
                            lanes_model::<T, 4>(a_i, b_j, k, c0_ij)
                        };
                        assert!(
                            got == want,
                            "kernel {}: C[{i}, {j}] = {got:?}, the lane-by-lane sum gives {want:?}",
                            kernel.name
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(48) })]

        /// Every kernel against the sum taken in f64 and, for SIMD kernels, bit for bit against
        /// the lane-by-lane model: awkward shapes (1, primes, k not a multiple of the lanes and
        /// k past one block).
        #[test]
        fn dot_products_match_the_sums(
            m in 1usize..11, n in 1usize..8, k in prop_oneof![0usize..40, 1000usize..2100],
            accumulate in any::<bool>(), seed in any::<u64>(),
        ) {
            check::<f32>(m, n, k, accumulate, seed);
            check::<f64>(m, n, k, accumulate, seed);
        }
    }
}
