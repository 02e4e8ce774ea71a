//! Chapter 13. Direct convolution for thin inputs: the micro-kernel reads the window straight
//! from the image, with no column matrix and no packed panels of B.
//!
//! With 1 or 3 input channels (a grey or an RGB image, or the gradient of a generator's image)
//! a column of the im2col matrix holds only C * kH * kW = 16 or 48 values. Each value is then
//! used in a short sum, and writing the matrix, packing it and zeroing the output cost as much
//! as a third of the layer (chapter 13 has the profile).
//!
//! Here the run is arranged once, as for the implicit GEMM: zero-padded, and each row split
//! into its stride phases. Then the NR window positions ow.. of one output row read NR
//! consecutive values at every tap (c, a, b), starting at a part that depends on the position
//! plus a part that depends on the tap. The kernel takes the tap parts as a table of offsets
//! ([`crate::gemm::kernel::KernelRowsFn`]) and writes its tile of y in place.
//!
//! The weights are packed as the GEMM packs A, block of k by block of k, and the kernel, the
//! blocks and the edge tiles are the GEMM's. So every output value is the same sum, taken in
//! the same order, as `gemm` on the im2col matrix gives, bit for bit (tested below).
//!
//! The input gradient of a thin layer uses the same kernel the other way round
//! ([`input_columns`]): its product W^T G has G's channels as the rows of B, and each is
//! contiguous in the batch, so G is read where it lies instead of being packed.

use super::super::im2col::{Columns, Window};
use super::panels::{Arranged, IMPLICIT_MIN_CHANNELS};
use crate::gemm::kernel::{best_kernel, store_fence, Kernel, STREAM_ALIGN};
use crate::gemm::{through_full_tile, MatRef, PackB, EDGE_TILE_LEN, KC};
use crate::parallel::SharedMut;
use crate::scalar::Real;
use std::mem::MaybeUninit;
use std::ops::Range;

/// Whether the forward pass of a run in column order `columns` reads its windows directly:
/// for thin inputs (where the implicit GEMM is not used), by image, and when an output row
/// fills half a tile at least (a narrower one would leave most of each tile unused). One
/// output channel or a one-value window is left to the GEMM, which takes such thin products
/// apart from its tiles (so they would not give the GEMM's bits here).
pub(crate) fn applies<T: Real>(win: &Window, columns: Columns, c_out: usize) -> bool {
    columns == Columns::ByImage
        && win.channels < IMPLICIT_MIN_CHANNELS
        && 2 * win.w_out >= best_kernel::<T>().nr
        && c_out > 1
        && win.rows() > 1
}

/// The weights W [C_out, C_in*kH*kW] packed for the kernel: for each block of KC rows of the
/// window, panels of MR output channels, as the GEMM packs its A.
pub(crate) struct DirectWeights<T: 'static> {
    kernel: &'static Kernel<T>,
    packed: Vec<T>,
    c_out: usize,
    rows: usize,
}

impl<T: Real> DirectWeights<T> {
    /// `weight`: [C_out, rows] row-major.
    pub(crate) fn new(weight: &[T], c_out: usize, rows: usize) -> Self {
        Self::of(MatRef::new(weight, c_out, rows))
    }

    /// Any matrix [m, k] as the kernel's A (the names below say C_out for m and rows for k).
    pub(crate) fn of(w: MatRef<T>) -> Self {
        let (c_out, rows) = (w.rows(), w.cols());
        let kernel = best_kernel::<T>();
        let padded_c_out = c_out.div_ceil(kernel.mr) * kernel.mr;
        let mut packed = vec![T::ZERO; padded_c_out * rows];
        for pc in (0..rows).step_by(KC) {
            let kc = KC.min(rows - pc);
            // A panel of W's rows is a panel of W^T's columns.
            w.t().pack(
                pc,
                kc,
                0,
                c_out,
                kernel.mr,
                &mut packed[pc * padded_c_out..][..padded_c_out * kc],
            );
        }
        DirectWeights {
            kernel,
            packed,
            c_out,
            rows,
        }
    }

    /// The packed panel of output channels ir.. in the block of rows pc.. (kc deep).
    fn panel(&self, pc: usize, kc: usize, ir: usize) -> &[T] {
        let mr = self.kernel.mr;
        let padded_c_out = self.c_out.div_ceil(mr) * mr;
        &self.packed[pc * padded_c_out + ir * kc..][..mr * kc]
    }
}

/// y for images `images` of the batch x ([N, C_in, H, W], flat): `y_run` is their
/// [g, C_out, H', W'], uninitialised; every value of it is written, and it is returned as
/// values.
pub(crate) fn forward_run<'y, T: Real>(
    x: &[T],
    win: &Window,
    images: Range<usize>,
    weights: &DirectWeights<T>,
    y_run: &'y mut [MaybeUninit<T>],
    stream: bool,
) -> &'y mut [T] {
    let (kernel, c_out, rows) = (weights.kernel, weights.c_out, weights.rows);
    assert_eq!(rows, win.rows(), "direct conv: weights for another window");
    let positions = win.positions();
    let g = images.len();
    assert_eq!(
        y_run.len(),
        g * c_out * positions,
        "direct conv: output size"
    );
    let pixels = Arranged::new(x, win, images, Columns::ByImage);
    let taps = win.kh * win.kw;
    let offsets: Vec<usize> = (0..rows)
        .map(|r| pixels.tap_offset(r / taps, (r % taps) / win.kw, r % win.kw))
        .collect();
    let furthest = offsets.iter().copied().max().unwrap_or(0) + kernel.nr;
    let values = pixels.values();

    // The kernels write through a raw pointer: y is only written until every tile has been
    // (it is read only for a second block of k, after the first block wrote it).
    let y_ptr = SharedMut(y_run.as_mut_ptr().cast::<T>());
    // A tile that ends past its output row may be stored whole when the row below is computed
    // later by the same task: its extra columns land at the start of that row and are
    // overwritten there. So rows narrower than a tile (14 wide for 28x28 digits) need no copy
    // through a scratch tile except in a task's last row. Only with one block of k: a second
    // block would read those columns before they are written.
    let spill = rows <= KC;
    // Whole tiles stored past the caches ([`stream_output`]): one block of k (beta 0), and
    // channel planes that keep every tile's rows on the alignment.
    let stream = stream
        && kernel.streams()
        && rows <= KC
        && (positions * std::mem::size_of::<T>()).is_multiple_of(STREAM_ALIGN);

    // Output row oh of image i, every channel; `row_below_is_ours`: row oh + 1 is computed
    // later by the same task.
    let output_row =
        |i: usize, oh: usize, row_below_is_ours: bool, edge: &mut [T; EDGE_TILE_LEN]| {
            for ow0 in (0..win.w_out).step_by(kernel.nr) {
                let nr_live = kernel.nr.min(win.w_out - ow0);
                // Stored whole, the tile's extra columns must stay inside the row below.
                let whole = nr_live == kernel.nr
                    || (spill && row_below_is_ours && kernel.nr - nr_live <= win.w_out);
                let start = pixels.position_offset(win, i, oh, ow0);
                // Every row the kernel reads, the values past the last position included, lies in
                // the arranged run (whose tail of zeros is there for this).
                assert!(
                    start + furthest <= values.len(),
                    "direct conv: read past the run"
                );
                let b = values[start..].as_ptr();
                for ir in (0..c_out).step_by(kernel.mr) {
                    let mr_live = kernel.mr.min(c_out - ir);
                    // SAFETY: the calling task alone writes output row (i, oh) of every channel
                    // (and the row below, if it is ours), and this tile of it lies in y_run.
                    let tile = unsafe {
                        y_ptr
                            .get()
                            .add((i * c_out + ir) * positions + oh * win.w_out + ow0)
                    };
                    for pc in (0..rows).step_by(KC) {
                        let kc = KC.min(rows - pc);
                        // After the first block, the tile holds the partial sum (as in the GEMM).
                        let beta = if pc == 0 { T::ZERO } else { T::ONE };
                        let a = weights.panel(pc, kc, ir);
                        let offsets = &offsets[pc..pc + kc];
                        // SAFETY: the panel holds kc * MR values, the offsets kc, every row of B
                        // lies in `values` (asserted above), and the tile in y_run (a whole tile
                        // that ends past its row ends inside the row below).
                        unsafe {
                            let aligned = (tile as usize).is_multiple_of(STREAM_ALIGN);
                            if mr_live == kernel.mr && whole && stream && aligned {
                                let o = offsets.as_ptr();
                                kernel.run_rows_stream(kc, a.as_ptr(), b, o, tile, positions);
                            } else if mr_live == kernel.mr && whole {
                                kernel.run_rows(
                                    kc,
                                    a.as_ptr(),
                                    b,
                                    offsets.as_ptr(),
                                    tile,
                                    positions,
                                    T::ONE,
                                    beta,
                                );
                            } else {
                                // Through a full-size scratch tile, as in the GEMM, so that
                                // edge values get the arithmetic of interior ones.
                                let run = |full: *mut T, rs: usize| {
                                    let o = offsets.as_ptr();
                                    kernel.run_rows(kc, a.as_ptr(), b, o, full, rs, T::ONE, beta)
                                };
                                through_full_tile(
                                    kernel, tile, positions, mr_live, nr_live, beta, edge, run,
                                );
                            }
                        }
                    }
                }
            }
        };

    // A task per band of output rows of an image: tasks write disjoint bands of y. Inside a
    // run that is itself a task they run one after another.
    let bands = win.h_out.div_ceil(BAND_ROWS);
    crate::layers::im2col::run_tasks(g * bands, y_run.len(), |t| {
        let (i, band) = (t / bands, t % bands);
        let band_rows = band * BAND_ROWS..((band + 1) * BAND_ROWS).min(win.h_out);
        let mut edge = [T::ZERO; EDGE_TILE_LEN];
        for oh in band_rows.clone() {
            output_row(i, oh, oh + 1 < band_rows.end, &mut edge);
        }
        if stream {
            store_fence();
        }
    });
    // SAFETY: the tiles cover every (image, channel, oh, ow) of y_run: images i < g, channels
    // ir.. in steps of MR up to C_out, and the positions of every output row in steps of NR,
    // each tile written in its live part.
    unsafe { &mut *(y_run as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// Whether the input gradient's product W^T G reads G in place ([`input_columns`]): for thin
/// inputs, by image, and where the GEMM would use its tiles (more than one row, column and term).
/// Not when G's channels lie a multiple of 4 KiB apart (W64's 32x32 maps): then the kernel's 64
/// rows of B fall into one set of the L1 cache and evict each other, and reading them in place
/// took 70% longer than packing them.
pub(crate) fn input_columns_apply<T>(
    win: &Window,
    columns: Columns,
    c_out: usize,
    width: usize,
) -> bool {
    let row_bytes = win.positions() * std::mem::size_of::<T>();
    columns == Columns::ByImage
        && win.channels < IMPLICIT_MIN_CHANNELS
        && win.rows() > 1
        && c_out > 1
        && width > 1
        && !row_bytes.is_multiple_of(4096)
}

/// cols [rows, g * P] = W^T G for a run of g images by image, G read where it lies: `g_run` is
/// the run's [g, C_out, P]. Row k of B is G's channel k of one image, contiguous, so the kernel
/// reads it at an offset (`KernelRowsFn`) and B is never packed: for a thin layer, packing G
/// was 18% of the pass. `w_t` is W^T packed ([`DirectWeights::of`]). The same kernel, blocks and
/// edge tiles as `gemm` on the staged G, so the same bits.
pub(crate) fn input_columns<T: Real>(
    w_t: &DirectWeights<T>,
    g_run: &[T],
    positions: usize,
    cols: &mut [T],
) {
    let (kernel, rows, c_out) = (w_t.kernel, w_t.c_out, w_t.rows);
    let (mr, nr) = (kernel.mr, kernel.nr);
    let g = g_run.len() / (c_out * positions);
    let width = g * positions;
    assert!(
        g_run.len() == g * c_out * positions && cols.len() == rows * width,
        "direct input gradient: G or the columns have the wrong size"
    );
    // Row p of B starts p * P values after the first.
    let offsets: Vec<usize> = (0..c_out).map(|p| p * positions).collect();
    let cols_ptr = SharedMut(cols.as_mut_ptr());
    let tiles_per_image = positions.div_ceil(nr);
    crate::layers::im2col::run_tasks(g * tiles_per_image, cols.len(), |t| {
        let (i, j0) = (t / tiles_per_image, (t % tiles_per_image) * nr);
        let nr_live = nr.min(positions - j0);
        let g_image = &g_run[i * c_out * positions..][..c_out * positions];
        // A tile whose rows would run past G is packed first (zero-padded), as the GEMM packs.
        let mut panel = Vec::new();
        if nr_live < nr {
            panel = vec![T::ZERO; nr * c_out];
            for (p, step) in panel.chunks_exact_mut(nr).enumerate() {
                step[..nr_live].copy_from_slice(&g_image[p * positions + j0..][..nr_live]);
            }
        }
        let mut edge = [T::ZERO; EDGE_TILE_LEN];
        for ir in (0..rows).step_by(mr) {
            let mr_live = mr.min(rows - ir);
            // SAFETY: task t alone writes columns i * P + j0.. (nr_live of them) of cols, and
            // this tile of them lies in cols.
            let tile = unsafe { cols_ptr.get().add(ir * width + i * positions + j0) };
            for pc in (0..c_out).step_by(KC) {
                let kc = KC.min(c_out - pc);
                let beta = if pc == 0 { T::ZERO } else { T::ONE };
                let a = w_t.panel(pc, kc, ir);
                // SAFETY: the panel holds kc * MR values; every row of B read lies in G (a
                // whole tile ends inside its image's row) or in `panel`; the tile lies in cols.
                unsafe {
                    let run = |full: *mut T, rs: usize| {
                        if nr_live == nr {
                            let b = g_image[j0..].as_ptr();
                            kernel.run_rows(
                                kc,
                                a.as_ptr(),
                                b,
                                offsets[pc..].as_ptr(),
                                full,
                                rs,
                                T::ONE,
                                beta,
                            );
                        } else {
                            let b = panel[pc * nr..].as_ptr();
                            kernel.run(kc, a.as_ptr(), b, full, rs, T::ONE, beta);
                        }
                    };
                    if mr_live == mr && nr_live == nr {
                        run(tile, width);
                    } else {
                        through_full_tile(
                            kernel, tile, width, mr_live, nr_live, beta, &mut edge, run,
                        );
                    }
                }
            }
        }
    });
}

/// Whether a forward pass stores its output past the caches: an output of many megabytes
/// (W64's first layer writes 16.8 MB) that several threads write at once. Ordinary stores first
/// read every line of it from memory, so memory carries each byte twice, and with two threads
/// writing, memory was the limit: 65% of peak against 79% on one thread. Past the caches it
/// reached 76% on two threads. On one thread it lost 5% (the next layer then reads the output
/// from memory, not from the cache), so one thread stores as usual.
pub(crate) fn stream_output<T>(output_len: usize) -> bool {
    output_len * std::mem::size_of::<T>() >= STREAM_MIN_BYTES && crate::parallel::threads() > 1
}

/// See [`stream_output`]: four times a core's 1-2 MiB of L2 cache, and more than W32's 4 MB.
const STREAM_MIN_BYTES: usize = 8 << 20;

/// Output rows per task: enough that few rows end a band (see `spill`), few enough that a
/// single 64x64 image still gives every thread work.
const BAND_ROWS: usize = 8;

#[cfg(test)]
mod tests {
    use super::super::super::im2col::unfold_run;
    use super::*;
    use crate::gemm::{gemm, MatMut};
    use proptest::prelude::*;

    /// y of images `images` by the GEMM on the written im2col matrix: [C_out, g * H'W'].
    fn by_gemm<T: Real>(
        x: &[T],
        w: &[T],
        c_out: usize,
        win: &Window,
        images: Range<usize>,
    ) -> Vec<T> {
        let (rows, width) = (win.rows(), images.len() * win.positions());
        let mut cols = vec![T::ZERO; rows * width];
        unfold_run(x, win, images, Columns::ByImage, &mut cols);
        let mut y = vec![T::ZERO; c_out * width];
        gemm(
            T::ONE,
            MatRef::new(w, c_out, rows),
            MatRef::new(&cols, rows, width),
            T::ZERO,
            MatMut::new(&mut y, c_out, width),
        );
        y
    }

    /// The GEMM's [C_out, g * H'W'] as [g, C_out, H'W'].
    fn to_batch<T: Real>(y: &[T], c_out: usize, g: usize, positions: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(y.len());
        for i in 0..g {
            for c in 0..c_out {
                out.extend_from_slice(&y[c * g * positions + i * positions..][..positions]);
            }
        }
        out
    }

    /// A window of more than KC values is summed block by block, as the GEMM sums it.
    #[test]
    fn a_window_deeper_than_a_block_of_k_gives_the_gemm_bits() {
        let (channels, h, w, k) = (5, 13, 37, 11);
        let (h_out, w_out) = (h + 2 - k + 1, (w + 2 - k) / 2 + 1);
        let win = Window {
            channels,
            h,
            w,
            kh: k,
            kw: k,
            sh: 1,
            sw: 2,
            ph: 1,
            pw: 1,
            h_out,
            w_out,
        };
        assert!(win.rows() > KC);
        let c_out = 7;
        let mut rng = crate::rng::Rng::new(3);
        let x: Vec<f32> = (0..2 * channels * h * w)
            .map(|_| rng.gaussian() as f32)
            .collect();
        let wt: Vec<f32> = (0..c_out * win.rows())
            .map(|_| rng.gaussian() as f32)
            .collect();
        let want = to_batch(
            &by_gemm(&x, &wt, c_out, &win, 1..2),
            c_out,
            1,
            win.positions(),
        );
        let mut got = vec![MaybeUninit::new(f32::NAN); want.len()];
        let got = forward_run(
            &x,
            &win,
            1..2,
            &DirectWeights::new(&wt, c_out, win.rows()),
            &mut got,
            false,
        );
        assert_eq!(&want[..], &got[..]);
    }

    /// Tiles stored past the caches hold the bits of tiles stored as usual: an RGB 16x16
    /// batch, whose 8x8 output planes keep every tile on the alignment, so that each whole
    /// tile streams (on a CPU whose kernel can).
    #[test]
    fn an_output_stored_past_the_caches_is_the_same() {
        let win = Window::square(3, (16, 16), 4, 2, 1);
        let (n, c_out) = (3, 13);
        let mut rng = crate::rng::Rng::new(11);
        let x: Vec<f32> = (0..n * 3 * 16 * 16)
            .map(|_| rng.gaussian() as f32)
            .collect();
        let wt: Vec<f32> = (0..c_out * win.rows())
            .map(|_| rng.gaussian() as f32)
            .collect();
        let weights = DirectWeights::new(&wt, c_out, win.rows());
        let len = n * c_out * win.positions();
        let mut plain = vec![MaybeUninit::new(f32::NAN); len];
        let plain = forward_run(&x, &win, 0..n, &weights, &mut plain, false).to_vec();
        // The output on a 32-byte boundary, as a large block of the `gan` allocator is.
        let mut buffer = vec![MaybeUninit::new(f32::NAN); len + 8];
        let skip = buffer.as_ptr().align_offset(STREAM_ALIGN);
        let streamed = forward_run(
            &x,
            &win,
            0..n,
            &weights,
            &mut buffer[skip..skip + len],
            true,
        );
        assert!(plain == streamed, "streamed tiles differ from stored ones");
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(200) })]

        /// W^T G with G read in place gives the bits of the GEMM on G: any sizes, rows that end
        /// mid-tile, f32 and f64.
        #[test]
        fn input_columns_are_the_gemm_on_g(
            rows in 2usize..50, c_out in 2usize..70, positions in 1usize..70, g in 1usize..4,
            seed in any::<u64>(),
        ) {
            prop_assume!(g * positions > 1);
            let mut rng = crate::rng::Rng::new(seed);
            let w: Vec<f64> = (0..c_out * rows).map(|_| rng.gaussian()).collect();
            let grad: Vec<f64> = (0..g * c_out * positions).map(|_| rng.gaussian()).collect();
            fn check<T: Real>(w: &[T], grad: &[T], rows: usize, c_out: usize, positions: usize, g: usize) -> Result<(), TestCaseError> {
                let width = g * positions;
                // G staged as one matrix [C_out, g * P], image after image.
                let mut staged = vec![T::ZERO; c_out * width];
                for i in 0..g {
                    for c in 0..c_out {
                        staged[c * width + i * positions..][..positions]
                            .copy_from_slice(&grad[(i * c_out + c) * positions..][..positions]);
                    }
                }
                let w_mat = MatRef::new(w, c_out, rows);
                let mut want = vec![T::ZERO; rows * width];
                gemm(T::ONE, w_mat.t(), MatRef::new(&staged, c_out, width), T::ZERO, MatMut::new(&mut want, rows, width));
                let mut got = vec![T::from_f64(f64::NAN); rows * width];
                input_columns(&DirectWeights::of(w_mat.t()), grad, positions, &mut got);
                prop_assert_eq!(want, got);
                Ok(())
            }
            check(&w, &grad, rows, c_out, positions, g)?;
            let (w, grad): (Vec<f32>, Vec<f32>) =
                (w.iter().map(|&v| v as f32).collect(), grad.iter().map(|&v| v as f32).collect());
            check(&w, &grad, rows, c_out, positions, g)?;
        }

        /// The direct pass gives the bits of the GEMM on the im2col matrix: awkward shapes
        /// (1 and prime output channels, rows that end mid-tile), any window, f32 and f64.
        #[test]
        fn direct_forward_is_the_gemm_on_the_column_matrix(
            channels in 1usize..8, c_out in 1usize..20, h in 1usize..12, w in 1usize..40,
            kh in 1usize..5, kw in 1usize..5, sh in 1usize..4, sw in 1usize..4,
            ph in 0usize..3, pw in 0usize..3, n in 1usize..4, first in 0usize..2,
            seed in any::<u64>(),
        ) {
            // Padding below the kernel size, and an image the window fits in once padded.
            let (ph, pw) = (ph % kh, pw % kw);
            let (h, w) = (h.max(kh.saturating_sub(2 * ph)), w.max(kw.saturating_sub(2 * pw)));
            let (h_out, w_out) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1);
            let win = Window { channels, h, w, kh, kw, sh, sw, ph, pw, h_out, w_out };
            let batch = first + n + 1;
            let mut rng = crate::rng::Rng::new(seed);
            let x: Vec<f64> = (0..batch * channels * h * w).map(|_| rng.gaussian()).collect();
            let wt: Vec<f64> = (0..c_out * win.rows()).map(|_| rng.gaussian()).collect();
            // (The GEMM computes one output channel, a one-value window or a single column
            // apart from its tiles, so only tiled products are compared.)
            prop_assume!(c_out > 1 && win.rows() > 1 && n * win.positions() > 1);
            let images = first..first + n;
            let positions = win.positions();

            let want = to_batch(&by_gemm(&x, &wt, c_out, &win, images.clone()), c_out, n, positions);
            let mut got = vec![MaybeUninit::new(f64::NAN); n * c_out * positions];
            let got = forward_run(&x, &win, images.clone(), &DirectWeights::new(&wt, c_out, win.rows()), &mut got, seed % 2 == 0);
            prop_assert_eq!(&want[..], &got[..]);

            let (x, wt): (Vec<f32>, Vec<f32>) =
                (x.iter().map(|&v| v as f32).collect(), wt.iter().map(|&v| v as f32).collect());
            let want = to_batch(&by_gemm(&x, &wt, c_out, &win, images.clone()), c_out, n, positions);
            let mut got = vec![MaybeUninit::new(f32::NAN); n * c_out * positions];
            let got = forward_run(&x, &win, images, &DirectWeights::new(&wt, c_out, win.rows()), &mut got, seed % 2 == 1);
            prop_assert_eq!(&want[..], &got[..]);
        }
    }
}
