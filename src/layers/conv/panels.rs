//! Chapter 13. Implicit GEMM: the column matrix of a run of images packed straight from the
//! images into the GEMM's panels, so that it is never written out whole.
//!
//! For DCGAN's 4x4 stride-2 windows the im2col matrix holds four values per input value, and
//! the GEMM reads all of it back once more to pack it into panels. A [`WindowPanels`] stands in
//! for that matrix ([`PackB`]): when the GEMM asks for a block of panels, each piece of a panel
//! row is copied from the run's pixels directly. Every packed value is the one that packing the
//! column matrix would give, so the product is the same, bit for bit (tested below).
//!
//! The run is first arranged once ([`Arranged`]): zero-padded, so that every read of a window
//! lands on a value (the padding's zeros are the column matrix's zeros), and laid out so that the
//! columns of a panel row read consecutive values. A panel row holds `nr` consecutive columns of
//! one matrix row r = (c, a, b); in either column order they fall into a few pieces:
//! - by position (column p * g + i), the images i of one window position: adjacent in the run
//!   stored batch innermost, [C, H, W, g];
//! - by image (column i * H'W' + oh * W' + ow), the window positions ow of one output row, which
//!   read every S-th pixel of an image row: adjacent once each row is split into its phases
//!   (`split_phases`), as im2col does too.

use super::super::im2col::{run_tasks, split_phases, transpose, unfold_run, Columns, Window};
use crate::gemm::{MatRef, PackB};
use crate::parallel::SharedMut;
use crate::scalar::Real;
use crate::scratch;
use std::ops::Range;

/// Below this many input channels the column matrix is written out first, as im2col does.
/// A panel works out where its pieces read once per kernel tap, and that serves one row per
/// channel: with 3 channels (an RGB image) that cost is larger than the copy it saves.
pub(super) const IMPLICIT_MIN_CHANNELS: usize = 8;

/// The column matrix of a run of images as the GEMM's B: packed straight from the images
/// ([`WindowPanels`]), or, for few channels, written out by im2col and packed from there.
pub(crate) enum RunColumns<T: Real> {
    Implicit(WindowPanels<T>),
    Written {
        cols: scratch::Buffer<T>,
        rows: usize,
        width: usize,
    },
}

impl<T: Real> RunColumns<T> {
    /// The column matrix of images `images` of the batch `x` ([N, C, H, W], flat), in the
    /// column order `columns`.
    pub(crate) fn new(x: &[T], win: &Window, images: Range<usize>, columns: Columns) -> Self {
        if win.channels >= IMPLICIT_MIN_CHANNELS {
            return RunColumns::Implicit(WindowPanels::new(x, win, images, columns));
        }
        let (rows, width) = (win.rows(), images.len() * win.positions());
        let mut cols = scratch::buffer(rows * width);
        unfold_run(x, win, images, columns, &mut cols);
        RunColumns::Written { cols, rows, width }
    }
}

impl<T: Real> PackB<T> for RunColumns<T> {
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

/// The zero padding (top, bottom, left, right) a window reads around the image: P_h above, and
/// below whatever its last row reaches past the image (likewise for columns).
fn padding(win: &Window) -> [usize; 4] {
    let beyond = |out: usize, stride: usize, kernel: usize, pad: usize, len: usize| {
        (out.saturating_sub(1) * stride + kernel).saturating_sub(pad + len)
    };
    [
        win.ph,
        beyond(win.h_out, win.sh, win.kh, win.ph, win.h),
        win.pw,
        beyond(win.w_out, win.sw, win.kw, win.pw, win.w),
    ]
}

/// A run of g images, zero-padded and laid out for the column order `columns`:
/// - by position, [C, H_p, W_p, g];
/// - by image, [g, C, H_p, S * L]: each padded row split into S phases of L = ceil(W_p / S)
///   values (S = 1: the row as it is).
///
/// [`TAIL`] zeros follow, so that a kernel may read a whole row of a tile past the last value.
pub(super) struct Arranged<T: Real> {
    pixels: scratch::Buffer<T>,
    columns: Columns,
    g: usize,
    channels: usize,
    /// Padding above and left of the image.
    top: usize,
    left: usize,
    /// The stride the phases of a row are split by (by image), and the values per phase.
    sw: usize,
    phase_len: usize,
    row_stride: usize,
    channel_stride: usize,
}

/// Zeros after the arranged run: a micro-kernel's widest row (32 values).
pub(super) const TAIL: usize = 32;

impl<T: Real> Arranged<T> {
    /// Images `images` of the batch `x` ([N, C, H, W] with C, H, W those of `win`), padded as
    /// `win` reads them ([`padding`]), arranged for `columns` and, by image, for `win`'s column
    /// stride.
    pub(super) fn new(x: &[T], win: &Window, images: Range<usize>, columns: Columns) -> Self {
        let (c, h, w, g) = (win.channels, win.h, win.w, images.len());
        let [top, bottom, left, right] = padding(win);
        let (rows, cols) = (top + h + bottom, left + w + right);
        let sw = match columns {
            Columns::ByPosition => 1,
            Columns::ByImage => win.sw,
        };
        let phase_len = cols.div_ceil(sw);
        let (row_stride, channel_stride) = match columns {
            Columns::ByPosition => (cols * g, rows * cols * g),
            Columns::ByImage => (sw * phase_len, rows * sw * phase_len),
        };
        let planes = match columns {
            Columns::ByPosition => c,
            Columns::ByImage => g * c,
        };
        let mut pixels = scratch::buffer::<T>(planes * channel_stride + TAIL);
        pixels[planes * channel_stride..].fill(T::ZERO);
        let image_len = c * h * w;
        let run = &x[images.start * image_len..images.end * image_len];
        // A task per channel (by position) or per image plane (by image): each writes its own
        // part of `pixels`, on all threads when the run is large (a run can be the whole batch).
        let out = SharedMut(pixels.as_mut_ptr());
        run_tasks(
            planes,
            planes * channel_stride,
            #[inline(always)]
            |k| {
                // SAFETY: task k alone writes plane k.
                let out = unsafe {
                    std::slice::from_raw_parts_mut(
                        out.get().add(k * channel_stride),
                        channel_stride,
                    )
                };
                match columns {
                    Columns::ByPosition => {
                        for (pr, out_row) in out.chunks_exact_mut(row_stride).enumerate() {
                            let Some(ih) = pr.checked_sub(top).filter(|&ih| ih < h) else {
                                out_row.fill(T::ZERO);
                                continue;
                            };
                            out_row[..left * g].fill(T::ZERO);
                            out_row[(left + w) * g..].fill(T::ZERO);
                            // image row ih of channel k, for the g images: [g, W] -> [W, g]
                            let src = &run[(k * h + ih) * w..];
                            transpose(src, g, w, image_len, &mut out_row[left * g..(left + w) * g]);
                        }
                    }
                    Columns::ByImage => {
                        let plane = &run[k * h * w..][..h * w];
                        let mut padded = vec![T::ZERO; cols];
                        for (pr, out_row) in out.chunks_exact_mut(row_stride).enumerate() {
                            match pr.checked_sub(top).filter(|&ih| ih < h) {
                                Some(ih) => {
                                    padded[left..left + w].copy_from_slice(&plane[ih * w..][..w])
                                }
                                None => padded[left..left + w].fill(T::ZERO),
                            }
                            split_phases(&padded, sw, out_row);
                        }
                    }
                }
            },
        );
        Arranged {
            pixels,
            columns,
            g,
            channels: c,
            top,
            left,
            sw,
            phase_len,
            row_stride,
            channel_stride,
        }
    }
}

/// The column matrix [C * kH * kW, g * H'W'] of a run of g images, as a source of packed
/// panels read from the run's arrangement.
pub(crate) struct WindowPanels<T: Real> {
    pixels: Arranged<T>,
    win: Window,
}

/// A piece of a panel row: `len` columns from column `at` of the panel, which read consecutive
/// values. For channel 0 and tap (0, 0) they start in the arranged row that begins at `row`
/// (for image i by position: `row` + i), at padded column `col`.
#[derive(Clone, Copy)]
struct Piece {
    at: usize,
    len: usize,
    row: usize,
    col: usize,
}

impl<T: Real> Arranged<T> {
    /// Where padded column `pc` of a row is stored, from the row's start (by position, for
    /// image 0).
    fn column(&self, pc: usize) -> usize {
        match self.columns {
            Columns::ByPosition => pc * self.g,
            Columns::ByImage => (pc % self.sw) * self.phase_len + pc / self.sw,
        }
    }

    /// The arranged values, with the [`TAIL`].
    pub(super) fn values(&self) -> &[T] {
        &self.pixels
    }

    /// By image: where the value that window position (oh, ow) of image i reads at tap
    /// (c, a, b) is stored, as the sum of a part for the position and a part for the tap. The
    /// positions ow.. of one output row read consecutive values (the row's phases are split).
    pub(super) fn position_offset(&self, win: &Window, i: usize, oh: usize, ow: usize) -> usize {
        debug_assert!(
            self.columns == Columns::ByImage && self.top == win.ph && self.left == win.pw
        );
        i * self.channels * self.channel_stride + oh * win.sh * self.row_stride + ow
    }

    /// See [`Arranged::position_offset`].
    pub(super) fn tap_offset(&self, c: usize, a: usize, b: usize) -> usize {
        c * self.channel_stride + a * self.row_stride + self.column(b)
    }
}

impl<T: Real> WindowPanels<T> {
    /// The column matrix of images `images` of the batch `x` ([N, C, H, W], flat), in the
    /// column order `columns`: the run is arranged here, once.
    pub(crate) fn new(x: &[T], win: &Window, images: Range<usize>, columns: Columns) -> Self {
        WindowPanels {
            pixels: Arranged::new(x, win, images, columns),
            win: *win,
        }
    }

    /// The pieces of the `live` columns of the panel that starts at column j0.
    fn pieces(&self, j0: usize, live: usize, pieces: &mut Vec<Piece>) {
        let (px, win) = (&self.pixels, &self.win);
        let positions = win.positions();
        pieces.clear();
        let mut j = j0;
        while j < j0 + live {
            let (i, position, run) = match px.columns {
                // the images i.. of one position
                Columns::ByPosition => (j % px.g, j / px.g, px.g - j % px.g),
                // the positions ow.. of one output row
                Columns::ByImage => (j / positions, j % positions, win.w_out - j % win.w_out),
            };
            let (oh, ow) = (position / win.w_out, position % win.w_out);
            let pr = oh * win.sh + px.top - win.ph;
            let row = match px.columns {
                Columns::ByPosition => pr * px.row_stride + i,
                Columns::ByImage => i * px.channels * px.channel_stride + pr * px.row_stride,
            };
            let len = run.min(j0 + live - j);
            pieces.push(Piece {
                at: j - j0,
                len,
                row,
                col: ow * win.sw + px.left - win.pw,
            });
            j += len;
        }
    }
}

impl<T: Real> PackB<T> for WindowPanels<T> {
    fn dims(&self) -> (usize, usize) {
        (self.win.rows(), self.pixels.g * self.win.positions())
    }

    fn pack(&self, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, out: &mut [T]) {
        let px = &self.pixels;
        let (kw, taps) = (self.win.kw, self.win.kh * self.win.kw);
        let values = &px.pixels[..];
        let mut pieces = Vec::new();
        let mut starts = Vec::new();
        for (q, panel) in out
            .chunks_exact_mut(nr * depth)
            .take(cols.div_ceil(nr))
            .enumerate()
        {
            let live = nr.min(cols - q * nr);
            self.pieces(col0 + q * nr, live, &mut pieces);
            if live < nr {
                // The dead columns are zeros: one fill of the panel (a fill per step would be a
                // call to memset per step).
                panel.fill(T::ZERO);
            }
            // Tap by tap: where the pieces read depends on the tap, not on the channel, so it
            // is worked out once for all the rows r = c * taps + t of this block.
            for t in 0..taps {
                // the first row of tap t at or after row0
                let first = row0 + (t + taps - row0 % taps) % taps;
                if first >= row0 + depth {
                    continue;
                }
                let (a, b) = (t / kw, t % kw);
                starts.clear();
                starts.extend(
                    pieces
                        .iter()
                        .map(|piece| piece.row + a * px.row_stride + px.column(piece.col + b)),
                );
                let rows = (first..row0 + depth).step_by(taps);
                let steps = rows.map(|r| (r - row0, (r / taps) * px.channel_stride));
                if let ([piece], [start]) = (&pieces[..], &starts[..]) {
                    if piece.len == nr {
                        // The common case: one run of values per panel row.
                        let values = &values[*start..];
                        match nr {
                            8 => copy_rows::<T, 8>(panel, steps, values),
                            16 => copy_rows::<T, 16>(panel, steps, values),
                            32 => copy_rows::<T, 32>(panel, steps, values),
                            _ => copy_rows_of(nr, panel, steps, values),
                        }
                        continue;
                    }
                }
                for (p, channel) in steps {
                    let step = &mut panel[p * nr..][..nr];
                    for (piece, &start) in pieces.iter().zip(&starts) {
                        step[piece.at..][..piece.len]
                            .copy_from_slice(&values[channel + start..][..piece.len]);
                    }
                }
            }
        }
    }
}

/// Panel rows p from `values[offset..]`, for the (p, offset) of `steps`: rows of N values, a
/// length the compiler knows, so that each copy is a few vector moves (a call to memcpy for
/// 16 values would cost more than the copy).
fn copy_rows<T: Copy, const N: usize>(
    panel: &mut [T],
    steps: impl Iterator<Item = (usize, usize)>,
    values: &[T],
) {
    for (p, offset) in steps {
        let src: &[T; N] = values[offset..][..N].try_into().expect("N values");
        let dst: &mut [T; N] = (&mut panel[p * N..][..N]).try_into().expect("N values");
        *dst = *src;
    }
}

/// [`copy_rows`] for any row length.
fn copy_rows_of<T: Copy>(
    n: usize,
    panel: &mut [T],
    steps: impl Iterator<Item = (usize, usize)>,
    values: &[T],
) {
    for (p, offset) in steps {
        panel[p * n..][..n].copy_from_slice(&values[offset..][..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(300) })]

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
