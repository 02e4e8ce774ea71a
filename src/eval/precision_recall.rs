//! Chapter 12. Precision and recall of a generated set against a real one, with k-nearest-neighbour
//! manifolds (Kynkäänniemi et al., 2019).
//!
//! FID mixes two failures into one number: images that look wrong (low fidelity) and parts of the
//! data never produced (low diversity). Precision and recall separate them. Around every real
//! feature vector put a ball reaching to its k-th nearest real neighbour; the union of the balls
//! estimates the support of the real distribution. Likewise for the generated vectors. Then
//!
//! ```text
//!   precision = fraction of generated vectors inside the real manifold     (fidelity)
//!   recall    = fraction of real vectors inside the generated manifold     (diversity)
//! ```
//!
//! A collapsed generator keeps a high precision and loses recall. The per-example indicators are
//! returned too, so the paired bootstrap can resample them.

use crate::gemm::{matmul, Op};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The neighbour count of the paper's experiments.
pub const DEFAULT_K: usize = 3;

/// Squared Euclidean distances between the rows of a: [m, d] and b: [n, d] -> [m, n], as
/// |a_i|^2 + |b_j|^2 - 2 a_i . b_j with one GEMM (in f64; tiny negative results clamped to 0).
pub fn pairwise_sq_distances<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<f64> {
    assert_eq!(
        a.cols(),
        b.cols(),
        "pairwise_sq_distances: rows of different lengths: {:?} and {:?}",
        a.shape(),
        b.shape()
    );
    let (a, b) = (a.cast::<f64>(), b.cast::<f64>());
    let norms = |x: &Tensor<f64>| -> Vec<f64> {
        (0..x.rows())
            .map(|i| x.row(i).iter().map(|v| v * v).sum())
            .collect()
    };
    let (na, nb) = (norms(&a), norms(&b));
    let mut d = matmul(&a, Op::N, &b, Op::T);
    for (i, ni) in na.iter().enumerate() {
        for (x, nj) in d.row_mut(i).iter_mut().zip(&nb) {
            *x = (ni + nj - 2.0 * *x).max(0.0);
        }
    }
    d
}

/// The plain double loop, for the tests.
pub fn pairwise_sq_distances_reference<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<f64> {
    let (m, n) = (a.rows(), b.rows());
    Tensor::from_fn(&[m, n], |k| {
        a.row(k / n)
            .iter()
            .zip(b.row(k % n))
            .map(|(x, y)| (x.to_f64() - y.to_f64()).powi(2))
            .sum()
    })
}

/// For each row of x: [n, d], the squared distance to its k-th nearest OTHER row.
pub fn knn_sq_radii<T: Real>(x: &Tensor<T>, k: usize) -> Vec<f64> {
    let n = x.rows();
    assert!(
        k >= 1 && k < n,
        "knn_sq_radii: k = {k} needs at least k + 1 = {} vectors, found {n}",
        k + 1
    );
    let d = pairwise_sq_distances(x, x);
    (0..n)
        .map(|i| {
            let mut others: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| d.at(i, j)).collect();
            let (_, kth, _) = others.select_nth_unstable_by(k - 1, f64::total_cmp);
            *kth
        })
        .collect()
}

/// For each row of `queries`, whether it lies in some ball of the manifold of `points` (centre
/// a row of `points`, squared radius the matching entry of `sq_radii`).
pub fn inside_manifold<T: Real>(
    queries: &Tensor<T>,
    points: &Tensor<T>,
    sq_radii: &[f64],
) -> Vec<bool> {
    let d = pairwise_sq_distances(queries, points);
    (0..queries.rows())
        .map(|i| d.row(i).iter().zip(sq_radii).any(|(x, r)| x <= r))
        .collect()
}

/// Precision and recall, with the per-example indicators behind them.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionRecall {
    pub precision: f64,
    pub recall: f64,
    /// For each generated vector: inside the real manifold?
    pub fake_in_real: Vec<bool>,
    /// For each real vector: inside the generated manifold?
    pub real_in_fake: Vec<bool>,
}

/// Precision and recall of `fake`: [m, d] against `real`: [n, d] with k-NN manifolds.
pub fn precision_recall<T: Real>(real: &Tensor<T>, fake: &Tensor<T>, k: usize) -> PrecisionRecall {
    let fake_in_real = inside_manifold(fake, real, &knn_sq_radii(real, k));
    let real_in_fake = inside_manifold(real, fake, &knn_sq_radii(fake, k));
    let fraction = |v: &[bool]| v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64;
    PrecisionRecall {
        precision: fraction(&fake_in_real),
        recall: fraction(&real_in_fake),
        fake_in_real,
        real_in_fake,
    }
}
