//! Chapter 3. Runs of images: how the fast convolution passes cut a batch into pieces and share
//! them among threads, and how the pieces are put back together, with every sum taken in an order
//! that depends on the shapes alone, so that 1 thread and 12 give the same bits.
//!
//! - A batch is cut into runs of images ([`image_groups`]); each run is unfolded into one column
//!   matrix and multiplied in one GEMM. Runs are spread over threads ([`for_each_run`]), and
//!   their outputs written straight into the result ([`RunOutput`]).
//! - The weight gradient is a sum over the whole batch: it is cut by input channel (each task
//!   computes some columns of grad_W) and, for thin layers, by chunks of runs whose partial
//!   gradients are added in order at the end ([`weight_gradient_by_runs`]).
//! - A window that covers the whole image makes the layer a fully connected one, whose long sum
//!   is cut into fixed parts ([`whole_image_forward`]).

use super::super::im2col::{batch_as_matrix, im2col, im2col_by_position, Columns, Window};
use super::panels::Arranged;
use crate::gemm::{
    gemm, gemm_nt_by_dots, gemm_nt_by_dots_in_place, MatMut, MatRef, RowsInPieces, DOTS_KC,
};
use crate::parallel::{for_each_task, threads, SharedMut};
use crate::scalar::Real;
use crate::scratch;
use crate::tensor::Tensor;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Columns of one im2col matrix: enough for the GEMM to run near full speed (small images are
/// batched into one product), few enough that the matrix stays a few tens of MB.
const GROUP_COLUMNS: usize = 1024;
const GROUP_MAX_ELEMENTS: usize = 1 << 23;

/// The batch 0..n cut into runs of images, each unfolded into one column matrix, of nearly
/// equal lengths (so that threads given whole runs get equal work). The runs depend only on the
/// shapes, never on the thread count, so sums over runs are reproducible.
pub(super) fn image_groups(n: usize, win: &Window) -> Vec<Range<usize>> {
    let positions = win.positions().max(1);
    let by_columns = GROUP_COLUMNS.div_ceil(positions);
    let by_memory = (GROUP_MAX_ELEMENTS / (win.rows() * positions).max(1)).max(1);
    let per_group = by_columns.min(by_memory).max(1);
    even_parts(n, n.div_ceil(per_group))
}

/// Runs `work` on every run of images.
///
/// The outputs of different runs are different images, and a GEMM gives the same bits on any
/// number of threads, so how the runs are spread over threads changes the speed only. With at
/// least two runs per thread, whole runs go to the threads: a run's im2col, GEMM and col2im stay
/// on one core (parallel work started inside a task runs inline), with one wait for the whole
/// pass. With fewer runs, they go one after another and each step spreads over all threads.
pub(super) fn for_each_run(runs: &[Range<usize>], work: impl Fn(Range<usize>) + Sync) {
    if runs.len() >= 2 * threads() {
        for_each_task(runs.len(), |r| work(runs[r].clone()));
    } else {
        runs.iter().for_each(|r| work(r.clone()));
    }
}

/// The output of a pass, written run by run by the tasks. Each task zeroes its own images just
/// before it computes them: the zeros go into cache and are overwritten there. Zeroing the whole
/// output first (it can be 16 MB) would be one more pass over memory, on one thread.
pub(super) struct RunOutput<T> {
    data: Vec<T>,
    shape: Vec<usize>,
    image_len: usize,
    /// Images handed out so far, to check that every one was.
    handed_out: AtomicUsize,
}

impl<T: Real> RunOutput<T> {
    /// shape: [N, ...]
    pub(super) fn new(shape: &[usize]) -> Self {
        let image_len = shape[1..].iter().product();
        RunOutput {
            data: Vec::with_capacity(shape[0] * image_len),
            shape: shape.to_vec(),
            image_len,
            handed_out: AtomicUsize::new(0),
        }
    }

    /// A handle the tasks share.
    pub(super) fn runs(&mut self) -> RunSlots<'_, T> {
        RunSlots {
            values: SharedMut(self.data.spare_capacity_mut().as_mut_ptr()),
            image_len: self.image_len,
            handed_out: &self.handed_out,
        }
    }

    /// The tensor, once every image has been handed out (and so zeroed) exactly once.
    pub(super) fn finish(mut self) -> Tensor<T> {
        let n = self.shape[0];
        assert_eq!(
            *self.handed_out.get_mut(),
            n,
            "conv: an output image was never written"
        );
        // SAFETY: all n images were handed out, and `RunSlots::images` zeroed every value (the
        // task that took images with `RunSlots::images_uninit` wrote every one).
        unsafe { self.data.set_len(n * self.image_len) };
        Tensor::from_vec(&self.shape, self.data).expect("as many values as the shape holds")
    }
}

/// The tasks' side of a [`RunOutput`].
pub(super) struct RunSlots<'a, T> {
    values: SharedMut<MaybeUninit<T>>,
    image_len: usize,
    handed_out: &'a AtomicUsize,
}

impl<'a, T: Real> RunSlots<'a, T> {
    /// Images `images` of the output, zeroed.
    ///
    /// # Safety
    /// Each image is asked for by one task only, once.
    pub(super) unsafe fn images(&self, images: &Range<usize>) -> &'a mut [T] {
        self.handed_out.fetch_add(images.len(), Ordering::Relaxed);
        let slots = std::slice::from_raw_parts_mut(
            self.values.get().add(images.start * self.image_len),
            images.len() * self.image_len,
        );
        for slot in slots.iter_mut() {
            slot.write(T::ZERO);
        }
        // SAFETY: every value was written just above.
        &mut *(slots as *mut [MaybeUninit<T>] as *mut [T])
    }
}

impl<'a, T: Real> RunSlots<'a, T> {
    /// Images `images` of the output, as they are: for a task that writes every value of them
    /// (zeroing them first would be one more pass over the output).
    ///
    /// # Safety
    /// Each image is asked for by one task only, once, and that task writes all of its values
    /// before the output is finished.
    pub(super) unsafe fn images_uninit(&self, images: &Range<usize>) -> &'a mut [MaybeUninit<T>] {
        self.handed_out.fetch_add(images.len(), Ordering::Relaxed);
        std::slice::from_raw_parts_mut(
            self.values.get().add(images.start * self.image_len),
            images.len() * self.image_len,
        )
    }
}

/// Images `images` of a batch with `image_len` values per image, written by one task.
///
/// # Safety
/// `batch` points at a live batch that holds these images, and no other task touches them
/// while the slice is alive.
pub(super) unsafe fn images_mut<'a, T>(
    batch: SharedMut<T>,
    image_len: usize,
    images: &Range<usize>,
) -> &'a mut [T] {
    std::slice::from_raw_parts_mut(
        batch.get().add(images.start * image_len),
        images.len() * image_len,
    )
}

/// The images `images` of a batch with `image_len` values per image.
pub(super) fn images_of<'a, T>(batch: &'a [T], image_len: usize, images: &Range<usize>) -> &'a [T] {
    &batch[images.start * image_len..images.end * image_len]
}

/// The terms of a sum over k in one part, at least (see [`whole_image_forward`]).
const PART_MIN_TERMS: usize = 1024;
/// At most this many parts.
const MAX_PARTS: usize = 8;

/// y [N, C_out] = x [N, R] * W^T (W: [C_out, R]), for a window that covers the whole image.
///
/// The sum over R is long and the result small: one value per image and channel, too few tiles
/// for the GEMM to share among threads. So R is cut into parts (fixed by R alone, never by the
/// thread count), the parts' products are computed side by side, each on one thread, and added
/// in order. Each part computes y^T = W x^T rather than x W^T: the same sums, but with C_out
/// (often 100 or more) along the GEMM's rows and N = 64 along its columns, the tiles fit the
/// product with less waste.
pub(super) fn whole_image_forward<T: Real>(x: &[T], w: &[T], n: usize, r: usize, y: &mut [T]) {
    let c_out = w.len() / r;
    let parts = even_parts(r, (r / PART_MIN_TERMS).clamp(1, MAX_PARTS));
    let mut partials = scratch::buffer::<T>(parts.len() * c_out * n);
    let out = SharedMut(partials.as_mut_ptr());
    for_each_task(parts.len(), |p| {
        let k = parts[p].clone();
        // SAFETY: task p alone writes partial p.
        let partial =
            unsafe { std::slice::from_raw_parts_mut(out.get().add(p * c_out * n), c_out * n) };
        // partial [C_out, N] = W[:, k] * x[:, k]^T
        let w_part = MatRef::with_strides(&w[k.start..], c_out, k.len(), r, 1);
        let x_part = MatRef::with_strides(&x[k.start..], n, k.len(), r, 1);
        gemm(
            T::ONE,
            w_part,
            x_part.t(),
            T::ZERO,
            MatMut::new(partial, c_out, n),
        );
    });
    // y[i, co] = partial_0[co, i] + partial_1[co, i] + ...
    for (i, y_i) in y.chunks_exact_mut(c_out).enumerate() {
        for (co, v) in y_i.iter_mut().enumerate() {
            let at = co * n + i;
            *v = (1..parts.len()).fold(partials[at], |sum, p| sum + partials[p * c_out * n + at]);
        }
    }
}

/// How the weight gradient's work is cut into tasks. It depends on the shapes alone, never on
/// the thread count, so every sum is taken in the same order on 1 thread or 12.
struct WeightSplit {
    /// The input channels cut into slices: a task computes the columns of grad_W
    /// ([C_out, C_in*kH*kW]) of its slice, and unfolds only those channels.
    slices: Vec<Range<usize>>,
    /// The runs of images cut into consecutive chunks: a task sums its chunk into its own
    /// partial gradient, and the partials are added in chunk order at the end.
    chunks: Vec<Range<usize>>,
}

/// A weight gradient slice this narrow (a layer of few input channels: 3 x 4 x 4 = 48) is taken
/// as dot products ([`gemm_nt_by_dots`]) rather than by the blocked GEMM.
const DOTS_MAX_COLUMNS: usize = 64;
/// Whether a thin weight gradient of one image reads its window rows in place: every channel
/// in the slice, and output rows a whole number of vector registers long that pack evenly into
/// a block of the dot products (so that the sums are those of the written rows).
fn window_rows_in_place(win: &Window, slice: &Range<usize>, columns_w: usize) -> bool {
    columns_w <= DOTS_MAX_COLUMNS
        && slice.len() == win.channels
        && win.h_out > 1
        && win.w_out.is_multiple_of(8)
        && DOTS_KC.is_multiple_of(win.w_out)
}

/// About this many tasks: enough to keep every core of a small machine busy and balanced.
const WEIGHT_TASKS: usize = 16;
/// A slice has at least this many columns of grad_W, so that a task's GEMM stays efficient.
const SLICE_MIN_COLUMNS: usize = 256;
/// The partial gradients of the chunks hold at most this many values in all.
const PARTIALS_MAX_ELEMENTS: usize = 1 << 22;

impl WeightSplit {
    fn new(win: &Window, c_out: usize, runs: usize) -> Self {
        let n_slices = (win.rows() / SLICE_MIN_COLUMNS).clamp(1, WEIGHT_TASKS.min(win.channels));
        let by_memory = PARTIALS_MAX_ELEMENTS / (c_out * win.rows()).max(1);
        let n_chunks = (WEIGHT_TASKS / n_slices)
            .min(by_memory)
            .clamp(1, runs.max(1));
        WeightSplit {
            slices: even_parts(win.channels, n_slices),
            chunks: even_parts(runs, n_chunks),
        }
    }
}

/// 0..n cut into `parts` consecutive ranges whose lengths differ by at most one (the longer
/// ones first).
pub(super) fn even_parts(n: usize, parts: usize) -> Vec<Range<usize>> {
    let start = |p: usize| (p * n).div_ceil(parts);
    (0..parts).map(|p| start(p)..start(p + 1)).collect()
}

/// grad_W += sum over the batch of G * cols^T, run by run (see [`WeightSplit`]).
pub(super) fn weight_gradient_by_runs<T: Real>(
    x: &Tensor<T>,
    grad_output: &Tensor<T>,
    win: &Window,
    grad_weight: &mut Tensor<T>,
) {
    let (n, c_out) = (x.shape()[0], grad_output.shape()[1]);
    let (rows, positions, taps, plane) =
        (win.rows(), win.positions(), win.kh * win.kw, win.h * win.w);
    let runs = image_groups(n, win);
    let split = WeightSplit::new(win, c_out, runs.len());
    // Runs ordered by position are read by every task as G [C_out, H'W' * g] and x batch
    // innermost: both are arranged once here, each run where its images sit in the batch. (Runs
    // ordered by image need neither: their images are multiplied one at a time below.)
    let mut g_staged = scratch::buffer::<T>(grad_output.len());
    let mut x_staged = scratch::buffer::<T>(x.len());
    let (g_out, x_out) = (
        SharedMut(g_staged.as_mut_ptr()),
        SharedMut(x_staged.as_mut_ptr()),
    );
    for_each_task(runs.len(), |r| {
        let images = &runs[r];
        let columns = Columns::for_run(win, images.len());
        if columns == Columns::ByPosition {
            // SAFETY: runs are disjoint ranges of images; this task alone writes their part.
            let (g_run, x_run) = unsafe {
                (
                    images_mut(g_out, c_out * positions, images),
                    images_mut(x_out, win.channels * plane, images),
                )
            };
            let g_src = images_of(grad_output.as_slice(), c_out * positions, images);
            batch_as_matrix(g_src, c_out, positions, columns, g_run);
            let x_src = images_of(x.as_slice(), win.channels * plane, images);
            batch_as_matrix(x_src, win.channels, plane, columns, x_run);
        }
    });
    // partials: one [C_out, C_in*kH*kW] gradient per chunk, stored slice after slice (the
    // columns of a slice as one contiguous [C_out, slice columns] block).
    let mut partials = scratch::buffer::<T>(split.chunks.len() * c_out * rows);
    let block_of = |chunk: usize, slice: &Range<usize>| {
        let first = chunk * c_out * rows;
        first + slice.start * taps * c_out..first + slice.end * taps * c_out
    };
    let partials_out = SharedMut(partials.as_mut_ptr());
    let n_slices = split.slices.len();
    let (g_staged, x_staged) = (&g_staged, &x_staged);
    for_each_task(split.chunks.len() * n_slices, |t| {
        let (chunk, slice) = (t / n_slices, &split.slices[t % n_slices]);
        let columns_w = slice.len() * taps;
        let block = block_of(chunk, slice);
        // SAFETY: task t alone writes its block of `partials`.
        let part = unsafe {
            std::slice::from_raw_parts_mut(partials_out.get().add(block.start), block.len())
        };
        // The GEMMs of this chunk, in order: a run ordered by position is one GEMM, a run
        // ordered by image one GEMM per image (whose G is read straight from the batch).
        let products = runs[split.chunks[chunk].clone()].iter().flat_map(|images| {
            match Columns::for_run(win, images.len()) {
                Columns::ByImage => images.clone().map(|n| n..n + 1).collect(),
                Columns::ByPosition => vec![images.clone()],
            }
        });
        for (j, images) in products.enumerate() {
            let (g, width) = (images.len(), images.len() * positions);
            if g == 1 && window_rows_in_place(win, slice, columns_w) {
                // The window rows read straight from the arranged image, one piece per output
                // row: no column matrix (chapter 13). The same sums as on the written rows.
                let pixels = Arranged::new(x.as_slice(), win, images.clone(), Columns::ByImage);
                let first = pixels.position_offset(win, 0, 0, 0);
                let rows: Vec<usize> = (0..columns_w)
                    .map(|r| first + pixels.tap_offset(r / taps, (r % taps) / win.kw, r % win.kw))
                    .collect();
                let window_rows = RowsInPieces {
                    values: pixels.values(),
                    rows: &rows,
                    piece: win.w_out,
                    pitch: pixels.position_offset(win, 0, 1, 0) - first,
                };
                let g_mat = images_of(grad_output.as_slice(), c_out * positions, &images);
                let part = MatMut::new(part, c_out, columns_w);
                gemm_nt_by_dots_in_place(g_mat, &window_rows, width, j > 0, part);
                continue;
            }
            // cols: [slice columns, g*H'W'], the rows of im2col for this slice's channels
            let mut cols = scratch::buffer(columns_w * width);
            let g_mat = if g == 1 {
                im2col(x.as_slice(), win, images.clone(), slice.clone(), &mut cols);
                images_of(grad_output.as_slice(), c_out * positions, &images)
            } else {
                let x_t = &images_of(x_staged, win.channels * plane, &images)
                    [slice.start * plane * g..slice.end * plane * g];
                let part_win = Window {
                    channels: slice.len(),
                    ..*win
                };
                im2col_by_position(x_t, &part_win, g, &mut cols);
                images_of(g_staged, c_out * positions, &images)
            };
            // part [C_out, slice columns] (+)= G [C_out, g*H'W'] * cols^T
            if columns_w <= DOTS_MAX_COLUMNS {
                // Few columns: dot products of rows, with no panels to pack (chapter 13).
                let part = MatMut::new(part, c_out, columns_w);
                gemm_nt_by_dots(g_mat, &cols, width, j > 0, part);
                continue;
            }
            let beta = if j == 0 { T::ZERO } else { T::ONE };
            gemm(
                T::ONE,
                MatRef::new(g_mat, c_out, width),
                MatRef::new(&cols, columns_w, width).t(),
                beta,
                MatMut::new(part, c_out, columns_w),
            );
        }
    });
    // grad_W[co, r] += (partial_0 + partial_1 + ...)[co, r], in chunk order, row by row.
    let grad_w = SharedMut(grad_weight.as_mut_slice().as_mut_ptr());
    let partials = &partials;
    for_each_task(c_out, |co| {
        // SAFETY: task co alone writes row co of grad_W.
        let row = unsafe { std::slice::from_raw_parts_mut(grad_w.get().add(co * rows), rows) };
        let mut sum = scratch::buffer::<T>(rows);
        for slice in &split.slices {
            let columns_w = slice.len() * taps;
            let part_row =
                |chunk: usize| &partials[block_of(chunk, slice)][co * columns_w..][..columns_w];
            let sum = &mut sum[..columns_w];
            sum.copy_from_slice(part_row(0));
            for chunk in 1..split.chunks.len() {
                sum.iter_mut()
                    .zip(part_row(chunk))
                    .for_each(|(s, &p)| *s += p);
            }
            let grad = &mut row[slice.start * taps..slice.end * taps];
            grad.iter_mut().zip(sum.iter()).for_each(|(g, &s)| *g += s);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv::conv2d_backward_weight;
    use crate::rng::Rng;
    use proptest::prelude::*;

    /// The weight gradient of a thin layer, its window rows read in place from the image,
    /// against the dot products of the rows im2col writes out: the same bits.
    fn in_place_matches_written(
        (c, c_out, h_out, w_out): (usize, usize, usize, usize),
        (k, s, p): (usize, usize, usize),
        seed: u64,
    ) {
        let (h, w) = ((h_out - 1) * s + k - 2 * p, (w_out - 1) * s + k - 2 * p);
        let win = Window::square(c, (h, w), k, s, p);
        let rows = win.rows();
        assert!(window_rows_in_place(&win, &(0..c), rows), "{win:?}");
        let mut rng = Rng::new(seed);
        let x = Tensor::<f32>::from_fn(&[1, c, h, w], |_| rng.gaussian() as f32);
        let g = Tensor::<f32>::from_fn(&[1, c_out, h_out, w_out], |_| rng.gaussian() as f32);
        let mut got = Tensor::zeros(&[c_out, c, k, k]);
        conv2d_backward_weight(&x, &g, (s, s), (p, p), &mut got, None);
        let mut cols = vec![0.0; rows * win.positions()];
        im2col(x.as_slice(), &win, 0..1, 0..c, &mut cols);
        let mut want = vec![0.0; c_out * rows];
        let want_mat = MatMut::new(&mut want, c_out, rows);
        gemm_nt_by_dots(g.as_slice(), &cols, win.positions(), false, want_mat);
        assert!(
            got.as_slice() == want.as_slice(),
            "{win:?}: the gradient from rows in place differs from the one from written rows"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(40) })]

        #[test]
        fn window_rows_read_in_place_give_the_bits_of_written_rows(
            c in 1usize..=4, c_out in 1usize..10, h_out in 2usize..12,
            w_out in prop_oneof![Just(8usize), Just(16), Just(32)],
            k in 3usize..=4, s in 1usize..=2, p in 0usize..=1, seed in any::<u64>(),
        ) {
            in_place_matches_written((c, c_out, h_out, w_out), (k, s, p), seed);
        }
    }
}
