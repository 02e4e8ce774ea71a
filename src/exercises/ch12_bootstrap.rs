//! Chapter 12 exercises: a bootstrap confidence interval for FID, and a different delta for the
//! paired bootstrap. Fill in the bodies; `cargo test --release --features exercises --test
//! ch12_bootstrap -- exercise_` says when they are right.

use crate::eval::bootstrap::Interval;
use crate::tensor::Tensor;

/// Exercise 12.1. A 95 % percentile bootstrap interval for the FID between `real` and `fake`
/// features ([n, d] each, row i of one paired with row i of the other): resample the item indices
/// with `bootstrap_interval(n, samples, seed, 0.95, ...)` and compute the FID of the resampled rows
/// of both sets (`gather_rows`).
pub fn fid_interval(real: &Tensor<f32>, fake: &Tensor<f32>, samples: usize, seed: u64) -> Interval {
    let _ = (real, fake, samples, seed);
    todo!(
        "exercise 12.1 (chapter 12, 'A confidence interval for FID'): call \
         eval::bootstrap::bootstrap_interval(real.rows(), samples, seed, 0.95, |s| ...) where the \
         closure computes eval::frechet::fid of eval::report::gather_rows(real, s) and of gather_rows(fake, s)"
    )
}

/// Exercise 12.2. A sign-test delta: over the items `indices` (a multiset), the fraction on which
/// A scores strictly higher than B minus the fraction on which B scores strictly higher.
pub fn win_rate_delta(a: &[f64], b: &[f64], indices: &[usize]) -> f64 {
    let _ = (a, b, indices);
    todo!(
        "exercise 12.2 (chapter 12, 'Another delta'): count the i in indices (with repeats) where \
         a[i] > b[i] and where a[i] < b[i]; return (wins - losses) / indices.len()"
    )
}
