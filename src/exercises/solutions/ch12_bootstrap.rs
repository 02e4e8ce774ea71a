//! Chapter 12 exercises, worked solutions: a bootstrap confidence interval for FID, and a
//! different delta for the paired bootstrap.

use crate::eval::bootstrap::{bootstrap_interval, Interval};
use crate::eval::frechet::fid;
use crate::eval::report::gather_rows;
use crate::tensor::Tensor;

/// Exercise 12.1. A 95 % percentile bootstrap interval for the FID between `real` and `fake`
/// features ([n, d] each, row i of one paired with row i of the other): resample the item indices
/// with `bootstrap_interval(n, samples, seed, 0.95, ...)` and compute the FID of the resampled rows
/// of both sets (`gather_rows`).
pub fn fid_interval(real: &Tensor<f32>, fake: &Tensor<f32>, samples: usize, seed: u64) -> Interval {
    bootstrap_interval(real.rows(), samples, seed, 0.95, |s| {
        fid(&gather_rows(real, s), &gather_rows(fake, s))
    })
}

/// Exercise 12.2. A sign-test delta: over the items `indices` (a multiset), the fraction on which
/// A scores strictly higher than B minus the fraction on which B scores strictly higher.
pub fn win_rate_delta(a: &[f64], b: &[f64], indices: &[usize]) -> f64 {
    let wins = indices.iter().filter(|&&i| a[i] > b[i]).count() as f64;
    let losses = indices.iter().filter(|&&i| a[i] < b[i]).count() as f64;
    (wins - losses) / indices.len().max(1) as f64
}
