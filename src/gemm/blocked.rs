//! The fast GEMM: the five loops of the BLIS design around a register-blocked micro-kernel.
//!
//! ```text
//! LOOP 5  for each block of NC columns of B and C           (jc)
//! LOOP 4    for each block of KC of the shared dimension      (pc)   pack B[pc, jc] -> panels of NR columns
//!                                                                    pack A[:, pc]  -> panels of MR rows
//! LOOP 3      for each block of MC rows of A and C    \
//! LOOP 2        for each panel of NR columns           > parallel: each task owns a block of C
//! LOOP 1          for each panel of MR rows           /
//!                   micro-kernel: MR x NR tile of C += A panel * B panel
//! ```
//!
//! Why it is fast: a KC x NR panel of B stays in L1 cache while the kernel sweeps the MC rows of
//! A (an MC x KC block that stays in L2), and every value of C is loaded and stored once per
//! KC-block instead of once per multiply-add.
//!
//! Why it is deterministic: a task is a rectangle of C; every element of C sums its k terms in
//! the same order (KC-block by KC-block, in increasing p) whoever computes it. Threads change
//! only who computes which rectangle, never a sum.
//!
//! Thin products skip the blocking: when C is a single row or column ([`matrix_vector`], e.g. a
//! discriminator's one logit per image) or k = 1 ([`outer_product`]), a tile would be mostly
//! padding. They too give every value of C to one task, summed in a fixed order.

use super::kernel::{best_kernel, Kernel};
use super::pack::{pack_a, PackB};
use super::{gemm_dims, MatMut, MatRef};
use crate::parallel::{for_each_task, threads, SharedMut};
use crate::scalar::Real;
use crate::scratch;

/// Depth of a packed block. A KC x NR panel of B (32 KiB for f32 at NR = 16) is reused from L1
/// by every panel of A; 512 measured best among 192..768 on a 2-core AVX2 machine (chapter 2).
pub(crate) const KC: usize = 512;
/// Rows per block of A: an MC x KC block of A (384 KiB for f32) stays in L2.
const MC: usize = 192;
/// Columns per block of B: the packed KC x NC block (8 MiB for f32) stays in L3.
const NC: usize = 4096;
// Every kernel's MR (4, 6 or 8) divides MC, so MC-blocks start on panel boundaries.
const _: () = assert!(MC.is_multiple_of(24));
/// Below this many multiply-adds, threads cost more than they save.
const PARALLEL_MIN_WORK: usize = 96 * 96 * 96;
/// Packing is cut into a few tasks per thread, not one: on a busy machine a thread can be
/// paused mid-task, and with small tasks the others take over the rest of the work instead of
/// waiting.
const PACK_TASKS_PER_THREAD: usize = 4;

/// C <- alpha * A * B + beta * C with the fastest kernel this CPU supports.
///
/// A is [m, k], B is [k, n], C is [m, n]; pass `a.t()` for A^T. When beta is 0, C is only
/// written, never read, so it may hold anything (even NaN), as in BLAS.
#[track_caller]
pub fn gemm<T: Real>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    gemm_with_kernel(best_kernel::<T>(), alpha, a, b, beta, c)
}

/// [`gemm`] with a chosen micro-kernel (tests compare every kernel the CPU supports).
#[track_caller]
pub fn gemm_with_kernel<T: Real>(
    kernel: &Kernel<T>,
    alpha: T,
    a: MatRef<T>,
    b: MatRef<T>,
    beta: T,
    c: MatMut<T>,
) {
    let (m, n, k) = gemm_dims(&a, &b, &c);
    assert!(
        kernel.is_supported(),
        "gemm: this CPU cannot run the kernel {}",
        kernel.name
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::ZERO {
        scale_c(beta, c);
        return;
    }
    if m == 1 || n == 1 {
        matrix_vector(alpha, a, b, beta, c);
        return;
    }
    if k == 1 {
        outer_product(alpha, a, b, beta, c);
        return;
    }
    blocked(kernel, alpha, a, &b, beta, c);
}

/// C <- alpha * A * B + beta * C where B is not a matrix in memory but whatever writes its
/// packed panels ([`PackB`]): a convolution's column matrix, written straight from the image
/// ("implicit GEMM", chapter 13). Same blocking, same kernel, same order of every sum as
/// [`gemm`], so the same bits as `gemm` on the materialised B.
#[track_caller]
pub fn gemm_implicit<T: Real>(alpha: T, a: MatRef<T>, b: &impl PackB<T>, beta: T, c: MatMut<T>) {
    let (k, n) = b.dims();
    assert!(
        a.cols == k && a.rows == c.rows && n == c.cols,
        "gemm_implicit: A is [{}, {}], B is [{k}, {n}], C is [{}, {}]; expected [m, k] x [k, n] -> [m, n]",
        a.rows,
        a.cols,
        c.rows,
        c.cols
    );
    if a.rows == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::ZERO {
        scale_c(beta, c);
        return;
    }
    blocked(best_kernel::<T>(), alpha, a, b, beta, c);
}

/// The five loops, for any source of B panels.
fn blocked<T: Real>(
    kernel: &Kernel<T>,
    alpha: T,
    a: MatRef<T>,
    b: &impl PackB<T>,
    beta: T,
    c: MatMut<T>,
) {
    let (m, (k, n)) = (a.rows, b.dims());
    let (mr, nr) = (kernel.mr, kernel.nr);
    let rsc = c.row_stride;
    let c_ptr = SharedMut(c.data.as_mut_ptr());
    let parallel = m * n * k >= PARALLEL_MIN_WORK;
    let n_tasks_for = |n: usize| if parallel { n } else { 1 };

    // Packing writes every element it later reads, so reused (stale) buffers are fine.
    let mut packed_b = scratch::take::<T>(KC * NC.min(n).div_ceil(nr) * nr);
    let mut packed_a = scratch::take::<T>(m.div_ceil(mr) * mr * KC);

    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        let b_panels = nc.div_ceil(nr);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            // After the first KC-block, C already holds alpha * (partial sum) + beta * C.
            let beta = if pc == 0 { beta } else { T::ONE };

            // Pack B[pc.., jc..] and all of A[.., pc..], panel ranges split over tasks, in one
            // set of tasks (one wait for the threads instead of two).
            let b_out = SharedMut(packed_b.as_mut_ptr());
            let b_chunks = split(b_panels, n_tasks_for(PACK_TASKS_PER_THREAD * threads()));
            let a_panels = m.div_ceil(mr);
            let a_out = SharedMut(packed_a.as_mut_ptr());
            let a_chunks = split(a_panels, n_tasks_for(PACK_TASKS_PER_THREAD * threads()));
            for_each_task(b_chunks.len() + a_chunks.len(), |t| {
                if t < b_chunks.len() {
                    let (p0, p1) = b_chunks[t];
                    // SAFETY: tasks own disjoint ranges of whole panels [p0, p1) of B.
                    let out = unsafe {
                        std::slice::from_raw_parts_mut(
                            b_out.get().add(p0 * nr * kc),
                            (p1 - p0) * nr * kc,
                        )
                    };
                    let cols = (p1 * nr).min(nc) - p0 * nr;
                    b.pack(pc, kc, jc + p0 * nr, cols, nr, out);
                } else {
                    let (p0, p1) = a_chunks[t - b_chunks.len()];
                    // SAFETY: tasks own disjoint ranges of whole panels [p0, p1) of A.
                    let out = unsafe {
                        std::slice::from_raw_parts_mut(
                            a_out.get().add(p0 * mr * kc),
                            (p1 - p0) * mr * kc,
                        )
                    };
                    let rows = (p1 * mr).min(m) - p0 * mr;
                    pack_a(&a, p0 * mr, rows, pc, kc, mr, out);
                }
            });

            // The tasks: MC-blocks of rows times groups of B panels.
            let row_blocks = m.div_ceil(MC);
            // Enough tasks (about 8 per thread) that threads finishing early find more work.
            let col_groups = split(b_panels, n_tasks_for((8 * threads()).div_ceil(row_blocks)));
            let (packed_a, packed_b) = (&packed_a, &packed_b);
            for_each_task(row_blocks * col_groups.len(), |t| {
                let (ic, (q0, q1)) = (
                    (t / col_groups.len()) * MC,
                    col_groups[t % col_groups.len()],
                );
                let mc = MC.min(m - ic);
                for q in q0..q1 {
                    let b_panel = &packed_b[q * nr * kc..(q + 1) * nr * kc];
                    let j0 = jc + q * nr;
                    let nr_live = nr.min(n - j0);
                    for ir in (ic..ic + mc).step_by(mr) {
                        let a_panel = &packed_a[(ir / mr) * mr * kc..(ir / mr + 1) * mr * kc];
                        let mr_live = mr.min(m - ir);
                        // SAFETY: this task alone owns rows ic..ic+mc and columns of panels q0..q1
                        // of C, and (ir, j0) is inside C.
                        unsafe {
                            let tile = c_ptr.get().add(ir * rsc + j0);
                            if mr_live == mr && nr_live == nr {
                                kernel.run(
                                    kc,
                                    a_panel.as_ptr(),
                                    b_panel.as_ptr(),
                                    tile,
                                    rsc,
                                    alpha,
                                    beta,
                                );
                            } else {
                                edge_tile(
                                    kernel, kc, a_panel, b_panel, tile, rsc, mr_live, nr_live,
                                    alpha, beta,
                                );
                            }
                        }
                    }
                }
            });
        }
    }
    scratch::give_back(packed_a);
    scratch::give_back(packed_b);
}

/// A tile that sticks out of C: run the kernel on a full-size copy and copy back what is inside,
/// so that edge elements get exactly the arithmetic of interior ones.
///
/// # Safety
/// `tile` points at an `mr_live x nr_live` part of C with row stride `rsc`.
#[allow(clippy::too_many_arguments)]
unsafe fn edge_tile<T: Real>(
    kernel: &Kernel<T>,
    kc: usize,
    a_panel: &[T],
    b_panel: &[T],
    tile: *mut T,
    rsc: usize,
    mr_live: usize,
    nr_live: usize,
    alpha: T,
    beta: T,
) {
    let mut buf = [T::ZERO; EDGE_TILE_LEN];
    through_full_tile(
        kernel,
        tile,
        rsc,
        mr_live,
        nr_live,
        beta,
        &mut buf,
        |full, rs| {
            kernel.run(
                kc,
                a_panel.as_ptr(),
                b_panel.as_ptr(),
                full,
                rs,
                alpha,
                beta,
            )
        },
    );
}

/// Values of the largest tile of any kernel (8 x 32).
pub(crate) const EDGE_TILE_LEN: usize = 8 * 32;

/// Runs `run(full, rsc)` on `buf` as a whole MR x NR tile in place of the `mr_live x nr_live`
/// part of C at `tile`: C's values are copied in first when beta reads them, and the live part
/// is copied back. Edge tiles of the GEMM and of the direct convolution go through here.
///
/// # Safety
/// `tile` points at an `mr_live x nr_live` part of C with row stride `rsc`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn through_full_tile<T: Real>(
    kernel: &Kernel<T>,
    tile: *mut T,
    rsc: usize,
    mr_live: usize,
    nr_live: usize,
    beta: T,
    buf: &mut [T; EDGE_TILE_LEN],
    run: impl FnOnce(*mut T, usize),
) {
    let (mr, nr) = (kernel.mr, kernel.nr);
    debug_assert!(mr * nr <= buf.len());
    if beta != T::ZERO {
        for i in 0..mr_live {
            for j in 0..nr_live {
                buf[i * nr + j] = *tile.add(i * rsc + j);
            }
        }
    }
    run(buf.as_mut_ptr(), nr);
    for i in 0..mr_live {
        for j in 0..nr_live {
            *tile.add(i * rsc + j) = buf[i * nr + j];
        }
    }
}

/// At most this many values of C per task of [`matrix_vector`]...
const VECTOR_CHUNK: usize = 1024;
/// ...and about this many multiply-adds.
const VECTOR_TASK_WORK: usize = 1 << 16;

/// C <- alpha * A * B + beta * C when C is one row (m = 1) or one column (n = 1).
///
/// A tile kernel would compute a whole MR x NR tile to keep one row or one column of it, and
/// packing would copy the matrix for a single use. Here each value of C is a sum that one task
/// takes in a fixed order:
/// - when the matrix is contiguous along k (a row-major A times a column): a dot product per
///   value, in [`LANES`] interleaved partial sums added together at the end;
/// - otherwise: terms p = 0, 1, ... in order, one column of the matrix at a time (an "axpy"),
///   which the compiler vectorises across the values of C when that column is contiguous.
fn matrix_vector<T: Real>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    // The vector of C (length m or n), with the matrix and vector it comes from:
    // out[i] = sum_p mat[i, p] * vec[p].
    let (len, mat, vec) = if m == 1 { (n, b.t(), a.t()) } else { (m, a, b) };
    let c_stride = if m == 1 { 1 } else { c.row_stride };
    let c_ptr = SharedMut(c.data.as_mut_ptr());
    let chunk = (VECTOR_TASK_WORK / k).clamp(1, VECTOR_CHUNK);
    let run = |t: usize| {
        let (i0, i1) = (t * chunk, ((t + 1) * chunk).min(len));
        let mut sums = [T::ZERO; VECTOR_CHUNK];
        let sums = &mut sums[..i1 - i0];
        if mat.col_stride == 1 && vec.row_stride == 1 && mat.rows > 1 {
            for (i, sum) in (i0..i1).zip(sums.iter_mut()) {
                let row = &mat.data[i * mat.row_stride..][..k];
                *sum = dot(row, &vec.data[..k]);
            }
        } else if mat.row_stride == 1 {
            for p in 0..k {
                let v = vec.at(p, 0);
                let column = &mat.data[p * mat.col_stride + i0..][..i1 - i0];
                for (sum, &x) in sums.iter_mut().zip(column) {
                    *sum += x * v;
                }
            }
        } else {
            for p in 0..k {
                let v = vec.at(p, 0);
                for (i, sum) in (i0..i1).zip(sums.iter_mut()) {
                    *sum += mat.at(i, p) * v;
                }
            }
        }
        for (i, &sum) in (i0..i1).zip(sums.iter()) {
            // SAFETY: task t alone owns values i0..i1 of C's row or column, all inside C.
            unsafe {
                let out = c_ptr.get().add(i * c_stride);
                *out = if beta == T::ZERO {
                    alpha * sum
                } else {
                    alpha * sum + beta * *out
                };
            }
        }
    };
    let chunks = len.div_ceil(chunk);
    if len * k >= 2 * VECTOR_TASK_WORK {
        for_each_task(chunks, run);
    } else {
        (0..chunks).for_each(run);
    }
}

/// C <- alpha * A * B + beta * C when k = 1: row i of C is A[i, 0] times the one row of B.
/// There is no sum to block for; the tile kernel would only add call overhead and store C in
/// tall, narrow tiles, which is slow when C's rows are far apart in memory.
fn outer_product<T: Real>(alpha: T, a: MatRef<T>, b: MatRef<T>, beta: T, c: MatMut<T>) {
    let (m, n) = (a.rows, b.cols);
    let rsc = c.row_stride;
    let c_ptr = SharedMut(c.data.as_mut_ptr());
    let b_row: Vec<T> = (0..n).map(|j| b.at(0, j)).collect();
    let run = |i: usize| {
        // SAFETY: task i alone writes row i of C, which is inside C.
        let row = unsafe { std::slice::from_raw_parts_mut(c_ptr.get().add(i * rsc), n) };
        let a_i = a.at(i, 0);
        if beta == T::ZERO {
            row.iter_mut()
                .zip(&b_row)
                .for_each(|(c, &b)| *c = alpha * (a_i * b));
        } else {
            row.iter_mut()
                .zip(&b_row)
                .for_each(|(c, &b)| *c = alpha * (a_i * b) + beta * *c);
        }
    };
    if m * n >= 2 * VECTOR_TASK_WORK {
        for_each_task(m, run);
    } else {
        (0..m).for_each(run);
    }
}

/// Partial sums of [`dot`]: independent chains the CPU can overlap and the compiler can
/// vectorise.
const LANES: usize = 16;

/// sum_p x[p] * y[p], as LANES partial sums (p mod LANES) added at the end in a fixed order.
fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    let mut lanes = [T::ZERO; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    // The last partial chunk, padded with zeros, so that every step has the same shape.
    let (mut x_rest, mut y_rest) = ([T::ZERO; LANES], [T::ZERO; LANES]);
    x_rest[..xs.remainder().len()].copy_from_slice(xs.remainder());
    y_rest[..ys.remainder().len()].copy_from_slice(ys.remainder());
    for (xc, yc) in xs.zip(ys).chain([(&x_rest[..], &y_rest[..])]) {
        for l in 0..LANES {
            lanes[l] += xc[l] * yc[l];
        }
    }
    lanes.iter().fold(T::ZERO, |s, &v| s + v)
}

/// C <- beta * C (what GEMM does when k = 0 or alpha = 0).
fn scale_c<T: Real>(beta: T, mut c: MatMut<T>) {
    for i in 0..c.rows {
        for j in 0..c.cols {
            let v = if beta == T::ZERO {
                T::ZERO
            } else {
                beta * c.at(i, j)
            };
            *c.at_mut(i, j) = v;
        }
    }
}

/// Splits 0..n into at most `parts` contiguous, nearly equal ranges (none empty).
fn split(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|t| (t * n / parts, (t + 1) * n / parts))
        .filter(|(a, b)| b > a)
        .collect()
}
