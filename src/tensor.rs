//! Chapter 2. The one array type: a shape and a flat, contiguous, row-major `Vec`.
//!
//! Clones share their values until one of them writes (copy on write): a layer keeps its input
//! for the backward pass as a clone, and that costs a reference count, not a copy of the batch.
//! Writing through a tensor whose values are shared copies them first, so a tensor still
//! behaves as a value of its own.
//!
//! A matrix is a tensor of rank 2 ([rows, cols]); an image batch is a tensor of rank 4 in
//! NCHW order ([N, C, H, W]: batch, channels, height, width), as in PyTorch. The element at
//! (n, c, h, w) sits at `((n * C + c) * H + h) * W + w`. Strided views for GEMM are in
//! [`crate::gemm::MatRef`].

use crate::error::{Error, Result};
use crate::gemm::{MatMut, MatRef};
use crate::scalar::Real;
use std::sync::Arc;

#[derive(Clone, PartialEq)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Arc<Vec<T>>,
}

impl<T: Clone> Tensor<T> {
    /// The values, for writing: copied first if another clone shares them.
    fn values_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.data)
    }
}

impl<T: Real> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "Tensor{:?} [", self.shape)?;
        for (i, x) in self.data.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{x}")?;
        }
        if self.data.len() > SHOWN {
            write!(f, ", ... ({} more)", self.data.len() - SHOWN)?;
        }
        write!(f, "]")
    }
}

impl<T: Real> Tensor<T> {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::ZERO)
    }

    /// A tensor with every element equal to `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: Arc::new(vec![value; shape.iter().product()]),
        }
    }

    /// Wraps `data`; its length must be the product of `shape`.
    ///
    /// ```
    /// use gan::Tensor;
    /// let x = Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    /// assert_eq!(x.row(1), &[4.0, 5.0, 6.0]);
    /// let err = Tensor::from_vec(&[2, 3], vec![0.0f32; 5]).unwrap_err();
    /// assert_eq!(err.to_string(), "Tensor::from_vec: expected shape [2, 3] (6 elements), found 5 elements");
    /// ```
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(Error::shape_text(
                "Tensor::from_vec",
                format!("{shape:?} ({expected} elements)"),
                format!("{} elements", data.len()),
            ));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data: Arc::new(data),
        })
    }

    /// Element i of the flat data is `f(i)`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> T) -> Self {
        let len = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: Arc::new((0..len).map(f).collect()),
        }
    }

    /// A rank-2 tensor from rows of equal length (handy in tests and examples).
    pub fn from_rows(rows: &[&[T]]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.len());
        if let Some(bad) = rows.iter().find(|r| r.len() != cols) {
            return Err(Error::shape("Tensor::from_rows row", cols, bad.len()));
        }
        Self::from_vec(&[rows.len(), cols], rows.concat())
    }

    /// Converts between precisions (f32 <-> f64) element by element.
    pub fn cast<U: Real>(&self) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: Arc::new(self.data.iter().map(|x| U::from_f64(x.to_f64())).collect()),
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.values_mut()
    }
    pub fn into_vec(self) -> Vec<T> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The same data under another shape with the same number of elements.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != self.data.len() {
            return Err(Error::shape("Tensor::reshape", &self.shape, shape));
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Panics with both shapes unless this tensor has exactly `shape`. For internal invariants;
    /// anything a user supplies is checked with [`Tensor::check_shape`] instead.
    #[track_caller]
    pub fn assert_shape(&self, what: &str, shape: &[usize]) {
        assert!(
            self.shape == shape,
            "{what}: expected shape {shape:?}, found {:?}",
            self.shape
        );
    }

    pub fn check_shape(&self, what: &str, shape: &[usize]) -> Result<()> {
        if self.shape == shape {
            Ok(())
        } else {
            Err(Error::shape(what, shape, &self.shape))
        }
    }

    // ---- rank 2: the matrix view -------------------------------------------------------------

    /// Rows of a matrix; for higher ranks, the first dimension (the batch).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Columns of a matrix; for higher ranks, everything after the first dimension.
    pub fn cols(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Row i (for rank 4, image i of the batch, flattened).
    pub fn row(&self, i: usize) -> &[T] {
        let c = self.cols();
        &self.data[i * c..(i + 1) * c]
    }
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        let c = self.cols();
        &mut self.values_mut()[i * c..(i + 1) * c]
    }

    /// Rows (for rank 4, images) `range` of the first dimension, copied into a tensor of their own:
    /// a batch cut into chunks.
    ///
    /// ```
    /// let batch = gan::Tensor::<f32>::from_fn(&[4, 1, 2, 2], |i| i as f32);
    /// let middle = batch.rows_range(1..3);
    /// assert_eq!(middle.shape(), &[2, 1, 2, 2]);
    /// assert_eq!(middle.as_slice()[0], 4.0);
    /// ```
    pub fn rows_range(&self, range: std::ops::Range<usize>) -> Self {
        let c = self.cols();
        let mut shape = self.shape.clone();
        shape[0] = range.len();
        Tensor {
            shape,
            data: Arc::new(self.data[range.start * c..range.end * c].to_vec()),
        }
    }

    /// The element at (i, j) of a matrix.
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.cols() + j]
    }
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut T {
        let c = self.cols();
        &mut self.values_mut()[i * c + j]
    }

    /// A read-only [rows, cols] view for GEMM (see [`Tensor::rows`] and [`Tensor::cols`]).
    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::new(&self.data, self.rows(), self.cols())
    }
    pub fn view_mut(&mut self) -> MatMut<'_, T> {
        let (r, c) = (self.rows(), self.cols());
        MatMut::new(self.values_mut(), r, c)
    }

    /// The transpose of a matrix, as a new contiguous matrix.
    pub fn transpose(&self) -> Self {
        assert_eq!(
            self.shape.len(),
            2,
            "transpose needs a matrix, found shape {:?}",
            self.shape
        );
        let (r, c) = (self.shape[0], self.shape[1]);
        Tensor::from_fn(&[c, r], |k| self.data[(k % r) * c + k / r])
    }

    // ---- element-wise ------------------------------------------------------------------------

    pub fn fill(&mut self, value: T) {
        self.values_mut().fill(value);
    }

    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Tensor {
            shape: self.shape.clone(),
            data: Arc::new(self.data.iter().map(|&x| f(x)).collect()),
        }
    }

    pub fn map_inplace(&mut self, f: impl Fn(T) -> T) {
        self.values_mut().iter_mut().for_each(|x| *x = f(*x));
    }

    /// `f(self[i], other[i])` for every i; the shapes must agree.
    #[track_caller]
    pub fn zip_map(&self, other: &Self, f: impl Fn(T, T) -> T) -> Self {
        other.assert_shape("zip_map", &self.shape);
        Tensor {
            shape: self.shape.clone(),
            data: Arc::new(
                self.data
                    .iter()
                    .zip(other.data.iter())
                    .map(|(&a, &b)| f(a, b))
                    .collect(),
            ),
        }
    }

    /// self += alpha * x (the BLAS "axpy").
    #[track_caller]
    pub fn axpy(&mut self, alpha: T, x: &Self) {
        x.assert_shape("axpy", &self.shape);
        for (y, &x) in self.values_mut().iter_mut().zip(x.data.iter()) {
            *y += alpha * x;
        }
    }

    pub fn scale(&mut self, alpha: T) {
        self.map_inplace(|x| alpha * x);
    }

    /// Sum of all elements, accumulated in f64 so that large tensors lose no precision.
    pub fn sum(&self) -> T {
        T::from_f64(self.data.iter().map(|x| x.to_f64()).sum())
    }

    pub fn mean(&self) -> T {
        T::from_f64(self.sum().to_f64() / self.data.len().max(1) as f64)
    }

    /// Inner product <self, other> of two tensors of the same shape (in f64).
    #[track_caller]
    pub fn dot(&self, other: &Self) -> f64 {
        other.assert_shape("dot", &self.shape);
        self.data
            .iter()
            .zip(other.data.iter())
            .map(|(a, b)| a.to_f64() * b.to_f64())
            .sum()
    }

    /// Column sums of a matrix: `[rows, cols] -> [cols]`.
    pub fn sum_rows(&self) -> Self {
        let c = self.cols();
        let mut out = Tensor::zeros(&[c]);
        for i in 0..self.rows() {
            for (o, &x) in out.values_mut().iter_mut().zip(self.row(i)) {
                *o += x;
            }
        }
        out
    }

    /// For each row, the index of its largest element (the first one on ties).
    pub fn argmax_rows(&self) -> Vec<usize> {
        (0..self.rows())
            .map(|i| {
                let row = self.row(i);
                let mut best = 0;
                for (j, &x) in row.iter().enumerate() {
                    if x > row[best] {
                        best = j;
                    }
                }
                best
            })
            .collect()
    }

    pub fn max_abs(&self) -> T {
        self.data.iter().fold(T::ZERO, |m, &x| m.max(x.abs()))
    }

    /// The largest `|self[i] - other[i]|`.
    #[track_caller]
    pub fn max_abs_diff(&self, other: &Self) -> T {
        other.assert_shape("max_abs_diff", &self.shape);
        self.data
            .iter()
            .zip(other.data.iter())
            .fold(T::ZERO, |m, (&a, &b)| m.max((a - b).abs()))
    }

    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }
}

impl<T> std::ops::Index<usize> for Tensor<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.data[i]
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Tensor<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.values_mut()[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_checks_the_element_count() {
        let err = Tensor::<f32>::from_vec(&[2, 3], vec![0.0; 5]).unwrap_err();
        assert!(err.to_string().contains("[2, 3] (6 elements)"), "{err}");
        assert!(err.to_string().contains("found 5 elements"), "{err}");
    }

    #[test]
    fn transpose_and_rows() {
        let a = Tensor::from_rows(&[&[1.0f64, 2.0, 3.0], &[4.0, 5.0, 6.0]]).unwrap();
        let t = a.transpose();
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(a.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(a.sum_rows().as_slice(), &[5.0, 7.0, 9.0]);
        assert_eq!(a.argmax_rows(), vec![2, 2]);
    }

    #[test]
    fn nchw_rows_are_images() {
        let x = Tensor::<f32>::from_fn(&[2, 3, 4, 5], |i| i as f32);
        assert_eq!(x.rows(), 2);
        assert_eq!(x.cols(), 60);
        assert_eq!(x.row(1)[0], 60.0);
    }

    #[test]
    fn clones_share_values_until_one_writes() {
        let a = Tensor::<f32>::from_fn(&[2, 3], |i| i as f32);
        let mut b = a.clone();
        // Shared: the same memory, no copy yet.
        assert_eq!(a.as_slice().as_ptr(), b.as_slice().as_ptr());
        // A write copies first, so the original keeps its values.
        b.as_mut_slice()[0] = 7.0;
        assert_ne!(a.as_slice().as_ptr(), b.as_slice().as_ptr());
        assert_eq!(a.as_slice(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(b.as_slice(), &[7.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // Every way of writing goes through the copy: fill, index, rows, elements, in-place maps.
        let mut c = a.clone();
        c.fill(1.0);
        let mut d = a.clone();
        d[5] = -1.0;
        let mut e = a.clone();
        e.row_mut(0)[1] = 9.0;
        *e.at_mut(1, 0) = 6.0;
        let mut f = a.clone();
        f.scale(2.0);
        assert_eq!(a.as_slice(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((c[0], d[5], e[1], e[3], f[5]), (1.0, -1.0, 9.0, 6.0, 10.0));
        // A tensor alone is written in place, and `into_vec` hands over its vector.
        let ptr = b.as_slice().as_ptr();
        b.as_mut_slice()[1] = 8.0;
        assert_eq!(b.as_slice().as_ptr(), ptr);
        let values = b.into_vec();
        assert_eq!(values.as_ptr(), ptr);
    }
}
