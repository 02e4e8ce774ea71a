//! Chapter 13. Implicit GEMM: the column matrix of a run of images packed straight from the
//! images into the GEMM's panels, so that it is never written out whole.
//!
//! For DCGAN's 4x4 stride-2 windows the im2col matrix holds four values per input value, and
//! the GEMM reads all of it back once more to pack it into panels. A [`WindowPanels`] stands in
//! for that matrix ([`PackB`]): when the GEMM asks for a block of panels, each piece of a panel
//! row is copied from the run's pixels directly. Every packed value is the one that packing the
//! column matrix would give, so the product is the same, bit for bit (tested below).
//!
//! A panel row holds `nr` consecutive columns of one matrix row r = (c, a, b). In either column
//! order those columns fall into a few pieces that read consecutive pixels:
//! - by position (column p * g + i), the images i of one window position, which are adjacent in
//!   the run stored batch innermost ([C, H, W, g]);
//! - by image (column i * H'W' + oh * W' + ow), the window positions ow of one output row, which
//!   read every S-th pixel of an image row: adjacent once each row is split into its phases
//!   (`split_phases`), as im2col does too.

use super::super::im2col::{split_phases, transpose, unfold_run, Columns, Window};
use crate::gemm::{MatRef, PackB};
use crate::scalar::Real;
use crate::scratch;
use std::ops::Range;

/// Below this many input channels the column matrix is written out first, as im2col does.
/// A panel works out where its pieces read once per kernel tap, and that serves one row per
/// channel: with 3 channels (an RGB image) that cost is larger than the copy it saves.
const IMPLICIT_MIN_CHANNELS: usize = 8;

/// The column matrix of a run of images as the GEMM's B: packed straight from the images
/// ([`WindowPanels`]), or, for few channels, written out by im2col and packed from there.
pub(crate) enum RunColumns<'a, T: Real> {
    Implicit(WindowPanels<'a, T>),
    Written {
        cols: scratch::Buffer<T>,
        rows: usize,
        width: usize,
    },
}

impl<'a, T: Real> RunColumns<'a, T> {
    /// The column matrix of images `images` of the batch `x` ([N, C, H, W], flat), in the
    /// column order `columns`.
    pub(crate) fn new(x: &'a [T], win: &Window, images: Range<usize>, columns: Columns) -> Self {
        if win.channels >= IMPLICIT_MIN_CHANNELS {
            return RunColumns::Implicit(WindowPanels::new(x, win, images, columns));
        }
        let (rows, width) = (win.rows(), images.len() * win.positions());
        let mut cols = scratch::buffer(rows * width);
        unfold_run(x, win, images, columns, &mut cols);
        RunColumns::Written { cols, rows, width }
    }
}

impl<T: Real> PackB<T> for RunColumns<'_, T> {
    fn dims(&self) -> (usize, usize) {
        match self {
            RunColumns::Implicit(panels) => panels.dims(),
            RunColumns::Written { rows, width, .. } => (*rows, *width),
        }
    }

    fn pack(&self, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, out: &mut [T]) {
        match self {
            RunColumns::Implicit(panels) => panels.pack(row0, depth, col0, cols, nr, out),
            RunColumns::Written {
                cols: matrix,
                rows,
                width,
            } => MatRef::new(matrix, *rows, *width).pack(row0, depth, col0, cols, nr, out),
        }
    }
}

/// The column matrix [C * kH * kW, g * H'W'] of a run of g images, as a source of packed panels.
pub(crate) struct WindowPanels<'a, T: Real> {
    pixels: Pixels<'a, T>,
    win: Window,
    g: usize,
    columns: Columns,
    /// Distance between two channels of an image in `pixels`.
    channel_stride: usize,
    /// Values per phase of a split row (by image; W when S_w = 1).
    phase_len: usize,
    /// Distance between two rows of an image in `pixels` (by image).
    row_stride: usize,
    oh_valid: Vec<Range<usize>>,
    ow_valid: Vec<Range<usize>>,
}

/// The run's pixels in the layout the column order reads: borrowed when the batch already is
/// that layout, else arranged once in a scratch buffer.
enum Pixels<'a, T: Real> {
    Borrowed(&'a [T]),
    Arranged(scratch::Buffer<T>),
}

impl<T: Real> Pixels<'_, T> {
    fn as_slice(&self) -> &[T] {
        match self {
            Pixels::Borrowed(values) => values,
            Pixels::Arranged(buffer) => buffer,
        }
    }
}

/// A piece of a panel row: `len` columns from column `at` of the panel, which read pixels one
/// after another.
#[derive(Clone, Copy)]
struct Piece {
    at: usize,
    len: usize,
    /// Image i, output row oh, output column ow of the first column.
    i: usize,
    oh: usize,
    ow: usize,
}

/// Where a piece reads for one kernel tap (a, b): columns `live` of the piece (relative to it)
/// come from `pixels[c * channel_stride + offset ..]` for channel c, the others are padding.
#[derive(Clone)]
struct Read {
    offset: usize,
    live: Range<usize>,
}

impl<'a, T: Real> WindowPanels<'a, T> {
    /// The column matrix of images `images` of the batch `x` ([N, C, H, W], flat), in the column
    /// order `columns`.
    pub(crate) fn new(x: &'a [T], win: &Window, images: Range<usize>, columns: Columns) -> Self {
        let (c, h, w) = (win.channels, win.h, win.w);
        let g = images.len();
        let run = &x[images.start * c * h * w..images.end * c * h * w];
        let (oh_valid, ow_valid) = win.valid_ranges();
        let phase_len = w.div_ceil(win.sw);
        let row_stride = win.sw * phase_len;
        let pixels = match columns {
            Columns::ByPosition => {
                // [g, C*H*W] -> [C*H*W, g]
                let mut x_t = scratch::buffer(run.len());
                transpose(run, g, c * h * w, c * h * w, &mut x_t);
                Pixels::Arranged(x_t)
            }
            Columns::ByImage if win.sw == 1 => Pixels::Borrowed(run),
            Columns::ByImage => {
                let mut split = scratch::buffer(g * c * h * row_stride);
                for (row, out) in run.chunks_exact(w).zip(split.chunks_exact_mut(row_stride)) {
                    split_phases(row, win.sw, out);
                }
                Pixels::Arranged(split)
            }
        };
        let channel_stride = match columns {
            Columns::ByPosition => h * w * g,
            Columns::ByImage => h * row_stride,
        };
        WindowPanels {
            pixels,
            win: *win,
            g,
            columns,
            channel_stride,
            phase_len,
            row_stride,
            oh_valid,
            ow_valid,
        }
    }

    /// The pieces of the `live` columns of the panel that starts at column j0.
    fn pieces(&self, j0: usize, live: usize, pieces: &mut Vec<Piece>) {
        let (w_out, positions) = (self.win.w_out, self.win.positions());
        pieces.clear();
        let mut j = j0;
        while j < j0 + live {
            let (i, position, run) = match self.columns {
                // the images i.. of one position
                Columns::ByPosition => (j % self.g, j / self.g, self.g - j % self.g),
                // the positions ow.. of one output row
                Columns::ByImage => (j / positions, j % positions, w_out - j % w_out),
            };
            let len = run.min(j0 + live - j);
            pieces.push(Piece {
                at: j - j0,
                len,
                i,
                oh: position / w_out,
                ow: position % w_out,
            });
            j += len;
        }
    }

    /// Where `piece` reads for tap (a, b).
    fn read(&self, piece: &Piece, a: usize, b: usize) -> Read {
        let win = &self.win;
        let nothing = Read {
            offset: 0,
            live: 0..0,
        };
        if !self.oh_valid[a].contains(&piece.oh) {
            return nothing;
        }
        let ih = piece.oh * win.sh + a - win.ph;
        match self.columns {
            Columns::ByPosition => {
                if !self.ow_valid[b].contains(&piece.ow) {
                    return nothing;
                }
                let iw = piece.ow * win.sw + b - win.pw;
                Read {
                    offset: (ih * win.w + iw) * self.g + piece.i,
                    live: 0..piece.len,
                }
            }
            Columns::ByImage => {
                let valid = &self.ow_valid[b];
                let first = piece.ow.max(valid.start);
                let last = (piece.ow + piece.len).min(valid.end);
                if first >= last {
                    return nothing;
                }
                let iw = first * win.sw + b - win.pw;
                let image = piece.i * win.channels * win.h * self.row_stride;
                Read {
                    offset: image
                        + ih * self.row_stride
                        + (iw % win.sw) * self.phase_len
                        + iw / win.sw,
                    live: first - piece.ow..last - piece.ow,
                }
            }
        }
    }
}

impl<T: Real> PackB<T> for WindowPanels<'_, T> {
    fn dims(&self) -> (usize, usize) {
        (self.win.rows(), self.g * self.win.positions())
    }

    fn pack(&self, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, out: &mut [T]) {
        let (kw, taps) = (self.win.kw, self.win.kh * self.win.kw);
        let pixels = self.pixels.as_slice();
        let mut pieces = Vec::new();
        let mut reads = Vec::new();
        for (q, panel) in out
            .chunks_exact_mut(nr * depth)
            .take(cols.div_ceil(nr))
            .enumerate()
        {
            let live = nr.min(cols - q * nr);
            self.pieces(col0 + q * nr, live, &mut pieces);
            // Tap by tap: where the pieces read depends on the tap, not on the channel, so it
            // is worked out once for all the rows r = c * taps + t of this block.
            for t in 0..taps {
                // the first row of tap t at or after row0
                let first = row0 + (t + taps - row0 % taps) % taps;
                if first >= row0 + depth {
                    continue;
                }
                reads.clear();
                reads.extend(pieces.iter().map(|piece| self.read(piece, t / kw, t % kw)));
                let rows = (first..row0 + depth).step_by(taps);
                let steps = rows.map(|r| (r - row0, &pixels[(r / taps) * self.channel_stride..]));
                if let ([piece], [read]) = (&pieces[..], &reads[..]) {
                    if piece.len == nr && read.live == (0..nr) {
                        // The common case: one whole row of pixels per panel row.
                        for (p, channel) in steps {
                            copy(&mut panel[p * nr..][..nr], &channel[read.offset..]);
                        }
                        continue;
                    }
                }
                for (p, channel) in steps {
                    let step = &mut panel[p * nr..][..nr];
                    for (piece, read) in pieces.iter().zip(&reads) {
                        let dst = &mut step[piece.at..][..piece.len];
                        let live = read.live.clone();
                        dst[..live.start].fill(T::ZERO);
                        copy(&mut dst[live.clone()], &channel[read.offset..]);
                        dst[live.end..].fill(T::ZERO);
                    }
                    step[live..].fill(T::ZERO);
                }
            }
        }
    }
}

/// dst = src[..dst.len()], eight values at a time: the pieces are short (often one panel row of
/// 16), and a call to memcpy would cost more than the copy.
#[inline(always)]
fn copy<T: Copy>(dst: &mut [T], src: &[T]) {
    let src = &src[..dst.len()];
    let mut dst8 = dst.chunks_exact_mut(8);
    let mut src8 = src.chunks_exact(8);
    for (d, s) in (&mut dst8).zip(&mut src8) {
        let s: &[T; 8] = s.try_into().expect("eight values");
        d.copy_from_slice(s);
    }
    for (d, s) in dst8.into_remainder().iter_mut().zip(src8.remainder()) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Packed from the image, every block of panels is the one packing the im2col matrix
        /// gives: awkward sizes, both column orders, any block.
        #[test]
        fn panels_are_the_packed_column_matrix(
            channels in 1usize..4, h in 1usize..12, w in 1usize..12,
            kh in 1usize..5, kw in 1usize..5, sh in 1usize..4, sw in 1usize..4,
            ph in 0usize..3, pw in 0usize..3, n in 1usize..6, first in 0usize..3,
            by_position in any::<bool>(), nr_pick in 0usize..3,
            block in (0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0),
        ) {
            prop_assume!(h + 2 * ph >= kh && w + 2 * pw >= kw && ph < kh && pw < kw);
            let (h_out, w_out) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1);
            let win = Window { channels, h, w, kh, kw, sh, sw, ph, pw, h_out, w_out };
            let batch = first + n + 1;
            let x: Vec<f64> = (0..batch * channels * h * w).map(|v| v as f64 + 0.5).collect();
            let images = first..first + n;
            let columns = if by_position { Columns::ByPosition } else { Columns::ByImage };
            let (rows, width) = (win.rows(), n * win.positions());
            let mut cols = vec![0.0; rows * width];
            unfold_run(&x, &win, images.clone(), columns, &mut cols);
            let matrix = MatRef::new(&cols, rows, width);
            let panels = WindowPanels::new(&x, &win, images, columns);
            prop_assert_eq!(panels.dims(), (rows, width));

            let nr = [1, 8, 16][nr_pick];
            let row0 = (block.0 * rows as f64) as usize;
            let depth = 1 + (block.1 * (rows - row0) as f64) as usize;
            let col0 = (block.2 * width as f64) as usize;
            let n_cols = 1 + (block.3 * (width - col0) as f64) as usize;
            let len = n_cols.div_ceil(nr) * nr * depth;
            let (mut want, mut got) = (vec![f64::NAN; len], vec![f64::NAN; len]);
            matrix.pack(row0, depth, col0, n_cols, nr, &mut want);
            panels.pack(row0, depth, col0, n_cols, nr, &mut got);
            prop_assert_eq!(want, got);
        }
    }
}
