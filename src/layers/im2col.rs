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
//! Both work on a run of images of an NCHW batch at once; the columns of image i of the run
//! are columns i * H'W' .. (i + 1) * H'W' of `cols`, so that one GEMM serves the whole run.

use crate::parallel::{for_each_task, SharedMut};
use crate::scalar::Real;
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
    /// Rows of the column matrix: one per (channel, kernel row, kernel column).
    pub fn rows(&self) -> usize {
        self.channels * self.kh * self.kw
    }

    /// Window positions in one image: the columns one image contributes.
    pub fn positions(&self) -> usize {
        self.h_out * self.w_out
    }
}

/// Below this many elements moved, a pass stays on the calling thread: waking the pool would
/// cost more than it saves.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// `for_each_task`, or a plain loop for small passes.
fn run_tasks(n_tasks: usize, elements: usize, task: impl Fn(usize) + Sync) {
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

/// Unfolds images `images` of the batch `x` ([N, C, H, W], flat) into
/// `cols`: [C * kH * kW, images.len() * H' * W'].
pub(crate) fn im2col<T: Real>(x: &[T], win: &Window, images: Range<usize>, cols: &mut [T]) {
    let plane = win.h * win.w;
    let positions = win.positions();
    let width = images.len() * positions;
    assert_eq!(
        cols.len(),
        win.rows() * width,
        "im2col: the column buffer has the wrong size"
    );
    assert!(
        x.len() >= images.end * win.channels * plane,
        "im2col: the batch is too short"
    );
    let cols_ptr = SharedMut(cols.as_mut_ptr());
    run_tasks(win.rows(), cols.len(), |r| {
        // SAFETY: disjoint writes, task r alone writes row r of `cols`.
        let row = unsafe { std::slice::from_raw_parts_mut(cols_ptr.get().add(r * width), width) };
        let (c, a, b) = (r / (win.kh * win.kw), (r / win.kw) % win.kh, r % win.kw);
        let oh_valid = valid_outputs(win.h_out, win.h, win.sh, a, win.ph);
        let ow_valid = valid_outputs(win.w_out, win.w, win.sw, b, win.pw);
        for (i, n) in images.clone().enumerate() {
            let src = &x[(n * win.channels + c) * plane..][..plane];
            let dst = &mut row[i * positions..(i + 1) * positions];
            for (oh, dst_row) in dst.chunks_exact_mut(win.w_out).enumerate() {
                if !oh_valid.contains(&oh) {
                    dst_row.fill(T::ZERO);
                    continue;
                }
                let ih = oh * win.sh + a - win.ph;
                dst_row[..ow_valid.start].fill(T::ZERO);
                dst_row[ow_valid.end..].fill(T::ZERO);
                if ow_valid.is_empty() {
                    continue;
                }
                // The first pixel read is at iw = ow_valid.start * S_w + b - P_w.
                let first = ih * win.w + ow_valid.start * win.sw + b - win.pw;
                let live = &mut dst_row[ow_valid.clone()];
                if win.sw == 1 {
                    live.copy_from_slice(&src[first..first + live.len()]);
                } else {
                    for (d, &s) in live.iter_mut().zip(src[first..].iter().step_by(win.sw)) {
                        *d = s;
                    }
                }
            }
        }
    });
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
    let x_ptr = SharedMut(x.as_mut_ptr());
    let n0 = images.start;
    // One task per (image, channel) plane of x: every pixel sums its terms in the same order
    // (kernel row, kernel column, output row, output column) whichever thread runs the task.
    run_tasks(images.len() * win.channels, cols.len(), |t| {
        let (i, c) = (t / win.channels, t % win.channels);
        // SAFETY: disjoint writes, task t alone writes plane (n0 + i, c) of x.
        let dst = unsafe {
            std::slice::from_raw_parts_mut(
                x_ptr.get().add(((n0 + i) * win.channels + c) * plane),
                plane,
            )
        };
        for a in 0..win.kh {
            let oh_valid = valid_outputs(win.h_out, win.h, win.sh, a, win.ph);
            for b in 0..win.kw {
                let ow_valid = valid_outputs(win.w_out, win.w, win.sw, b, win.pw);
                if ow_valid.is_empty() {
                    continue;
                }
                let r = (c * win.kh + a) * win.kw + b;
                let src = &cols[r * width + i * positions..][..positions];
                for oh in oh_valid.clone() {
                    let ih = oh * win.sh + a - win.ph;
                    let first = ih * win.w + ow_valid.start * win.sw + b - win.pw;
                    let live = &src[oh * win.w_out..][ow_valid.clone()];
                    for (d, &s) in dst[first..].iter_mut().step_by(win.sw).zip(live) {
                        *d += s;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(h: usize, w: usize, k: usize, s: usize, p: usize) -> Window {
        Window {
            channels: 2,
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
            im2col(&x, &win, 0..n, &mut cols);
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
    fn valid_outputs_clips_to_the_image() {
        // Input 0..5 padded by 1, window tap 0, stride 2: positions 0, 1, 2 read -1, 1, 3.
        assert_eq!(valid_outputs(3, 5, 2, 0, 1), 1..3);
        // A tap past the whole padded image reads nothing.
        assert_eq!(valid_outputs(2, 1, 1, 3, 1), 0..0);
    }
}
