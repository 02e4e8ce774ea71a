//! Chapter 12. Did the generator memorise its training set?
//!
//! A generator that copies training images scores well on every metric that compares its
//! samples with real images. The check: for each sample, the distance to its nearest training
//! image; for comparison, the same for real images the generator never saw (held out). If the
//! samples are no closer to the training set than fresh real images are, there is no sign of
//! copying; if many samples sit much closer than almost any held-out image does, look at them.

use super::precision_recall::pairwise_sq_distances;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// For each row of `queries`: [m, d], the Euclidean distance to the nearest row of `reference`: [n, d].
/// The reference is taken in blocks of rows, so a large training set needs little memory.
pub fn nearest_distances<T: Real>(queries: &Tensor<T>, reference: &Tensor<T>) -> Vec<f64> {
    const BLOCK: usize = 2048;
    let (n, d) = (reference.rows(), reference.cols());
    let mut best = vec![f64::INFINITY; queries.rows()];
    for start in (0..n).step_by(BLOCK) {
        let end = n.min(start + BLOCK);
        let block = Tensor::from_vec(
            &[end - start, d],
            reference.as_slice()[start * d..end * d].to_vec(),
        )
        .expect("whole rows");
        let sq = pairwise_sq_distances(queries, &block);
        for (i, b) in best.iter_mut().enumerate() {
            *b = sq.row(i).iter().copied().fold(*b, f64::min);
        }
    }
    best.into_iter().map(f64::sqrt).collect()
}

/// Nearest-training-image distances of generated samples against those of held-out images.
#[derive(Clone, Debug, PartialEq)]
pub struct Memorisation {
    /// Median nearest-training distance of the samples.
    pub sample_median: f64,
    /// Median nearest-training distance of the held-out real images.
    pub heldout_median: f64,
    /// sample_median / heldout_median: near 1 or above is normal; far below 1 suggests copying.
    pub ratio: f64,
    /// The fraction of samples closer to the training set than 95 % of held-out images are
    /// (about 0.05 when nothing is copied).
    pub closer_than_heldout: f64,
    /// Each sample's distance, for plots and the bootstrap.
    pub sample_distances: Vec<f64>,
}

/// Compares `samples` and `heldout` by their distance to `train` (all [_, d], flattened images
/// or features).
pub fn memorisation<T: Real>(
    samples: &Tensor<T>,
    heldout: &Tensor<T>,
    train: &Tensor<T>,
) -> Memorisation {
    let sample_distances = nearest_distances(samples, train);
    let heldout_distances = nearest_distances(heldout, train);
    let sample_median = quantile(&sample_distances, 0.5);
    let heldout_median = quantile(&heldout_distances, 0.5);
    let cut = quantile(&heldout_distances, 0.05);
    let closer = sample_distances.iter().filter(|&&d| d < cut).count();
    Memorisation {
        sample_median,
        heldout_median,
        ratio: sample_median / heldout_median.max(f64::MIN_POSITIVE),
        closer_than_heldout: closer as f64 / sample_distances.len().max(1) as f64,
        sample_distances,
    }
}

/// The q-quantile of `xs` (linear interpolation between order statistics, numpy's default).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, frac) = (position.floor() as usize, position.fract());
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}
