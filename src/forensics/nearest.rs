//! Chapter 14. The k nearest neighbours of a point among a set of points: the tool of image
//! attribution ("which training images is this sample closest to?") and of the memorisation
//! check (a sample much closer to a training image than held-out images are is a copy).
//!
//! Points are the rows of a tensor: `[N, D]`, or images `[N, C, H, W]` taken as `N` rows of
//! `C H W` pixels (pixel space), or the classifier's features `[N, F]` (feature space). The
//! distance is the squared Euclidean one,
//!
//! ```text
//!   d(q, r) = sum_j (q_j - r_j)^2      (accumulated in f64, j in order)
//! ```
//!
//! and ties are broken by the smaller index, so the answer is one well-defined list.
//!
//! [`nearest_reference`] computes every distance and sorts them all: slow and obviously right.
//! [`nearest`] gives the same answer, bit for bit, faster: the queries are spread over the
//! thread pool (each task owns its queries' answers, so no sum is split), and each query keeps
//! only its best k in a small sorted list instead of sorting all N distances.

use crate::error::{Error, Result};
use crate::parallel::for_each_task;
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::sync::OnceLock;

/// The answer for one query: its k nearest reference rows, nearest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    /// Row indices into the reference set.
    pub indices: Vec<usize>,
    /// Their squared Euclidean distances to the query, non-decreasing.
    pub distances: Vec<f64>,
}

/// Rows and row length of a tensor seen as points: `[N, ...] -> (N, product of the rest)`.
fn as_rows<T: Real>(t: &Tensor<T>) -> (usize, usize) {
    match t.shape().split_first() {
        Some((&n, rest)) => (n, rest.iter().product()),
        None => (0, 0),
    }
}

/// Checks that queries and reference points live in the same space and that k makes sense.
fn check<T: Real>(reference: &Tensor<T>, queries: &Tensor<T>, k: usize) -> Result<(usize, usize)> {
    let (n_ref, dim) = as_rows(reference);
    let (_, dim_q) = as_rows(queries);
    if reference.shape().get(1..) != queries.shape().get(1..) || dim != dim_q {
        return Err(Error::shape(
            "nearest neighbours: queries and reference points must have the same shape per point",
            reference.shape(),
            queries.shape(),
        ));
    }
    if k == 0 || k > n_ref {
        return Err(Error::usage(format!(
            "nearest neighbours: k = {k}, but there are {n_ref} reference points (k must be 1 to {n_ref})"
        )));
    }
    Ok((n_ref, dim))
}

/// Squared Euclidean distance in f64, summed in index order.
pub fn squared_distance<T: Real>(a: &[T], b: &[T]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |sum, (&x, &y)| {
        let d = x.to_f64() - y.to_f64();
        sum + d * d
    })
}

/// `(distance, index)` ordered by distance, then index: the tie rule.
fn closer(a: (f64, usize), b: (f64, usize)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// Brute force: all N distances of each query, fully sorted, the first k kept.
/// `reference: [N, ...]`, `queries: [Q, ...]` -> Q answers of k neighbours each.
pub fn nearest_reference<T: Real>(
    reference: &Tensor<T>,
    queries: &Tensor<T>,
    k: usize,
) -> Result<Vec<Neighbours>> {
    let (n_ref, dim) = check(reference, queries, k)?;
    let (n_q, _) = as_rows(queries);
    let (r, q) = (reference.as_slice(), queries.as_slice());
    Ok((0..n_q)
        .map(|i| {
            let query = &q[i * dim..(i + 1) * dim];
            let mut all: Vec<(f64, usize)> = (0..n_ref)
                .map(|j| (squared_distance(query, &r[j * dim..(j + 1) * dim]), j))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.truncate(k);
            Neighbours {
                indices: all.iter().map(|p| p.1).collect(),
                distances: all.iter().map(|p| p.0).collect(),
            }
        })
        .collect())
}

/// The k nearest reference rows of every query, nearest first (ties: smaller index first).
/// Same answer as [`nearest_reference`], bit for bit, for any thread count.
/// `reference: [N, ...]`, `queries: [Q, ...]` with the same shape per point.
pub fn nearest<T: Real>(
    reference: &Tensor<T>,
    queries: &Tensor<T>,
    k: usize,
) -> Result<Vec<Neighbours>> {
    let (n_ref, dim) = check(reference, queries, k)?;
    let (n_q, _) = as_rows(queries);
    let (r, q) = (reference.as_slice(), queries.as_slice());
    // One slot per query, filled by exactly one task.
    let answers: Vec<OnceLock<Neighbours>> = (0..n_q).map(|_| OnceLock::new()).collect();
    for_each_task(n_q, |i| {
        let query = &q[i * dim..(i + 1) * dim];
        // The best k so far, sorted; a new point enters only if it beats the worst of them.
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        for j in 0..n_ref {
            let candidate = (squared_distance(query, &r[j * dim..(j + 1) * dim]), j);
            if best.len() == k && !closer(candidate, best[k - 1]) {
                continue;
            }
            let at = best.partition_point(|&p| closer(p, candidate));
            best.insert(at, candidate);
            best.truncate(k);
        }
        let answer = Neighbours {
            indices: best.iter().map(|p| p.1).collect(),
            distances: best.iter().map(|p| p.0).collect(),
        };
        answers[i].set(answer).expect("each query is answered once");
    });
    Ok(answers
        .into_iter()
        .map(|a| a.into_inner().expect("every query answered"))
        .collect())
}
