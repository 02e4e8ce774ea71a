//! Chapters 3 and 4. im2col and col2im: the two data movements that turn a convolution into
//! one matrix product (see chapters/03-convolution.md, "im2col").
//!
//! A convolution slides a kH x kW window over every channel of a zero-padded image. im2col
//! writes what the window sees at each output position as one column:
//!
//! ```text
//! x: [C, H, W]  ->  cols: [C * kH * kW, H' * W']
//! cols[(c * kH + a) * kW + b, oh * W' + ow] = x[c, oh * S_h - P_h + a, ow * S_w - P_w + b]
//! ```
//!
//! (zero where the window hangs over the padding). col2im is its adjoint: it adds every column
//! entry back onto the pixel it was read from, so pixels seen by several windows collect a sum.
//!
//! Both work on a run of g images at once, so that one GEMM serves the whole run, in one of two
//! column orders ([`Columns`]): image by image (the columns of image i are i * H'W' ..
//! (i + 1) * H'W'), read straight from the NCHW batch; or position by position (the g images of
//! a window position side by side), read from the run stored batch innermost, [C, H, W, g].
//! The second is for small maps: there a window row is only a few pixels long, and copying g
//! values at a time is much faster than copying a few.

use crate::parallel::{for_each_task, SharedMut};
use crate::scalar::Real;
use crate::scratch;
use crate::simd::with_avx2;
use std::any::TypeId;
use std::mem::MaybeUninit;
use std::ops::Range;

/// How a kH x kW window with stride (S_h, S_w) sweeps a zero-padded image of `channels` x (H, W),
/// giving (H', W') window positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl Window {
    /// A square k x k window of stride s and padding p over `channels` maps of h x w, with its
    /// output size (for tests).
    #[cfg(test)]
    pub(crate) fn square(
        channels: usize,
        (h, w): (usize, usize),
        k: usize,
        s: usize,
        p: usize,
    ) -> Self {
        Window {
            channels,
            h,
            w,
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            ph: p,
            pw: p,
            h_out: (h + 2 * p - k) / s + 1,
            w_out: (w + 2 * p - k) / s + 1,
        }
    }

    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    pub fn rows(&self) -> usize {
        self.channels * self.kh * self.kw
    }

    /// Window positions in one image: the columns one image contributes.
    pub fn positions(&self) -> usize {
        self.h_out * self.w_out
    }

    /// For each kernel row a, the output rows whose window row lies inside the image; for each
    /// kernel column b, likewise the output columns.
    fn valid_ranges(&self) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
        (
            (0..self.kh)
                .map(|a| valid_outputs(self.h_out, self.h, self.sh, a, self.ph))
                .collect(),
            (0..self.kw)
                .map(|b| valid_outputs(self.w_out, self.w, self.sw, b, self.pw))
                .collect(),
        )
    }

    /// Whether the window is the whole unpadded image (DCGAN's last discriminator layer, and
    /// the generator's projection read as a convolution). Then there is one position, and the
    /// column of an image is the image itself, flattened: im2col would only copy.
    pub fn covers_whole_image(&self) -> bool {
        (self.kh, self.kw, self.ph, self.pw) == (self.h, self.w, 0, 0)
    }
}

/// The order of the columns of a run of g images (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Column i * H'W' + p is position p of image i; the run is read as NCHW.
    ByImage,
    /// Column p * g + i is position p of image i; the run is read as [C, H, W, g].
    ByPosition,
}

impl Columns {
    /// The order with the longer runs of contiguous copies: a window row of W' values, or the
    /// g images of a position.
    pub fn for_run(win: &Window, g: usize) -> Self {
        if g > win.w_out {
            Columns::ByPosition
        } else {
            Columns::ByImage
        }
    }
}

/// dst [cols, rows] = src^T, where src is [rows, cols] with rows `src_stride` apart: a run of g
/// images [g, C*H*W] to batch innermost [C*H*W, g] (and back, with rows and cols exchanged).
/// Done in 8 x 8 tiles held in registers, so that both sides move whole runs of 8 values; tasks
/// take bands of columns of src (rows of dst).
pub(crate) fn transpose<T: Real>(
    src: &[T],
    rows: usize,
    cols: usize,
    src_stride: usize,
    dst: &mut [T],
) {
    // SAFETY: `transpose_into` only writes values of T, so dst stays initialised.
    let dst = unsafe { &mut *(dst as *mut [T] as *mut [MaybeUninit<T>]) };
    transpose_into(src, rows, cols, src_stride, dst);
}

/// [`transpose`] into slots that need not hold values yet: every one of the first rows * cols
/// is written.
pub(crate) fn transpose_into<T: Real>(
    src: &[T],
    rows: usize,
    cols: usize,
    src_stride: usize,
    dst: &mut [MaybeUninit<T>],
) {
    const TILE: usize = 8;
    const BAND: usize = 32 * TILE;
    assert!(
        dst.len() >= rows * cols && (rows == 0 || src.len() >= (rows - 1) * src_stride + cols),
        "transpose: buffers too small for [{rows}, {cols}]"
    );
    let full_rows = rows / TILE * TILE;
    let dst_ptr = SharedMut(dst.as_mut_ptr());
    run_tasks(
        cols.div_ceil(BAND),
        rows * cols,
        #[inline(always)]
        |t| {
            let (j0, j1) = (t * BAND, ((t + 1) * BAND).min(cols));
            // SAFETY: disjoint writes, task t alone writes rows j0..j1 of dst.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(dst_ptr.get().add(j0 * rows), (j1 - j0) * rows)
            };
            let full_j1 = j0 + (j1 - j0) / TILE * TILE;
            // The full tiles: with AVX for f32 (8 x 8 in registers), else value by value.
            if !transpose_tiles_avx(&src[j0..], src_stride, dst, rows, full_rows, full_j1 - j0) {
                for i0 in (0..full_rows).step_by(TILE) {
                    for j in (j0..full_j1).step_by(TILE) {
                        let tile: [[T; TILE]; TILE] = std::array::from_fn(|a| {
                            src[(i0 + a) * src_stride + j..][..TILE]
                                .try_into()
                                .expect("a tile row")
                        });
                        for b in 0..TILE {
                            let out = &mut dst[(j - j0 + b) * rows + i0..][..TILE];
                            for (a, o) in out.iter_mut().enumerate() {
                                o.write(tile[a][b]);
                            }
                        }
                    }
                }
            }
            // The edges: the last rows, and the last columns of the other rows.
            for i in 0..rows {
                let first = if i < full_rows { full_j1 } else { j0 };
                for j in first..j1 {
                    dst[(j - j0) * rows + i].write(src[i * src_stride + j]);
                }
            }
        },
    );
}

/// `dst[j * dst_stride + i] = src[i * src_stride + j]` for i < rows and j < cols, both multiples
/// of 8, with the AVX 8 x 8 transposes of packing (chapter 13) when T is f32 and the CPU has
/// AVX; returns whether it did (otherwise the caller moves the values itself).
fn transpose_tiles_avx<T: Real>(
    src: &[T],
    src_stride: usize,
    dst: &mut [MaybeUninit<T>],
    dst_stride: usize,
    rows: usize,
    cols: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<T>() == TypeId::of::<f32>() && crate::gemm::avx_supported() {
        if rows > 0 && cols > 0 {
            assert!(
                (rows - 1) * src_stride + cols <= src.len()
                    && (cols - 1) * dst_stride + rows <= dst.len(),
                "transpose: tiles outside the buffers"
            );
            // SAFETY: T is f32, the CPU has AVX, and the region and its transpose lie in the
            // buffers (asserted).
            unsafe {
                crate::gemm::transpose_blocks_f32(
                    src.as_ptr().cast::<f32>(),
                    src_stride,
                    dst.as_mut_ptr().cast::<f32>(),
                    dst_stride,
                    rows / 8,
                    cols / 8,
                );
            }
        }
        return true;
    }
    let _ = (src, src_stride, dst, dst_stride, rows, cols);
    false
}

/// Below this many elements moved, a pass stays on the calling thread: waking the pool would
/// cost more than it saves.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// `for_each_task`, or a plain loop for small passes. Each task is compiled for AVX2 where the
/// CPU has it (`simd::with_avx2`): these passes copy and add, and move twice as much per
/// instruction. The callers mark their task `#[inline(always)]`: a large task would otherwise
/// stay a function of its own, compiled for plain x86-64 (`perf` found the arrangement of the
/// direct forward pass so, with 16-byte moves).
pub(crate) fn run_tasks(n_tasks: usize, elements: usize, task: impl Fn(usize) + Sync) {
    let task = |t: usize| {
        with_avx2(
            #[inline(always)]
            || task(t),
        )
    };
    if elements < PARALLEL_MIN_ELEMENTS {
        (0..n_tasks).for_each(task);
    } else {
        for_each_task(n_tasks, task);
    }
}

/// The output positions o in 0..out_len whose input index o * stride + tap - pad lies in
/// 0..in_len, as a range: working it out once spares a bounds test per element.
fn valid_outputs(
    out_len: usize,
    in_len: usize,
    stride: usize,
    tap: usize,
    pad: usize,
) -> Range<usize> {
    // o * stride + tap >= pad  and  o * stride + tap <= in_len - 1 + pad
    let lo = pad.saturating_sub(tap).div_ceil(stride);
    let hi = if in_len + pad > tap {
        ((in_len - 1 + pad - tap) / stride + 1).min(out_len)
    } else {
        0
    };
    lo.min(hi)..hi
}

/// Unfolds channels `channels` of images `images` of the batch `x` ([N, C, H, W], flat) into
/// `cols`: [channels.len() * kH * kW, images.len() * H' * W'] (all channels: the whole im2col
/// matrix; fewer: the rows of those channels, for a task that computes part of the weight
/// gradient).
pub(crate) fn im2col<T: Real>(
    x: &[T],
    win: &Window,
    images: Range<usize>,
    channels: Range<usize>,
    cols: &mut [T],
) {
    let (plane, positions, taps) = (win.h * win.w, win.positions(), win.kh * win.kw);
    let width = images.len() * positions;
    assert!(
        cols.len() == channels.len() * taps * width && channels.end <= win.channels,
        "im2col: the column buffer has the wrong size"
    );
    assert!(
        x.len() >= images.end * win.channels * plane,
        "im2col: the batch is too short"
    );
    let columns = TapColumns::new(win);
    let cols_ptr = SharedMut(cols.as_mut_ptr());
    // One task per channel: it writes the kH * kW rows of that channel.
    run_tasks(
        channels.len(),
        cols.len(),
        #[inline(always)]
        |t| {
            // SAFETY: disjoint writes, task t alone writes rows t * kH * kW .. (t + 1) * kH * kW.
            let rows = unsafe {
                std::slice::from_raw_parts_mut(cols_ptr.get().add(t * taps * width), taps * width)
            };
            let c = channels.start + t;
            let mut phases = PhasedRow::new(win.w, win.sw);
            for (i, n) in images.clone().enumerate() {
                let src = &x[(n * win.channels + c) * plane..][..plane];
                for oh in 0..win.h_out {
                    for a in 0..win.kh {
                        // Taps (a, 0..kW) at the positions of output row oh: kW row pieces of W'.
                        let at =
                            |b: usize| (a * win.kw + b) * width + i * positions + oh * win.w_out;
                        let ih = (oh * win.sh + a)
                            .checked_sub(win.ph)
                            .filter(|&ih| ih < win.h);
                        let Some(ih) = ih else {
                            // The window row lies in the padding.
                            for b in 0..win.kw {
                                rows[at(b)..][..win.w_out].fill(T::ZERO);
                            }
                            continue;
                        };
                        phases.load(&src[ih * win.w..][..win.w]);
                        for (b, column) in columns.0.iter().enumerate() {
                            let dst = &mut rows[at(b)..][..win.w_out];
                            let live = column.outputs.clone();
                            dst[..live.start].fill(T::ZERO);
                            dst[live.end..].fill(T::ZERO);
                            dst[live.clone()]
                                .copy_from_slice(&phases.data[column.source..][..live.len()]);
                        }
                    }
                }
            }
        },
    );
}

/// Where each kernel column b reads in an image row, worked out once per call (it involves
/// divisions, which are slow next to copying a few pixels).
struct TapColumns(Vec<TapColumn>);

/// Output columns `outputs` of kernel column b read the row's pixels iw = ow * S_w + b - P_w;
/// the other output columns lie in the padding. In the row's [`PhasedRow`] those pixels are
/// one run, starting at `source`.
struct TapColumn {
    outputs: Range<usize>,
    source: usize,
}

impl TapColumns {
    fn new(win: &Window) -> Self {
        let phase_len = win.w.div_ceil(win.sw);
        TapColumns(
            (0..win.kw)
                .map(|b| {
                    let outputs = valid_outputs(win.w_out, win.w, win.sw, b, win.pw);
                    // The first pixel read is at iw = outputs.start * S_w + b - P_w.
                    let first = (outputs.start * win.sw + b).saturating_sub(win.pw);
                    let source = if outputs.is_empty() {
                        0
                    } else {
                        (first % win.sw) * phase_len + first / win.sw
                    };
                    TapColumn { outputs, source }
                })
                .collect(),
        )
    }
}

/// One image row, split by column modulo the stride S ("phases": columns f, f + S, f + 2S, ...
/// side by side). A kernel tap reads every S-th pixel of the row, which is then one contiguous
/// run of one phase: a plain copy (or add) instead of a strided loop.
struct PhasedRow<T> {
    stride: usize,
    /// Values per phase.
    len: usize,
    /// stride * len values: phase f at f * len.
    data: Vec<T>,
}

impl<T: Real> PhasedRow<T> {
    fn new(row_len: usize, stride: usize) -> Self {
        let len = row_len.div_ceil(stride);
        PhasedRow {
            stride,
            len,
            data: vec![T::ZERO; stride * len],
        }
    }

    /// Splits `row` into its phases.
    fn load(&mut self, row: &[T]) {
        split_phases(row, self.stride, &mut self.data);
    }

    /// row[k] += pixel k, for every pixel: the phases added back in row order.
    fn add_to(&self, row: &mut [T]) {
        let len = self.len;
        match self.stride {
            1 => row.iter_mut().zip(&self.data).for_each(|(r, &v)| *r += v),
            2 => {
                let (even, odd) = self.data.split_at(len);
                for ((pair, &e), &o) in row.chunks_exact_mut(2).zip(even).zip(odd) {
                    pair[0] += e;
                    pair[1] += o;
                }
                if row.len() % 2 == 1 {
                    row[row.len() - 1] += even[len - 1];
                }
            }
            s => {
                for (k, r) in row.iter_mut().enumerate() {
                    *r += self.data[(k % s) * len + k / s];
                }
            }
        }
    }
}

/// `row` split by column modulo `stride` into `out` (stride * ceil(len / stride) values): phase
/// f, the columns f, f + S, f + 2S, ..., at f * ceil(len / stride) (see [`PhasedRow`]).
pub(crate) fn split_phases<T: Real>(row: &[T], stride: usize, out: &mut [T]) {
    let len = row.len().div_ceil(stride);
    match stride {
        1 => out.copy_from_slice(row),
        2 => {
            let (even, odd) = out.split_at_mut(len);
            for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
                (*e, *o) = (pair[0], pair[1]);
            }
            if row.len() % 2 == 1 {
                even[len - 1] = row[row.len() - 1];
            }
        }
        s => {
            for (k, &v) in row.iter().enumerate() {
                out[(k % s) * len + k / s] = v;
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every entry of `cols` ([C * kH * kW, images.len() * H' * W'])
/// onto the pixel of `x` ([N, C, H, W], flat) it was read from, for the images `images`.
pub(crate) fn col2im<T: Real>(cols: &[T], win: &Window, images: Range<usize>, x: &mut [T]) {
    let plane = win.h * win.w;
    let positions = win.positions();
    let width = images.len() * positions;
    assert_eq!(
        cols.len(),
        win.rows() * width,
        "col2im: the column buffer has the wrong size"
    );
    assert!(
        x.len() >= images.end * win.channels * plane,
        "col2im: the batch is too short"
    );
    let columns = TapColumns::new(win);
    // For each input row ih, the (kernel row a, output row oh) pairs that read it, by a.
    let mut readers = vec![Vec::new(); win.h];
    for a in 0..win.kh {
        for oh in 0..win.h_out {
            if let Some(ih) = (oh * win.sh + a)
                .checked_sub(win.ph)
                .filter(|&ih| ih < win.h)
            {
                readers[ih].push((a, oh));
            }
        }
    }
    let x_ptr = SharedMut(x.as_mut_ptr());
    let n0 = images.start;
    // One task per (image, channel) plane of x, built row by row: every pixel sums its terms in
    // the same order (kernel row, kernel column) whichever thread runs the task.
    run_tasks(
        images.len() * win.channels,
        cols.len(),
        #[inline(always)]
        |t| {
            let (c, i) = (t / images.len(), t % images.len());
            // SAFETY: disjoint writes, task t alone writes plane (n0 + i, c) of x.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(
                    x_ptr.get().add(((n0 + i) * win.channels + c) * plane),
                    plane,
                )
            };
            let mut sums = PhasedRow::new(win.w, win.sw);
            for (dst_row, readers) in dst.chunks_exact_mut(win.w).zip(&readers) {
                sums.data.fill(T::ZERO);
                for &(a, oh) in readers {
                    for (b, column) in columns.0.iter().enumerate() {
                        let r = (c * win.kh + a) * win.kw + b;
                        let src = &cols[r * width + i * positions + oh * win.w_out..]
                            [column.outputs.clone()];
                        let sum = &mut sums.data[column.source..][..src.len()];
                        sum.iter_mut().zip(src).for_each(|(s, &v)| *s += v);
                    }
                }
                sums.add_to(dst_row);
            }
        },
    );
}

/// [`im2col`] for a run of g images stored batch innermost (`x_t`: [C, H, W, g]), into
/// `cols`: [C * kH * kW, H' * W' * g], column p * g + i for position p of image i
/// ([`Columns::ByPosition`]). Every copy moves the g values of one pixel.
pub(crate) fn im2col_by_position<T: Real>(x_t: &[T], win: &Window, g: usize, cols: &mut [T]) {
    let (plane, taps) = (win.h * win.w * g, win.kh * win.kw);
    let width = win.positions() * g;
    assert!(
        cols.len() == win.rows() * width && x_t.len() == win.channels * plane,
        "im2col: the buffers have the wrong size"
    );
    let (oh_valid, ow_valid) = win.valid_ranges();
    let cols_ptr = SharedMut(cols.as_mut_ptr());
    run_tasks(
        win.channels,
        cols.len(),
        #[inline(always)]
        |c| {
            // SAFETY: disjoint writes, task c alone writes the kH * kW rows of channel c.
            let rows = unsafe {
                std::slice::from_raw_parts_mut(cols_ptr.get().add(c * taps * width), taps * width)
            };
            let src = &x_t[c * plane..][..plane];
            for (t, row) in rows.chunks_exact_mut(width).enumerate() {
                let (a, b) = (t / win.kw, t % win.kw);
                for (oh, out_row) in row.chunks_exact_mut(win.w_out * g).enumerate() {
                    if !oh_valid[a].contains(&oh) {
                        out_row.fill(T::ZERO);
                        continue;
                    }
                    let ih = oh * win.sh + a - win.ph;
                    let live = ow_valid[b].clone();
                    out_row[..live.start * g].fill(T::ZERO);
                    out_row[live.end * g..].fill(T::ZERO);
                    for ow in live {
                        let iw = ow * win.sw + b - win.pw;
                        out_row[ow * g..][..g].copy_from_slice(&src[(ih * win.w + iw) * g..][..g]);
                    }
                }
            }
        },
    );
}

/// The adjoint of [`im2col_by_position`]: `x_t` ([C, H, W, g], overwritten) gets, at every
/// pixel, the sum of the entries of `cols` ([C * kH * kW, H' * W' * g]) read from it, taken in
/// the order of the kernel taps (a, b).
pub(crate) fn col2im_by_position<T: Real>(cols: &[T], win: &Window, g: usize, x_t: &mut [T]) {
    let (plane, taps) = (win.h * win.w * g, win.kh * win.kw);
    let width = win.positions() * g;
    assert!(
        cols.len() == win.rows() * width && x_t.len() == win.channels * plane,
        "col2im: the buffers have the wrong size"
    );
    let (oh_valid, ow_valid) = win.valid_ranges();
    let x_ptr = SharedMut(x_t.as_mut_ptr());
    run_tasks(
        win.channels,
        cols.len(),
        #[inline(always)]
        |c| {
            // SAFETY: disjoint writes, task c alone writes channel c of x_t.
            let dst = unsafe { std::slice::from_raw_parts_mut(x_ptr.get().add(c * plane), plane) };
            dst.fill(T::ZERO);
            let rows = &cols[c * taps * width..][..taps * width];
            for (t, row) in rows.chunks_exact(width).enumerate() {
                let (a, b) = (t / win.kw, t % win.kw);
                for oh in oh_valid[a].clone() {
                    let ih = oh * win.sh + a - win.ph;
                    for ow in ow_valid[b].clone() {
                        let iw = ow * win.sw + b - win.pw;
                        let pixel = &mut dst[(ih * win.w + iw) * g..][..g];
                        let src = &row[(oh * win.w_out + ow) * g..][..g];
                        pixel.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
                    }
                }
            }
        },
    );
}

/// The images of a run (`run`: [g, C, P] flat, P positions per channel) as one matrix
/// [C, g * P] with columns in the order `columns`, the layout a GEMM with one column per
/// (image, position) needs. One image already is that matrix and is lent as it is; several are
/// arranged in `buffer`.
pub(crate) fn batch_as_matrix<'a, T: Real>(
    run: &'a [T],
    channels: usize,
    positions: usize,
    columns: Columns,
    buffer: &'a mut [T],
) -> &'a [T] {
    let image_len = channels * positions;
    let g = run.len() / image_len;
    if g == 1 {
        return run;
    }
    let width = g * positions;
    match columns {
        Columns::ByImage => {
            for (i, image) in run.chunks_exact(image_len).enumerate() {
                for (c, plane) in image.chunks_exact(positions).enumerate() {
                    buffer[c * width + i * positions..][..positions].copy_from_slice(plane);
                }
            }
        }
        // [g, C * P] -> [C * P, g]
        Columns::ByPosition => transpose(run, g, image_len, image_len, buffer),
    }
    &buffer[..run.len()]
}

/// The inverse of [`batch_as_matrix`]: `mat` ([C, g * P], columns in the order `columns`) into
/// the images of `run` ([g, C, P]), adding `bias[c]` to every value of channel c.
pub(crate) fn matrix_to_batch<'a, T: Real>(
    mat: &[T],
    bias: Option<&[T]>,
    channels: usize,
    positions: usize,
    columns: Columns,
    run: &'a mut [MaybeUninit<T>],
) -> &'a mut [T] {
    let image_len = channels * positions;
    let g = run.len() / image_len;
    assert_eq!(mat.len(), run.len(), "matrix_to_batch: sizes differ");
    match columns {
        Columns::ByImage => {
            let width = g * positions;
            for (i, image) in run.chunks_exact_mut(image_len).enumerate() {
                for (c, dst) in image.chunks_exact_mut(positions).enumerate() {
                    let src = &mat[c * width + i * positions..][..positions];
                    dst.iter_mut().zip(src).for_each(|(d, &v)| {
                        d.write(v);
                    });
                }
            }
        }
        // [C * P, g] -> [g, C * P]
        Columns::ByPosition => transpose_into(mat, image_len, g, g, run),
    }
    // SAFETY: both branches wrote every value of the run (g images of C * P values).
    let run = unsafe { &mut *(run as *mut [MaybeUninit<T>] as *mut [T]) };
    if let Some(bias) = bias {
        for image in run.chunks_exact_mut(image_len) {
            for (plane, &b) in image.chunks_exact_mut(positions).zip(bias) {
                plane.iter_mut().for_each(|v| *v += b);
            }
        }
    }
    run
}

/// The im2col matrix of the images `images` of the batch `x`, in the column order `columns`,
/// into `cols`: [C * kH * kW, g * H'W'].
pub(crate) fn unfold_run<T: Real>(
    x: &[T],
    win: &Window,
    images: Range<usize>,
    columns: Columns,
    cols: &mut [T],
) {
    match columns {
        Columns::ByImage => im2col(x, win, images, 0..win.channels, cols),
        Columns::ByPosition => {
            // The run, batch innermost: [C, H, W, g].
            let image_len = win.channels * win.h * win.w;
            let run = &x[images.start * image_len..images.end * image_len];
            let mut x_t = scratch::buffer(run.len());
            transpose(run, images.len(), image_len, image_len, &mut x_t);
            im2col_by_position(&x_t, win, images.len(), cols);
        }
    }
}

/// The adjoint of [`unfold_run`]: the im2col matrix `cols` of a run of g images, in the column
/// order `columns`, folded back onto the run's images (`run`: their part of the batch,
/// [g, C, H, W], which must hold zeros).
pub(crate) fn fold_run<'a, T: Real>(
    cols: &[T],
    win: &Window,
    columns: Columns,
    run: &'a mut [MaybeUninit<T>],
) -> &'a mut [T] {
    let plane = win.h * win.w;
    let g = run.len() / (win.channels * plane);
    match columns {
        Columns::ByImage => {
            // col2im adds into the run: it starts from zeros.
            run.iter_mut().for_each(|v| {
                v.write(T::ZERO);
            });
            // SAFETY: every value was just written.
            let run = unsafe { &mut *(run as *mut [MaybeUninit<T>] as *mut [T]) };
            col2im(cols, win, 0..g, run);
            run
        }
        Columns::ByPosition => {
            // Summed batch innermost, then moved into the run: no zeros needed there.
            let mut x_t = scratch::buffer(run.len());
            col2im_by_position(cols, win, g, &mut x_t);
            matrix_to_batch(&x_t, None, win.channels, plane, columns, run)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(h: usize, w: usize, k: usize, s: usize, p: usize) -> Window {
        Window::square(2, (h, w), k, s, p)
    }

    /// The definition, one bounds test per element.
    fn im2col_by_definition(x: &[f64], win: &Window, n_images: usize) -> Vec<f64> {
        let width = n_images * win.positions();
        let mut cols = vec![0.0; win.rows() * width];
        for n in 0..n_images {
            for c in 0..win.channels {
                for a in 0..win.kh {
                    for b in 0..win.kw {
                        for oh in 0..win.h_out {
                            for ow in 0..win.w_out {
                                let ih = (oh * win.sh + a) as isize - win.ph as isize;
                                let iw = (ow * win.sw + b) as isize - win.pw as isize;
                                if ih < 0 || iw < 0 || ih >= win.h as isize || iw >= win.w as isize
                                {
                                    continue;
                                }
                                let r = (c * win.kh + a) * win.kw + b;
                                let col = n * win.positions() + oh * win.w_out + ow;
                                cols[r * width + col] =
                                    x[((n * win.channels + c) * win.h + ih as usize) * win.w
                                        + iw as usize];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    #[test]
    fn im2col_matches_its_definition_and_col2im_is_its_adjoint() {
        for (h, w, k, s, p) in [
            (5, 7, 3, 1, 1),
            (6, 6, 4, 2, 1),
            (3, 2, 1, 3, 0),
            (4, 5, 5, 2, 2),
        ] {
            let win = window(h, w, k, s, p);
            let n = 2;
            let x: Vec<f64> = (0..n * 2 * h * w)
                .map(|i| (i as f64 * 0.37).sin())
                .collect();
            let mut cols = vec![f64::NAN; win.rows() * n * win.positions()];
            im2col(&x, &win, 0..n, 0..win.channels, &mut cols);
            assert_eq!(cols, im2col_by_definition(&x, &win, n), "{win:?}");

            // <im2col(x), y> = <x, col2im(y)> for any y.
            let y: Vec<f64> = (0..cols.len()).map(|i| (i as f64 * 0.11).cos()).collect();
            let mut back = vec![0.0; x.len()];
            col2im(&y, &win, 0..n, &mut back);
            let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn columns_by_position_hold_the_same_values_in_another_order() {
        for (h, w, k, s, p) in [(5, 7, 3, 1, 1), (6, 6, 4, 2, 1), (8, 8, 4, 2, 1)] {
            let (win, n) = (window(h, w, k, s, p), 3);
            let (positions, image_len) = (win.positions(), 2 * h * w);
            let x: Vec<f64> = (0..n * image_len)
                .map(|i| (i as f64 * 0.37).sin())
                .collect();
            let mut by_image = vec![0.0; win.rows() * n * positions];
            im2col(&x, &win, 0..n, 0..win.channels, &mut by_image);
            let mut x_t = vec![0.0; x.len()];
            transpose(&x, n, image_len, image_len, &mut x_t);
            let mut by_position = vec![f64::NAN; by_image.len()];
            im2col_by_position(&x_t, &win, n, &mut by_position);
            let width = n * positions;
            for r in 0..win.rows() {
                for i in 0..n {
                    for q in 0..positions {
                        assert_eq!(
                            by_position[r * width + q * n + i],
                            by_image[r * width + i * positions + q]
                        );
                    }
                }
            }
            // The adjoints agree too: fold both back and compare image by image.
            let mut back = vec![0.0; x.len()];
            col2im(&by_image, &win, 0..n, &mut back);
            let mut back_t = vec![f64::NAN; x.len()];
            col2im_by_position(&by_position, &win, n, &mut back_t);
            let mut back_from_t = vec![0.0; x.len()];
            transpose(&back_t, image_len, n, n, &mut back_from_t);
            assert_eq!(back, back_from_t, "{win:?}");
        }
    }

    #[test]
    fn transpose_moves_every_value_once() {
        // f64 value by value, f32 with AVX tiles where the CPU has them.
        transpose_moves_every_value_once_for::<f64>();
        transpose_moves_every_value_once_for::<f32>();
    }

    fn transpose_moves_every_value_once_for<T: Real>() {
        // Sizes around the 8 x 8 tiles and the bands of columns, rows read with a stride.
        for (rows, cols, stride) in [
            (5, 3, 3),
            (8, 8, 8),
            (9, 17, 20),
            (16, 300, 301),
            (64, 1, 1),
            (24, 64, 70),
        ] {
            let src: Vec<T> = (0..rows * stride).map(T::from_usize).collect();
            let mut dst = vec![T::from_f64(f64::NAN); rows * cols];
            transpose(&src, rows, cols, stride, &mut dst);
            for i in 0..rows {
                for j in 0..cols {
                    assert_eq!(
                        dst[j * rows + i],
                        src[i * stride + j],
                        "[{rows}, {cols}] at ({i}, {j})"
                    );
                }
            }
        }
    }

    #[test]
    fn valid_outputs_clips_to_the_image() {
        // Input 0..5 padded by 1, window tap 0, stride 2: positions 0, 1, 2 read -1, 1, 3.
        assert_eq!(valid_outputs(3, 5, 2, 0, 1), 1..3);
        // A tap past the whole padded image reads nothing.
        assert_eq!(valid_outputs(2, 1, 1, 3, 1), 0..0);
    }
}
