//! The portable kernel: plain Rust that any CPU runs (and that LLVM vectorises where it can).
//! No fused multiply-add: without hardware FMA, `mul_add` would be a slow library call.

use super::{always, Kernel};
use crate::scalar::Real;

const MR: usize = 4;
const NR: usize = 8;

pub(super) const F32: Kernel<f32> = Kernel {
    name: "generic 4x8",
    mr: MR,
    nr: NR,
    run: tile::<f32>,
    supported: always,
};

pub(super) const F64: Kernel<f64> = Kernel {
    name: "generic 4x8",
    mr: MR,
    nr: NR,
    run: tile::<f64>,
    supported: always,
};

/// # Safety
/// See [`super::KernelFn`].
unsafe fn tile<T: Real>(
    k: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
    rsc: usize,
    alpha: T,
    beta: T,
) {
    let a = std::slice::from_raw_parts(a, k * MR);
    let b = std::slice::from_raw_parts(b, k * NR);
    let mut acc = [[T::ZERO; NR]; MR];
    for p in 0..k {
        let (ap, bp) = (&a[p * MR..p * MR + MR], &b[p * NR..p * NR + NR]);
        for i in 0..MR {
            for j in 0..NR {
                acc[i][j] += ap[i] * bp[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let c_row = std::slice::from_raw_parts_mut(c.add(i * rsc), NR);
        for (cij, &sum) in c_row.iter_mut().zip(row) {
            *cij = if beta == T::ZERO {
                alpha * sum
            } else {
                alpha * sum + beta * *cij
            };
        }
    }
}
