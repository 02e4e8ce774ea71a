//! Chapter 14. How good is a detector? The ROC curve and the area under it.
//!
//! A detector gives each image a score s (here P(fake)); a threshold t calls the image fake when
//! s >= t. Sliding t from +inf down to -inf walks from (0, 0) to (1, 1) through the points
//!
//! ```text
//!   FPR(t) = #{negatives with s >= t} / #negatives     (real images called fake)
//!   TPR(t) = #{positives with s >= t} / #positives     (fakes found)
//! ```
//!
//! The area under that curve has a second meaning, which is how it is computed here: it is the
//! probability that a random positive scores higher than a random negative, a tie counting one
//! half. That is the Mann-Whitney statistic U divided by the number of pairs:
//!
//! ```text
//!   AUC = ( #{(p, n): s_p > s_n} + 1/2 #{(p, n): s_p = s_n} ) / (n_pos n_neg)
//!       = ( R_pos - n_pos (n_pos + 1) / 2 ) / (n_pos n_neg)
//! ```
//!
//! where R_pos is the sum of the positives' ranks among all scores, tied scores sharing the
//! mean of their ranks. [`auc`] uses the ranks (O(n log n)); [`auc_pairs`] counts the pairs
//! (O(n_pos n_neg)), the definition, for tests. The trapezoids under [`roc_curve`]'s points give
//! the same number: a run of ties is one diagonal step, whose trapezoid counts each tied pair half.

use crate::error::{Error, Result};

/// Points of the ROC curve, from (0, 0) to (1, 1), one per distinct score.
#[derive(Clone, Debug, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// `thresholds[i]` is the score at which point i is reached (+inf for the first point).
    pub thresholds: Vec<f64>,
}

impl Roc {
    /// The area under the curve by trapezoids (equal to [`auc`]).
    pub fn area(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
            .sum()
    }
}

fn count(scores: &[f64], positives: &[bool]) -> Result<(usize, usize)> {
    if scores.len() != positives.len() {
        return Err(Error::shape(
            "ROC: one label per score",
            [scores.len()],
            [positives.len()],
        ));
    }
    if let Some(s) = scores.iter().find(|s| s.is_nan()) {
        return Err(Error::msg(format!("ROC: a score is {s}")));
    }
    let n_pos = positives.iter().filter(|&&p| p).count();
    let n_neg = positives.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(Error::msg(format!(
            "ROC: needs positives and negatives; found {n_pos} positives and {n_neg} negatives"
        )));
    }
    Ok((n_pos, n_neg))
}

/// The ROC curve of `scores` (higher = more likely positive) against the truth `positives`.
pub fn roc_curve(scores: &[f64], positives: &[bool]) -> Result<Roc> {
    let (n_pos, n_neg) = count(scores, positives)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut roc = Roc {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        // Every image with this score crosses the threshold at once.
        let s = scores[order[i]];
        while i < order.len() && scores[order[i]] == s {
            if positives[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        roc.fpr.push(fp as f64 / n_neg as f64);
        roc.tpr.push(tp as f64 / n_pos as f64);
        roc.thresholds.push(s);
    }
    Ok(roc)
}

/// The area under the ROC curve as the Mann-Whitney statistic, from mid-ranks (ties count 1/2).
pub fn auc(scores: &[f64], positives: &[bool]) -> Result<f64> {
    let (n_pos, n_neg) = count(scores, positives)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Ranks 1..=n; a run of equal scores at ranks a..=b shares the rank (a + b) / 2.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_run = order[i..j].iter().filter(|&&k| positives[k]).count();
        rank_sum_pos += mid_rank * pos_in_run as f64;
        i = j;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Ok(u / (n_pos as f64 * n_neg as f64))
}

/// The area under the ROC curve by its definition: every (positive, negative) pair counted.
pub fn auc_pairs(scores: &[f64], positives: &[bool]) -> Result<f64> {
    let (n_pos, n_neg) = count(scores, positives)?;
    let pick = |want: bool| -> Vec<f64> {
        scores
            .iter()
            .zip(positives)
            .filter(|&(_, &p)| p == want)
            .map(|(&s, _)| s)
            .collect()
    };
    let (pos, neg) = (pick(true), pick(false));
    let mut wins = 0.0;
    for sp in &pos {
        for sn in &neg {
            if sp > sn {
                wins += 1.0;
            } else if sp == sn {
                wins += 0.5;
            }
        }
    }
    Ok(wins / (n_pos as f64 * n_neg as f64))
}

/// The fraction of images on the right side of `threshold` (positive iff score >= threshold).
pub fn accuracy_at(scores: &[f64], positives: &[bool], threshold: f64) -> f64 {
    let right = scores
        .iter()
        .zip(positives)
        .filter(|&(&s, &p)| (s >= threshold) == p)
        .count();
    right as f64 / scores.len().max(1) as f64
}
