//! Chapter 12. The paired bootstrap test, exactly as the lecture gives it, and its companions: an
//! exact sign-flip test for small test sets and a bootstrap confidence interval.
//!
//! Two systems A and B are scored on the same test set D_test; delta(D) is how much better A is
//! than B on a set D (any metric: a difference in accuracy, in FID, in recall...). Was the test
//! set big enough for delta(D_test) to be surprising?
//!
//! ```text
//!   1. draw B bootstrap samples S(1..B), each n items drawn with replacement from D_test
//!   2. v = 0
//!   3. for b = 1..B: if delta(S(b)) > 2 delta(D_test) then v = v + 1
//!   4. p = v / B
//! ```
//!
//! Why twice delta: resampling from D_test simulates drawing new test sets, but centred on D_test
//! itself, E[delta(S(b))] = delta(D_test), not on the null hypothesis "A and B are equally good"
//! (delta = 0). Shifting the bootstrap distribution by -delta(D_test) centres it on the null;
//! "delta(S) - delta(D_test) > delta(D_test)" is the test's condition. The samples are PAIRED:
//! item i of a resample brings A's and B's results on the same test item, so the item-to-item
//! variation both share cancels out of delta.
//!
//! Every resample b is drawn from its own generator `Rng::new(seed).fork(b)`, and the resamples
//! are spread over threads by index, so a result depends on the seed alone.

use crate::parallel::for_each_task;
use crate::rng::Rng;
use std::sync::Mutex;

/// What the paired bootstrap found.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedBootstrap {
    /// delta(D_test): how much better A is than B on the whole test set.
    pub delta: f64,
    /// v: the resamples with delta(S) > 2 delta(D_test).
    pub exceed: usize,
    /// B, the number of resamples.
    pub samples: usize,
    /// p = v / B.
    pub p_value: f64,
    /// delta(S(b)) for every resample, for histograms and intervals.
    pub deltas: Vec<f64>,
}

/// n indices drawn uniformly with replacement from 0..n: one bootstrap resample of a test set.
pub fn resample(n: usize, rng: &mut Rng) -> Vec<usize> {
    (0..n).map(|_| rng.below(n)).collect()
}

/// `stat(S(b))` for resamples b = 0..samples of a test set of n items, in parallel, each drawn
/// from `Rng::new(seed).fork(b)`.
pub fn bootstrap_values(
    n: usize,
    samples: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> f64 + Sync,
) -> Vec<f64> {
    const CHUNK: usize = 32;
    let base = Rng::new(seed);
    let chunks: Vec<Mutex<Vec<f64>>> = (0..samples.div_ceil(CHUNK))
        .map(|_| Mutex::new(Vec::new()))
        .collect();
    for_each_task(chunks.len(), |c| {
        let values: Vec<f64> = (c * CHUNK..samples.min((c + 1) * CHUNK))
            .map(|b| stat(&resample(n, &mut base.fork(b as u64))))
            .collect();
        *chunks[c].lock().expect("no task panics while holding it") = values;
    });
    chunks
        .into_iter()
        .flat_map(|m| m.into_inner().expect("not poisoned"))
        .collect()
}

/// The paired bootstrap test for a test set of `n` items. `delta(indices)` is how much better A
/// is than B on the multiset of test items `indices` (the whole test set is `0..n`).
pub fn paired_bootstrap(
    n: usize,
    samples: usize,
    seed: u64,
    delta: impl Fn(&[usize]) -> f64 + Sync,
) -> PairedBootstrap {
    assert!(
        n > 0 && samples > 0,
        "paired_bootstrap: need a test set and at least one resample"
    );
    let all: Vec<usize> = (0..n).collect();
    let observed = delta(&all);
    let deltas = bootstrap_values(n, samples, seed, &delta);
    let exceed = deltas.iter().filter(|&&d| d > 2.0 * observed).count();
    PairedBootstrap {
        delta: observed,
        exceed,
        samples,
        p_value: exceed as f64 / samples as f64,
        deltas,
    }
}

/// The mean of `scores` over the multiset `indices`.
pub fn mean_over(scores: &[f64], indices: &[usize]) -> f64 {
    indices.iter().map(|&i| scores[i]).sum::<f64>() / indices.len().max(1) as f64
}

/// The paired bootstrap on per-example scores (higher is better, e.g. 1 for a correct answer):
/// delta(S) = mean of A's scores over S - mean of B's.
pub fn paired_bootstrap_scores(a: &[f64], b: &[f64], samples: usize, seed: u64) -> PairedBootstrap {
    assert_eq!(
        a.len(),
        b.len(),
        "paired_bootstrap_scores: A has {} scores, B {}: they must be paired",
        a.len(),
        b.len()
    );
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    paired_bootstrap(a.len(), samples, seed, |s| mean_over(&diff, s))
}

/// The largest test set [`sign_flip_exact`] enumerates (2^20 sign patterns).
pub const EXACT_MAX: usize = 20;

/// The exact one-sided paired sign-flip (permutation) test of "A is better than B". Under the null
/// hypothesis that A and B are exchangeable, each difference d_i = a_i - b_i is as likely to have
/// had the other sign; p is the fraction of the 2^n sign patterns s with sum s_i d_i >= sum d_i.
pub fn sign_flip_exact(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "sign_flip_exact: A has {} scores, B {}",
        a.len(),
        b.len()
    );
    let n = a.len();
    assert!(
        n <= EXACT_MAX,
        "sign_flip_exact: {n} items means 2^{n} patterns; at most {EXACT_MAX}"
    );
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let observed: f64 = d.iter().sum();
    // A small slack, so that sums equal in exact arithmetic count as equal.
    let slack = 1e-9 * d.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
    let at_least = (0u64..1 << n)
        .filter(|mask| {
            let s: f64 = d
                .iter()
                .enumerate()
                .map(|(i, x)| if mask >> i & 1 == 1 { -x } else { *x })
                .sum();
            s >= observed - slack
        })
        .count();
    at_least as f64 / (1u64 << n) as f64
}

/// A percentile bootstrap confidence interval for a statistic of a test set of n items.
#[derive(Clone, Debug, PartialEq)]
pub struct Interval {
    /// The statistic on the whole set.
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    /// The coverage asked for, e.g. 0.95.
    pub level: f64,
}

/// The `level` percentile interval of `stat` over `samples` resamples: the (1 - level) / 2 and
/// (1 + level) / 2 quantiles of stat(S(b)).
pub fn bootstrap_interval(
    n: usize,
    samples: usize,
    seed: u64,
    level: f64,
    stat: impl Fn(&[usize]) -> f64 + Sync,
) -> Interval {
    let all: Vec<usize> = (0..n).collect();
    let values = bootstrap_values(n, samples, seed, &stat);
    let q = |p: f64| super::memorisation::quantile(&values, p);
    Interval {
        estimate: stat(&all),
        low: q((1.0 - level) / 2.0),
        high: q((1.0 + level) / 2.0),
        level,
    }
}
