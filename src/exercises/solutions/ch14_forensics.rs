//! Chapter 14 exercises, worked solutions: a detector's true-positive rate at a fixed
//! false-positive rate, and nearest neighbours by cosine distance.

use crate::tensor::Tensor;

/// Exercise 14.3: the fraction of fakes a detector catches when it may wrongly flag at most a
/// fraction `max_fpr` of real images. `scores[i]` is P(fake) of image i, `positives[i]` says it
/// is fake; an image is flagged when its score is >= a threshold t. Return the largest TPR(t)
/// over all thresholds t with FPR(t) <= max_fpr (0 if no threshold flags anything that way).
/// Both classes are present.
///
/// Lowering t only adds flagged images, so TPR and FPR both grow: walk the scores from the
/// highest down, one run of tied scores at a time, and stop before FPR exceeds the budget.
pub fn tpr_at_fpr(scores: &[f64], positives: &[bool], max_fpr: f64) -> f64 {
    let n_pos = positives.iter().filter(|&&p| p).count() as f64;
    let n_neg = positives.len() as f64 - n_pos;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if positives[order[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        if fp / n_neg > max_fpr {
            break;
        }
        best = tp / n_pos;
    }
    best
}

/// Exercise 14.4: the indices of the `k` rows of `reference` [N, D] nearest to `query` [D] by
/// cosine distance 1 - <q, r> / (|q| |r|), nearest first, ties broken by the smaller index.
/// A row of zeros has no direction: count its distance as 1. Assume 1 <= k <= N.
///
/// Cosine distance ignores length: an image and the same image at half the contrast (around
/// 0) are at distance 0, where the Euclidean distance would call them far apart.
pub fn cosine_nearest(reference: &Tensor<f32>, query: &[f32], k: usize) -> Vec<usize> {
    let norm = |v: &[f32]| v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    let norm_q = norm(query);
    let mut all: Vec<(f64, usize)> = (0..reference.rows())
        .map(|j| {
            let row = reference.row(j);
            let dot: f64 = row
                .iter()
                .zip(query)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum();
            let norms = norm_q * norm(row);
            let distance = if norms == 0.0 { 1.0 } else { 1.0 - dot / norms };
            (distance, j)
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.iter().take(k).map(|p| p.1).collect()
}
