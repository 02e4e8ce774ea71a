//! Packing: copying a block of A or B into the order in which the micro-kernel reads it.
//!
//! A block of A ([mc, kc]) becomes a sequence of panels of MR rows; inside a panel, the MR
//! values of column p are adjacent: `panel[p * MR + i] = A[i, p]`. A block of B ([kc, nc])
//! becomes panels of NR columns: `panel[p * NR + j] = B[p, j]`. The kernel then streams both with
//! unit stride, whatever the strides (or transposition) of the original. A last, partial panel is
//! padded with zeros so that the kernel always works on full tiles.
//!
//! Both are one operation, [`pack_panel`]: a panel has `width` lanes (rows of A, columns of B)
//! and `depth` steps along k, and `panel[p * width + i]` = lane i at step p.

use super::MatRef;
use crate::scalar::Real;
use std::any::TypeId;

/// Packs rows `row0 .. row0 + rows` and columns `col0 .. col0 + depth` of A, panel by panel of
/// `mr` rows, into `out` (length: rows rounded up to mr, times depth).
pub(super) fn pack_a<T: Real>(
    a: &MatRef<T>,
    row0: usize,
    rows: usize,
    col0: usize,
    depth: usize,
    mr: usize,
    out: &mut [T],
) {
    // A panel of A's rows is a panel of A^T's columns.
    a.t().pack(col0, depth, row0, rows, mr, out);
}

/// What the GEMM needs of its B operand ([k, n]): its panels. A matrix in memory copies them
/// out of itself; a convolution can write them straight from the image, so that its column
/// matrix never exists whole (chapter 13, "implicit GEMM").
pub trait PackB<T>: Sync {
    /// (k, n): B is [k, n].
    fn dims(&self) -> (usize, usize);

    /// Packs rows `row0 .. row0 + depth` and columns `col0 .. col0 + cols` of B, panel by panel
    /// of `nr` columns, into `out`: `out[q * nr * depth + p * nr + j] = B[row0 + p, col0 + q * nr
    /// + j]`, and zero for the columns of the last panel past `cols`.
    fn pack(&self, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, out: &mut [T]);
}

impl<T: Real> PackB<T> for MatRef<'_, T> {
    fn dims(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn pack(&self, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, out: &mut [T]) {
        let block = Block {
            start: row0 * self.row_stride + col0 * self.col_stride,
            lane_stride: self.col_stride,
            depth_stride: self.row_stride,
            lanes: cols,
        };
        pack_block(self.data, &block, nr, depth, out);
    }
}

/// A block to pack: lane i at step p is `data[start + i * lane_stride + p * depth_stride]`,
/// for lanes 0..lanes (rows of A, columns of B) and steps 0..depth (along k).
struct Block {
    start: usize,
    lane_stride: usize,
    depth_stride: usize,
    lanes: usize,
}

/// Packs a block into panels of `width` lanes.
///
/// When the lanes of a step are adjacent (B row-major, A transposed), a panel reads a short run
/// of each of `depth` rows of the source. Panel after panel, the rows are then read a piece at
/// a time, a pattern the hardware prefetcher does not follow when the rows are far apart (the
/// rows of an im2col matrix are kilobytes apart). So those blocks are packed in strips of a few
/// steps across all panels, which reads every source row from left to right.
fn pack_block<T: Real>(data: &[T], block: &Block, width: usize, depth: usize, out: &mut [T]) {
    const STRIP: usize = 8;
    let panel = |q: usize, first_step: usize| Lanes {
        start: block.start + q * width * block.lane_stride + first_step * block.depth_stride,
        lane_stride: block.lane_stride,
        depth_stride: block.depth_stride,
        live: width.min(block.lanes - q * width),
    };
    // Full panels with adjacent lanes go strip by strip; the others panel by panel.
    let by_strips = if block.lane_stride == 1 && block.lanes >= 2 * width {
        block.lanes / width
    } else {
        0
    };
    for p0 in (0..depth).step_by(STRIP) {
        let steps = STRIP.min(depth - p0);
        for (q, out) in out
            .chunks_exact_mut(width * depth)
            .take(by_strips)
            .enumerate()
        {
            pack_panel(data, &panel(q, p0), width, steps, &mut out[p0 * width..]);
        }
    }
    for (q, out) in out
        .chunks_exact_mut(width * depth)
        .enumerate()
        .skip(by_strips)
    {
        pack_panel(data, &panel(q, 0), width, depth, out);
    }
}

/// Where the values of one panel are: lane i at step p is
/// `data[start + i * lane_stride + p * depth_stride]`, for the `live` lanes inside the matrix.
struct Lanes {
    start: usize,
    lane_stride: usize,
    depth_stride: usize,
    live: usize,
}

/// `out[p * width + i]` = lane i at step p, and 0 for the lanes past `src.live`.
///
/// The loops are the same for every width, but a width the compiler knows (every kernel's MR
/// and NR is one of these) turns the copy of one step into a few register moves instead of a
/// call to `memcpy`, which matters when the product is thin and packing is a large share of it.
fn pack_panel<T: Real>(data: &[T], src: &Lanes, width: usize, depth: usize, out: &mut [T]) {
    let full = src.live == width;
    match width {
        4 if full => pack_full_panel::<T, 4>(data, src, depth, out),
        6 if full => pack_full_panel::<T, 6>(data, src, depth, out),
        8 if full => pack_full_panel::<T, 8>(data, src, depth, out),
        16 if full => pack_full_panel::<T, 16>(data, src, depth, out),
        32 if full => pack_full_panel::<T, 32>(data, src, depth, out),
        _ => pack_partial_panel(data, src, width, depth, out),
    }
}

/// A panel whose `W` lanes all lie inside the matrix.
fn pack_full_panel<T: Real, const W: usize>(data: &[T], src: &Lanes, depth: usize, out: &mut [T]) {
    if src.lane_stride == 1 {
        let steps = out[..depth * W].chunks_exact_mut(W);
        // The lanes of a step are adjacent (B row-major, A transposed): one copy per step.
        for (p, step) in steps.enumerate() {
            let s = src.start + p * src.depth_stride;
            let values: &[T; W] = data[s..s + W].try_into().expect("W values");
            step.copy_from_slice(values);
        }
    } else if src.depth_stride == 1 && W <= 8 {
        // Each lane is contiguous along k (A row-major): read the W lanes side by side and
        // store each step whole.
        let lanes: [&[T]; W] =
            std::array::from_fn(|i| &data[src.start + i * src.lane_stride..][..depth]);
        let done = transpose_fast(&lanes, depth, out);
        for (p, step) in out[..depth * W].chunks_exact_mut(W).enumerate().skip(done) {
            for (v, lane) in step.iter_mut().zip(&lanes) {
                *v = lane[p];
            }
        }
    } else if src.depth_stride == 1 {
        // Wide panels (B transposed): W lanes at once would not fit in registers, so four
        // lanes by four steps at a time.
        let all: [&[T]; W] =
            std::array::from_fn(|i| &data[src.start + i * src.lane_stride..][..depth]);
        let done = if W.is_multiple_of(8) {
            transpose_fast(&all, depth, out)
        } else {
            0
        };
        if done > 0 {
            for (p, step) in out[..depth * W].chunks_exact_mut(W).enumerate().skip(done) {
                for (v, lane) in step.iter_mut().zip(&all) {
                    *v = lane[p];
                }
            }
            return;
        }
        for i in (0..W).step_by(4) {
            let lanes: [&[T]; 4] =
                std::array::from_fn(|q| &data[src.start + (i + q) * src.lane_stride..][..depth]);
            let mut blocks = out[..depth * W].chunks_exact_mut(4 * W);
            for (b, block) in (&mut blocks).enumerate() {
                for q in 0..4 {
                    let values: [T; 4] = std::array::from_fn(|s| lanes[s][4 * b + q]);
                    block[q * W + i..q * W + i + 4].copy_from_slice(&values);
                }
            }
            let done = depth / 4 * 4;
            for (p, step) in blocks.into_remainder().chunks_exact_mut(W).enumerate() {
                let values: [T; 4] = std::array::from_fn(|s| lanes[s][done + p]);
                step[i..i + 4].copy_from_slice(&values);
            }
        }
    } else {
        pack_partial_panel(data, src, W, depth, out);
    }
}

/// The transposing copy `out[p * W + i] = lanes[i][p]` with AVX, for f32 on a CPU that has it
/// (`pack_avx.rs`), for as many steps as it can (a multiple of 8); returns how many it did. The
/// plain loops above do the rest, and everything when it returns 0.
fn transpose_fast<T: Real, const W: usize>(
    lanes: &[&[T]; W],
    depth: usize,
    out: &mut [T],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<T>() == TypeId::of::<f32>() && super::pack_avx::supported() {
        // SAFETY: T is f32, so these are the same slices; the CPU has AVX; every lane holds
        // `depth` values and out at least depth * W (checked by the caller's slicing).
        unsafe {
            let lanes = &*(lanes as *const [&[T]; W] as *const [&[f32]; W]);
            let out = &mut *(out as *mut [T] as *mut [f32]);
            return super::pack_avx::transpose_lanes_f32::<W>(lanes, depth, out);
        }
    }
    let _ = (lanes, depth, out);
    0
}

/// Any panel, with the last lanes padded with zeros.
fn pack_partial_panel<T: Real>(data: &[T], src: &Lanes, width: usize, depth: usize, out: &mut [T]) {
    let live = src.live;
    let out = &mut out[..depth * width];
    // The dead lanes are zeros. One fill of the whole panel first: filling the few dead values
    // of each step became a call to memset per step, 5% of a thin weight gradient.
    out.fill(T::ZERO);
    if src.depth_stride == 1 && src.lane_stride != 1 {
        // Lanes contiguous along k: lane by lane, each read from start to end.
        for i in 0..live {
            let lane = &data[src.start + i * src.lane_stride..][..depth];
            for (step, &v) in out.chunks_exact_mut(width).zip(lane) {
                step[i] = v;
            }
        }
        return;
    }
    for (p, step) in out.chunks_exact_mut(width).enumerate() {
        let s = src.start + p * src.depth_stride;
        if src.lane_stride == 1 {
            step[..live].copy_from_slice(&data[s..s + live]);
        } else {
            for (i, v) in step[..live].iter_mut().enumerate() {
                *v = data[s + i * src.lane_stride];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Packing against its definition, `panel[p * width + i]` = lane i at step p (zero past the
    //! matrix), in both layouts, for every kernel width and for depths around the 8-step blocks
    //! of the AVX copy, in f32 (which takes the AVX copy on a CPU with AVX) and f64.
    use super::*;

    fn check<T: Real>(to_t: impl Fn(f64) -> T) {
        for width in [4usize, 6, 8, 16, 32] {
            for depth in (1..20).chain([31, 64, 65, 519]) {
                for lanes in [width, width - 1, 2 * width + 3] {
                    let stride = depth + 3;
                    let data: Vec<T> = (0..lanes * stride + 8)
                        .map(|v| to_t(v as f64 * 0.5 - 7.0))
                        .collect();
                    // A row-major [lanes, stride]: lanes contiguous along k (the transposing
                    // copy). The same values stored [depth, lanes] as B: lanes adjacent (one
                    // copy per step).
                    let a = MatRef::new(&data[..lanes * stride], lanes, stride);
                    let adjacent: Vec<T> = (0..depth * lanes)
                        .map(|k| data[(k % lanes) * stride + k / lanes])
                        .collect();
                    let b = MatRef::new(&adjacent, depth, lanes);
                    let panels = lanes.div_ceil(width);
                    let mut packed = vec![to_t(f64::NAN); panels * width * depth];
                    pack_a(&a, 0, lanes, 0, depth, width, &mut packed);
                    let mut packed_b = vec![to_t(f64::NAN); panels * width * depth];
                    b.pack(0, depth, 0, lanes, width, &mut packed_b);
                    for q in 0..panels {
                        for p in 0..depth {
                            for i in 0..width {
                                let lane = q * width + i;
                                let expected = if lane < lanes {
                                    data[lane * stride + p]
                                } else {
                                    T::ZERO
                                };
                                let at = q * width * depth + p * width + i;
                                assert_eq!(packed[at], expected, "A: width {width}, depth {depth}, lanes {lanes}, panel {q}, step {p}, lane {i}");
                                assert_eq!(
                                    packed_b[at], expected,
                                    "B: width {width}, depth {depth}, lanes {lanes}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn packing_matches_its_definition() {
        check::<f32>(|v| v as f32);
        check::<f64>(|v| v);
    }
}
