//! Chapter 12. Eigenvalues of a symmetric matrix by cyclic Jacobi rotations, and the symmetric
//! matrix square root the Fréchet distance needs.
//!
//! A symmetric A has an orthonormal basis of eigenvectors: A = V diag(lambda) V^T. Jacobi's
//! method (1846) finds it by plane rotations. For one off-diagonal pair (p, q), the rotation
//! J = [[c, s], [-s, c]] in rows and columns p, q gives A' = J^T A J with a'_pq = 0 when
//!
//! ```text
//!   theta = (a_qq - a_pp) / (2 a_pq),   t = sign(theta) / (|theta| + sqrt(theta^2 + 1)),
//!   c = 1 / sqrt(t^2 + 1),              s = t c
//! ```
//!
//! (t is the smaller root of t^2 + 2 theta t - 1 = 0, so the rotation angle is at most 45 degrees).
//! A rotation can refill entries zeroed earlier, but each one moves a_pq^2 from the off-diagonal
//! to the diagonal, so the off-diagonal mass only falls; visiting every pair in turn (a "sweep")
//! converges quadratically, in a handful of sweeps. The product of the rotations is V.
//!
//! For a positive semi-definite A (a covariance), sqrt(A) = V diag(sqrt(lambda)) V^T; eigenvalues
//! that rounding made slightly negative are taken as zero.

use crate::gemm::{matmul, Op};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Eigenvalues (ascending) and eigenvectors (the columns of `vectors`, in the same order).
#[derive(Clone, Debug)]
pub struct SymmetricEigen<T: Real> {
    pub values: Vec<T>,
    /// V: [n, n]; column j is the eigenvector of `values[j]`.
    pub vectors: Tensor<T>,
}

/// The most sweeps before giving up (convergence takes 6-12 in practice).
const MAX_SWEEPS: usize = 60;

/// A = V diag(values) V^T for a symmetric A: [n, n] (only symmetric input is meaningful; the
/// strict upper and lower triangles are averaged first).
pub fn symmetric_eigen<T: Real>(a: &Tensor<T>) -> SymmetricEigen<T> {
    let (values, vectors) = jacobi(a, true);
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| values[i].to_f64().total_cmp(&values[j].to_f64()));
    let v = vectors.expect("asked for");
    let sorted = Tensor::from_fn(&[n, n], |k| v.at(k / n, order[k % n]));
    SymmetricEigen {
        values: order.iter().map(|&i| values[i]).collect(),
        vectors: sorted,
    }
}

/// The eigenvalues alone (ascending): the same rotations without accumulating V, half the work.
pub fn symmetric_eigenvalues<T: Real>(a: &Tensor<T>) -> Vec<T> {
    let (mut values, _) = jacobi(a, false);
    values.sort_by(|x, y| x.to_f64().total_cmp(&y.to_f64()));
    values
}

/// sqrt(A) for a symmetric positive semi-definite A: the symmetric S with S S = A.
pub fn sqrt_symmetric<T: Real>(a: &Tensor<T>) -> Tensor<T> {
    let e = symmetric_eigen(a);
    let n = e.values.len();
    // V diag(sqrt(lambda)): scale column j of V.
    let mut scaled = e.vectors.clone();
    for i in 0..n {
        for (j, x) in scaled.row_mut(i).iter_mut().enumerate() {
            *x *= e.values[j].max(T::ZERO).sqrt();
        }
    }
    matmul(&scaled, Op::N, &e.vectors, Op::T)
}

/// Cyclic Jacobi: the diagonal after convergence, and V if asked.
fn jacobi<T: Real>(a: &Tensor<T>, want_vectors: bool) -> (Vec<T>, Option<Tensor<T>>) {
    let n = a.rows();
    assert!(
        a.shape() == [n, n],
        "symmetric_eigen: expected a square matrix [n, n], found {:?}",
        a.shape()
    );
    // Work in a plain row-major copy, symmetrised.
    let mut m: Vec<T> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            T::from_f64(0.5) * (a.at(i, j) + a.at(j, i))
        })
        .collect();
    let mut v: Option<Vec<T>> = want_vectors.then(|| {
        (0..n * n)
            .map(|k| if k / n == k % n { T::ONE } else { T::ZERO })
            .collect()
    });
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                // An entry too small to change either diagonal neighbour is rounding noise.
                let tiny = T::from_f64(100.0) * apq.abs();
                if app.abs() + tiny == app.abs() && aqq.abs() + tiny == aqq.abs() {
                    m[p * n + q] = T::ZERO;
                    m[q * n + p] = T::ZERO;
                    continue;
                }
                rotated = true;
                let theta = (aqq - app) / (T::from_f64(2.0) * apq);
                let sign = if theta >= T::ZERO { T::ONE } else { -T::ONE };
                let t = sign / (theta.abs() + (theta * theta + T::ONE).sqrt());
                let c = T::ONE / (t * t + T::ONE).sqrt();
                let s = t * c;
                rotate(&mut m, n, p, q, c, s);
                // The rotation was chosen to zero this pair: make it exactly so.
                m[p * n + q] = T::ZERO;
                m[q * n + p] = T::ZERO;
                if let Some(v) = v.as_mut() {
                    rotate_columns(v, n, p, q, c, s);
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let diagonal = (0..n).map(|i| m[i * n + i]).collect();
    let vectors = v.map(|v| Tensor::from_vec(&[n, n], v).expect("n x n"));
    (diagonal, vectors)
}

/// m <- m J (columns p, q).
fn rotate_columns<T: Real>(m: &mut [T], n: usize, p: usize, q: usize, c: T, s: T) {
    for k in 0..n {
        let (x, y) = (m[k * n + p], m[k * n + q]);
        m[k * n + p] = c * x - s * y;
        m[k * n + q] = s * x + c * y;
    }
}

/// m <- J^T m J.
fn rotate<T: Real>(m: &mut [T], n: usize, p: usize, q: usize, c: T, s: T) {
    rotate_columns(m, n, p, q, c, s);
    for k in 0..n {
        let (x, y) = (m[p * n + k], m[q * n + k]);
        m[p * n + k] = c * x - s * y;
        m[q * n + k] = s * x + c * y;
    }
}
