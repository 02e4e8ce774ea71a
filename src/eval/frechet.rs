//! Chapter 12. The Fréchet distance between two Gaussians, the formula behind FID (Heusel et al.,
//! 2017), measured here in the feature space of our own classifier.
//!
//! Fit a Gaussian to each set of feature vectors (mean mu, covariance S); the Fréchet (2-Wasserstein)
//! distance between N(mu1, S1) and N(mu2, S2) is, squared,
//!
//! ```text
//!   d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1^1/2 S2 S1^1/2)^1/2 )
//! ```
//!
//! The last trace is usually written tr((S1 S2)^1/2); S1 S2 is not symmetric, but it is similar
//! to the symmetric positive semi-definite M = S1^1/2 S2 S1^1/2 (same eigenvalues), so two
//! symmetric square roots suffice: one for S1^1/2, and then tr(M^1/2) = sum sqrt(eigenvalues of M).
//! Equal Gaussians give 0; for diagonal covariances the formula reduces to
//! |mu1 - mu2|^2 + sum (sqrt(s1_i) - sqrt(s2_i))^2.

use super::eigen::{sqrt_symmetric, symmetric_eigenvalues};
use crate::gemm::{matmul, Op};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// A Gaussian fitted to a set of vectors.
#[derive(Clone, Debug)]
pub struct Gaussian {
    /// mu: [d]
    pub mean: Vec<f64>,
    /// S: [d, d], the unbiased sample covariance (divided by n - 1, as numpy's `cov`).
    pub cov: Tensor<f64>,
}

/// The mean and covariance of the rows of `x`: [n, d] (n >= 2).
pub fn fit_gaussian<T: Real>(x: &Tensor<T>) -> Gaussian {
    let (n, d) = (x.rows(), x.cols());
    assert!(
        n >= 2,
        "fit_gaussian: need at least 2 vectors, found {n} (shape {:?})",
        x.shape()
    );
    let mut mean = vec![0.0; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(x.row(i)) {
            *m += v.to_f64();
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    // centred: [n, d];  S = centred^T centred / (n - 1): [d, d]
    let centred = Tensor::from_fn(&[n, d], |k| x.as_slice()[k].to_f64() - mean[k % d]);
    let mut cov = matmul(&centred, Op::T, &centred, Op::N);
    cov.scale(1.0 / (n - 1) as f64);
    Gaussian { mean, cov }
}

/// The squared Fréchet distance between two Gaussians of the same dimension.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let d = a.mean.len();
    assert!(
        b.mean.len() == d && a.cov.shape() == [d, d] && b.cov.shape() == [d, d],
        "frechet_distance: dimensions differ: means {} and {}, covariances {:?} and {:?}",
        d,
        b.mean.len(),
        a.cov.shape(),
        b.cov.shape()
    );
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let trace = |s: &Tensor<f64>| (0..d).map(|i| s.at(i, i)).sum::<f64>();
    // M = S1^1/2 S2 S1^1/2, symmetric PSD; tr(M^1/2) = sum of sqrt of its eigenvalues.
    let root = sqrt_symmetric(&a.cov);
    let m = matmul(&matmul(&root, Op::N, &b.cov, Op::N), Op::N, &root, Op::N);
    let cross: f64 = symmetric_eigenvalues(&m)
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    // Rounding can take a distance of 0 a hair below it.
    (mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * cross).max(0.0)
}

/// FID-style distance between two sets of feature vectors, [n1, d] and [n2, d].
pub fn fid<T: Real>(real: &Tensor<T>, fake: &Tensor<T>) -> f64 {
    frechet_distance(&fit_gaussian(real), &fit_gaussian(fake))
}
