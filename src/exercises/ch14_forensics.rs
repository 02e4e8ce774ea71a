//! Chapter 14 exercises: a detector's true-positive rate at a fixed false-positive rate, and
//! nearest neighbours by cosine distance (chapters/14-watermarks-and-attribution.md,
//! "Exercises" under detection and image attribution).
//!
//! Fill in both functions, then run
//! `cargo test --release --features exercises --test ch14_forensics -- exercise_`.
// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use crate::tensor::Tensor;

/// Exercise 14.3: the fraction of fakes a detector catches when it may wrongly flag at most a
/// fraction `max_fpr` of real images. `scores[i]` is P(fake) of image i, `positives[i]` says it
/// is fake; an image is flagged when its score is >= a threshold t. Return the largest TPR(t)
/// over all thresholds t with FPR(t) <= max_fpr (0 if no threshold flags anything that way).
/// Both classes are present.
pub fn tpr_at_fpr(scores: &[f64], positives: &[bool], max_fpr: f64) -> f64 {
    todo!(
        "try every score as the threshold t (tied scores are flagged together): count the \
         fakes (TP) and the real images (FP) with score >= t, keep TP / #fakes whenever \
         FP / #real <= max_fpr, and return the largest"
    )
}

/// Exercise 14.4: the indices of the `k` rows of `reference` [N, D] nearest to `query` [D] by
/// cosine distance 1 - <q, r> / (|q| |r|), nearest first, ties broken by the smaller index.
/// A row of zeros has no direction: count its distance as 1. Assume 1 <= k <= N.
pub fn cosine_nearest(reference: &Tensor<f32>, query: &[f32], k: usize) -> Vec<usize> {
    todo!(
        "compute, in f64, 1 - dot / (norm_q * norm_r) for every row (1 when a norm is 0), \
         sort the pairs (distance, index) by distance then index, keep the first k indices"
    )
}
