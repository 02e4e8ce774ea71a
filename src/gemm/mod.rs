//! Chapter 2. GEMM, the engine under every layer: C <- alpha * op(A) * op(B) + beta * C.
//!
//! Two versions with one signature:
//! - [`gemm_reference`]: the plain triple loop, for teaching and as the truth in tests;
//! - [`gemm`]: cache blocking, packing and a register-blocked micro-kernel (AVX2/FMA or AVX-512
//!   when the CPU has it, a portable one otherwise), on the thread pool.
//!
//! [`gemm_implicit`] is the same product with B given not as a matrix but as anything that can
//! write B's packed panels ([`PackB`]): a convolution packs them straight from its images
//! (chapter 13).
//!
//! op(A) is A or its transpose: a transposed matrix is just a view with its strides swapped
//! ([`MatRef::t`]), so one routine covers all four transpose combinations.

mod blocked;
mod dots;
pub mod kernel;
mod pack;
#[cfg(target_arch = "x86_64")]
mod pack_avx;
mod reference;

pub use blocked::{gemm, gemm_implicit, gemm_with_kernel};
pub(crate) use blocked::{through_full_tile, EDGE_TILE_LEN, KC};
pub use dots::{gemm_nt_by_dots, gemm_nt_by_dots_with_kernel};
pub(crate) use dots::{gemm_nt_by_dots_in_place, RowsInPieces, DOTS_KC};
pub use kernel::Kernel;
pub use pack::PackB;
#[cfg(target_arch = "x86_64")]
pub(crate) use pack_avx::{supported as avx_supported, transpose_blocks_f32};
pub use reference::gemm_reference;

use crate::scalar::Real;
use crate::tensor::Tensor;

/// A read-only matrix view: element (i, j) is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// A row-major [rows, cols] view of `data`.
    #[track_caller]
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self::with_strides(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides (in elements). Panics if an element would fall outside `data`.
    #[track_caller]
    pub fn with_strides(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * row_stride + (cols - 1) * col_stride;
            assert!(
                last < data.len(),
                "MatRef: a [{rows}, {cols}] view with strides ({row_stride}, {col_stride}) needs {} elements, found {}",
                last + 1,
                data.len()
            );
        }
        MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// A mutable row-major matrix view (the C of GEMM): element (i, j) is `data[i * row_stride + j]`.
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a, T: Copy> MatMut<'a, T> {
    #[track_caller]
    pub fn new(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        Self::with_row_stride(data, rows, cols, cols)
    }

    #[track_caller]
    pub fn with_row_stride(data: &'a mut [T], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(
            row_stride >= cols,
            "MatMut: row stride {row_stride} is less than the {cols} columns"
        );
        if rows > 0 && cols > 0 {
            let needed = (rows - 1) * row_stride + cols;
            assert!(
                needed <= data.len(),
                "MatMut: a [{rows}, {cols}] view with row stride {row_stride} needs {needed} elements, found {}",
                data.len()
            );
        }
        MatMut {
            data,
            rows,
            cols,
            row_stride,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i * self.row_stride + j]
    }
    #[inline(always)]
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut T {
        &mut self.data[i * self.row_stride + j]
    }
}

/// Checks that op(A) is [m, k], op(B) is [k, n] and C is [m, n], and returns (m, n, k).
#[track_caller]
fn gemm_dims<T: Copy>(a: &MatRef<T>, b: &MatRef<T>, c: &MatMut<T>) -> (usize, usize, usize) {
    assert!(
        a.cols == b.rows && a.rows == c.rows && b.cols == c.cols,
        "gemm: op(A) is [{}, {}], op(B) is [{}, {}], C is [{}, {}]; expected [m, k] x [k, n] -> [m, n]",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    (a.rows, b.cols, a.cols)
}

/// Whether a GEMM operand is used as it is or transposed (the BLAS "op").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// op(X) = X
    N,
    /// op(X) = X^T
    T,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// This view under `op`.
    pub fn op(self, op: Op) -> Self {
        match op {
            Op::N => self,
            Op::T => self.t(),
        }
    }
}

/// op(A) * op(B) for two matrices (rank-2 tensors), as a new matrix, with the fast GEMM.
///
/// ```
/// use gan::gemm::{matmul, Op};
/// use gan::Tensor;
/// let a = Tensor::from_rows(&[&[1.0f32, 2.0], &[3.0, 4.0]]).unwrap();
/// let b = Tensor::from_rows(&[&[5.0f32, 6.0], &[7.0, 8.0]]).unwrap();
/// assert_eq!(matmul(&a, Op::N, &b, Op::N).as_slice(), &[19.0, 22.0, 43.0, 50.0]);
/// assert_eq!(matmul(&a, Op::T, &b, Op::N).as_slice(), &[26.0, 30.0, 38.0, 44.0]); // A^T B
/// ```
#[track_caller]
pub fn matmul<T: Real>(a: &Tensor<T>, op_a: Op, b: &Tensor<T>, op_b: Op) -> Tensor<T> {
    let (a, b) = (a.view().op(op_a), b.view().op(op_b));
    let mut c = Tensor::zeros(&[a.rows(), b.cols()]);
    gemm(T::ONE, a, b, T::ZERO, c.view_mut());
    c
}
