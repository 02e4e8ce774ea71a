//! Chapter 13. The input gradient of a layer with 3 input channels, phase by phase, read
//! straight from G: no column matrix, no col2im, no packed G.
//!
//! The input gradient of DCGAN's first discriminator layer (3 -> 64), which is also the
//! forward pass of the generator's last layer (ConvT 64 -> 3), is by the GEMM route
//! `col2im(W^T G)`: a [48, H'W'] matrix per image, 16 times the size of its result, written,
//! read back and folded. Split the input pixels by their row and column modulo the stride S
//! instead ("phases", as in chapter 4). A pixel of phase (py, px) receives from the kernel taps
//! (ky, kx) with ky = py + P_h (mod S) only, each from one output position, i + dy for pixel
//! row S i + py, the same dy for the whole phase:
//!
//! ```text
//! grad_x[c, S i + py, S j + px] = sum over the taps of the phase, and over k < C_out, of
//!                                 W[k, c, ky, kx] * G[k, i + dy, j + dx]
//! ```
//!
//! with dy = (py + P_h) / S - ty for ky = (py + P_h) % S + S ty (likewise dx). For a 4x4
//! kernel of stride 2 that is 4 taps per phase and every tap used once: the multiply-adds of
//! the GEMM, and no others. Each phase is a product with 3 rows (the channels c) and a sum over
//! C_out * taps: the thin-output form of the micro-kernel ([`crate::gemm::kernel::ThinFn`]),
//! whose registers read G's rows where they lie.
//!
//! G is copied once per image, with zero margins, so that a window that runs off G reads zeros
//! (and every row starts on a register boundary). The phase planes are then interleaved into
//! grad_x. Each value is one sum in a fixed order (taps in order, then channels), whatever
//! the threads.

use super::super::im2col::Window;
use super::panels::IMPLICIT_MIN_CHANNELS;
use crate::gemm::kernel::{best_kernel, Kernel, ThinSegment, THIN_M, THIN_VECTORS};
use crate::scalar::Real;
use crate::scratch;
use crate::simd::with_avx2;
use std::mem::MaybeUninit;

/// Whether a layer's input gradient goes phase by phase: input channels a multiple of
/// [`THIN_M`] and fewer than the implicit GEMM's minimum, one stride both ways that divides the
/// kernel and the image, and phase planes whose rows fill whole registers and tile evenly.
pub(crate) fn applies<T: Real>(win: &Window, c_out: usize) -> bool {
    let s = win.sh;
    let width = best_kernel::<T>().thin_width;
    let lanes = width / THIN_VECTORS;
    let (hp, wp) = (win.h / s.max(1), win.w / s.max(1));
    s > 0
        && win.sw == s
        && win.channels.is_multiple_of(THIN_M)
        && win.channels < IMPLICIT_MIN_CHANNELS
        && c_out >= 8
        && win.kh.is_multiple_of(s)
        && win.kw.is_multiple_of(s)
        && win.h.is_multiple_of(s)
        && win.w.is_multiple_of(s)
        && wp.is_multiple_of(lanes)
        && (wp.is_multiple_of(width) || width.is_multiple_of(wp))
        && (hp * wp).is_multiple_of(width)
}

/// The batch of n images cut into runs: four per thread, so that the threads share the work
/// evenly, and the margins of G's copy are zeroed once per run.
pub(crate) fn runs(n: usize) -> Vec<std::ops::Range<usize>> {
    super::runs::even_parts(n, (4 * crate::parallel::threads()).clamp(1, n.max(1)))
}

/// The layer's weights packed per phase, and where everything lies.
pub(crate) struct ThinOutput<T: 'static> {
    kernel: &'static Kernel<T>,
    win: Window,
    c_out: usize,
    /// Per phase, per group of THIN_M channels, per tap: [C_out][THIN_M] values of W.
    packed: Vec<T>,
    /// Per phase, its taps' (dy, dx), in the order they are summed.
    taps: Vec<Vec<(isize, isize)>>,
    /// The margins of G's copy: rows above, values left of each row, and its sizes.
    top: usize,
    left: usize,
    row_len: usize,
    plane: usize,
}

impl<T: Real> ThinOutput<T> {
    /// `weight`: [C_out, C_in, kH, kW], for the window `win` (C_in channels) that
    /// [`applies`].
    pub(crate) fn new(weight: &[T], win: &Window, c_out: usize) -> Self {
        let s = win.sh;
        let (taps_y, taps_x) = (win.kh / s, win.kw / s);
        let groups = win.channels / THIN_M;
        // Tap t of phase p along one axis: kernel index and shift.
        let tap = |p: usize, pad: usize, t: usize| {
            ((p + pad) % s + s * t, ((p + pad) / s) as isize - t as isize)
        };
        let mut packed = Vec::with_capacity(c_out * win.channels * win.kh * win.kw);
        let mut taps = Vec::new();
        for py in 0..s {
            for px in 0..s {
                let mut phase_taps = Vec::new();
                for ty in 0..taps_y {
                    for tx in 0..taps_x {
                        let ((ky, dy), (kx, dx)) = (tap(py, win.ph, ty), tap(px, win.pw, tx));
                        phase_taps.push((dy, dx, ky, kx));
                    }
                }
                for g in 0..groups {
                    for &(_, _, ky, kx) in &phase_taps {
                        for k in 0..c_out {
                            for i in 0..THIN_M {
                                let c = g * THIN_M + i;
                                packed.push(
                                    weight[((k * win.channels + c) * win.kh + ky) * win.kw + kx],
                                );
                            }
                        }
                    }
                }
                taps.push(phase_taps.iter().map(|&(dy, dx, _, _)| (dy, dx)).collect());
            }
        }
        // G's copy covers every row i + dy and column j + dx read, with zeros outside G.
        let all: Vec<(isize, isize)> = taps.iter().flatten().copied().collect();
        let (hp, wp) = ((win.h / s) as isize, (win.w / s) as isize);
        let (dy_min, dy_max) = (
            all.iter().map(|t| t.0).min().unwrap_or(0),
            all.iter().map(|t| t.0).max().unwrap_or(0),
        );
        let (dx_min, dx_max) = (
            all.iter().map(|t| t.1).min().unwrap_or(0),
            all.iter().map(|t| t.1).max().unwrap_or(0),
        );
        let top = (-dy_min).max(0) as usize;
        let last_row = (win.h_out as isize - 1).max(hp - 1 + dy_max);
        let rows = top + last_row as usize + 1;
        // G's values start each row on a 32-byte boundary (a whole AVX2 register).
        let line = 32 / std::mem::size_of::<T>();
        let left = ((-dx_min).max(0) as usize).next_multiple_of(line);
        let last_col = (win.w_out as isize - 1).max(wp - 1 + dx_max);
        let row_len = (left + last_col as usize + 1).next_multiple_of(line);
        // A plane a multiple of 4 KiB apart would put the rows of one step in one L1 set.
        let mut plane = rows * row_len;
        if (plane * std::mem::size_of::<T>()).is_multiple_of(4096) {
            plane += line;
        }
        ThinOutput {
            kernel: best_kernel::<T>(),
            win: *win,
            c_out,
            packed,
            taps,
            top,
            left,
            row_len,
            plane,
        }
    }

    /// grad_x of the images of `g_run` ([g, C_out, H', W']) into `out` ([g, C_in, H, W]),
    /// every value written.
    pub(crate) fn input_gradient_run<'a>(
        &self,
        g_run: &[T],
        out: &'a mut [MaybeUninit<T>],
    ) -> &'a mut [T] {
        let win = &self.win;
        let (s, c_in, c_out) = (win.sh, win.channels, self.c_out);
        let (g_len, x_len) = (c_out * win.h_out * win.w_out, c_in * win.h * win.w);
        let g = g_run.len() / g_len.max(1);
        assert!(
            g_run.len() == g * g_len && out.len() == g * x_len,
            "thin input gradient: G or grad_x has the wrong size"
        );
        let (hp, wp) = (win.h / s, win.w / s);
        let positions = hp * wp;
        let width = self.kernel.thin_width;
        let lanes = width / THIN_VECTORS;
        let phases = s * s;
        // The margins are zeroed once for the run: each image writes only G's values.
        let mut copy = scratch::buffer::<T>(c_out * self.plane);
        copy.fill(T::ZERO);
        // Phase planes, [C_in][phase][hp * wp].
        let mut planes = scratch::buffer::<T>(c_in * phases * positions);
        let taps_per_phase = self.taps.first().map_or(0, Vec::len);
        let mut segments = Vec::with_capacity(taps_per_phase);
        for (image, out) in out.chunks_exact_mut(x_len).enumerate() {
            with_avx2(
                #[inline(always)]
                || self.copy_into_margins(&g_run[image * g_len..][..g_len], &mut copy),
            );
            // While this image is multiplied, the next one's G comes from memory into the
            // cache, a few lines before each part of each tile: a copy of it would otherwise
            // wait for memory, a fifth of the pass for W64.
            let next = g_run
                .get((image + 1) * g_len..(image + 2) * g_len)
                .unwrap_or(&[]);
            let parts =
                self.taps.len() * taps_per_phase * (c_in / THIN_M) * positions.div_ceil(width);
            let lines = std::mem::size_of_val(next).div_ceil(64);
            let per_part = lines.div_ceil(parts.max(1));
            let mut part = 0;
            for (phase, taps) in self.taps.iter().enumerate() {
                for group in 0..c_in / THIN_M {
                    let a_first = (phase * (c_in / THIN_M) + group) * taps.len();
                    for q0 in (0..positions).step_by(width) {
                        // Register v of the tile: phase pixel (i, j), at G's row i, column j.
                        let place = |v: usize| {
                            let q = q0 + v * lanes;
                            (self.top + q / wp) * self.row_len + self.left + q % wp
                        };
                        let first = place(0);
                        let vec_at: [usize; THIN_VECTORS] =
                            std::array::from_fn(|v| place(v) - first);
                        segments.clear();
                        for (t, &(dy, dx)) in taps.iter().enumerate() {
                            let shift = dy * self.row_len as isize + dx;
                            let first_line = (part * per_part).min(lines);
                            let prefetch_lines = per_part.min(lines - first_line);
                            part += 1;
                            segments.push(ThinSegment {
                                k: c_out,
                                a: self.packed[(a_first + t) * c_out * THIN_M..].as_ptr(),
                                b_offset: (first as isize + shift) as usize,
                                prefetch: next
                                    .as_ptr()
                                    .wrapping_add(first_line * 64 / std::mem::size_of::<T>()),
                                prefetch_lines,
                            });
                        }
                        let c = (group * THIN_M * phases + phase) * positions + q0;
                        // SAFETY: each segment's A holds C_out * THIN_M values; every read of
                        // the copy lies inside it (its margins cover every shift, see `new`);
                        // the tile lies in the phase planes; the kernel runs on this CPU.
                        unsafe {
                            self.kernel.thin(
                                &segments,
                                (copy.as_ptr(), self.plane),
                                &vec_at,
                                (planes[c..].as_mut_ptr(), phases * positions),
                            );
                        }
                    }
                }
            }
            // grad_x[c, S i + py, S j + px] = plane (c, (py, px))[i, j].
            for (c, x_plane) in out.chunks_exact_mut(win.h * win.w).enumerate() {
                let planes = &planes[c * phases * positions..][..phases * positions];
                with_avx2(
                    #[inline(always)]
                    || interleave(planes, s, hp, wp, x_plane),
                );
            }
        }
        // SAFETY: every value of every image was written just above (the phases cover each
        // pixel once).
        unsafe { &mut *(out as *mut [MaybeUninit<T>] as *mut [T]) }
    }

    /// G of one image ([C_out, H', W']) into `copy`, each channel a plane of `rows` rows of
    /// `row_len`, G's pixel (r, c) at (top + r, left + c). The rest of `copy` is left as it is:
    /// zeros.
    #[inline(always)]
    fn copy_into_margins(&self, g_image: &[T], copy: &mut [T]) {
        let (h_out, w_out, left) = (self.win.h_out, self.win.w_out, self.left);
        for (g_plane, plane) in g_image
            .chunks_exact(h_out * w_out)
            .zip(copy.chunks_exact_mut(self.plane))
        {
            for (g_row, row) in g_plane
                .chunks_exact(w_out)
                .zip(plane[self.top * self.row_len..].chunks_exact_mut(self.row_len))
            {
                copy_run(&mut row[left..left + w_out], g_row);
            }
        }
    }
}

/// dst <- src for one row of G (a few dozen values): 8-value moves the compiler keeps inline,
/// where `copy_from_slice` would call the C library once per row.
#[inline(always)]
fn copy_run<T: Real>(dst: &mut [T], src: &[T]) {
    let mut dst8 = dst.chunks_exact_mut(8);
    let mut src8 = src.chunks_exact(8);
    for (d, s) in (&mut dst8).zip(&mut src8) {
        let values: [T; 8] = s.try_into().expect("8 values");
        d.copy_from_slice(&values);
    }
    for (d, &s) in dst8.into_remainder().iter_mut().zip(src8.remainder()) {
        *d = s;
    }
}

/// The S * S phase planes of one channel ([phase][hp][wp]) interleaved into its plane of
/// grad_x ([S hp][S wp]): pixel (S i + py, S j + px) is phase (py, px)'s (i, j).
#[inline(always)]
fn interleave<T: Real>(
    planes: &[T],
    s: usize,
    hp: usize,
    wp: usize,
    x_plane: &mut [MaybeUninit<T>],
) {
    let (w, positions) = (s * wp, hp * wp);
    for (row, x_row) in x_plane.chunks_exact_mut(w).enumerate() {
        let (i, py) = (row / s, row % s);
        let phase_row = |px: usize| &planes[(py * s + px) * positions + i * wp..][..wp];
        if s == 2 {
            // Pairs of pixels, one from each phase: the common case, in vector registers.
            let (even, odd) = (phase_row(0), phase_row(1));
            for ((pair, &e), &o) in x_row.chunks_exact_mut(2).zip(even).zip(odd) {
                pair[0].write(e);
                pair[1].write(o);
            }
        } else {
            for px in 0..s {
                for (j, &v) in phase_row(px).iter().enumerate() {
                    x_row[s * j + px].write(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv::conv2d_backward_input;
    use crate::parallel::with_threads;
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use proptest::prelude::*;

    /// grad_x by its definition: every output position hands W times its gradient back to
    /// each pixel its window read. In f64, for the truth.
    fn by_definition(g: &Tensor<f64>, w: &Tensor<f64>, win: &Window) -> Vec<f64> {
        let (n, c_out) = (g.shape()[0], g.shape()[1]);
        let (c_in, h, wd) = (win.channels, win.h, win.w);
        let mut x = vec![0.0; n * c_in * h * wd];
        for b in 0..n {
            for k in 0..c_out {
                for oh in 0..win.h_out {
                    for ow in 0..win.w_out {
                        let gv = g.as_slice()[((b * c_out + k) * win.h_out + oh) * win.w_out + ow];
                        for c in 0..c_in {
                            for ky in 0..win.kh {
                                for kx in 0..win.kw {
                                    let ih = (oh * win.sh + ky).checked_sub(win.ph);
                                    let iw = (ow * win.sw + kx).checked_sub(win.pw);
                                    if let (Some(ih), Some(iw)) = (ih, iw) {
                                        if ih < h && iw < wd {
                                            let wv = w.as_slice()
                                                [((k * c_in + c) * win.kh + ky) * win.kw + kx];
                                            x[((b * c_in + c) * h + ih) * wd + iw] += wv * gv;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        x
    }

    /// The phase-by-phase input gradient against its definition, in f64 and f32, and the same
    /// bits on 1 and 3 threads.
    fn matches_definition(
        (n, c_in, c_out): (usize, usize, usize),
        (s, taps, p): (usize, usize, usize),
        (hp, wp): (usize, usize),
        seed: u64,
    ) {
        let k = s * taps;
        let (h, w) = (s * hp, s * wp);
        if h + 2 * p < k {
            return;
        }
        let win = Window::square(c_in, (h, w), k, s, p);
        let (h_out, w_out) = (win.h_out, win.w_out);
        assert!(
            applies::<f32>(&win, c_out) && applies::<f64>(&win, c_out),
            "{win:?}"
        );
        let mut rng = Rng::new(seed);
        let g = Tensor::<f64>::from_fn(&[n, c_out, h_out, w_out], |_| rng.gaussian());
        let wt = Tensor::<f64>::from_fn(&[c_out, c_in, k, k], |_| rng.gaussian());
        let want = by_definition(&g, &wt, &win);
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let got = conv2d_backward_input(&g, &wt, (h, w), (s, s), (p, p));
        let error = |got: &[f64]| {
            got.iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
                / scale
        };
        assert!(
            error(got.as_slice()) < 1e-12,
            "{win:?}: f64 error {}",
            error(got.as_slice())
        );
        let to_f32 =
            |t: &Tensor<f64>| Tensor::<f32>::from_fn(t.shape(), |i| t.as_slice()[i] as f32);
        let (g32, w32) = (to_f32(&g), to_f32(&wt));
        let one = with_threads(1, || {
            conv2d_backward_input(&g32, &w32, (h, w), (s, s), (p, p))
        });
        let three = with_threads(3, || {
            conv2d_backward_input(&g32, &w32, (h, w), (s, s), (p, p))
        });
        let one_f64: Vec<f64> = one.as_slice().iter().map(|&v| v as f64).collect();
        assert!(
            error(&one_f64) < 1e-5,
            "{win:?}: f32 error {}",
            error(&one_f64)
        );
        assert!(
            one.as_slice() == three.as_slice(),
            "{win:?}: 1 and 3 threads differ"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(24) })]

        #[test]
        fn the_input_gradient_phase_by_phase_matches_its_definition(
            n in 1usize..4, c_in in prop_oneof![Just(3usize), Just(6)], c_out in 8usize..20,
            s in 1usize..=2, taps in 1usize..=3, p in 0usize..=2,
            (hp, wp) in prop_oneof![(1usize..4).prop_map(|r| (4 * r, 8usize)),
                                   (1usize..4).prop_map(|r| (2 * r, 16usize)),
                                   (1usize..3).prop_map(|r| (r, 32usize))],
            seed in any::<u64>(),
        ) {
            matches_definition((n, c_in, c_out), (s, taps, p), (hp, wp), seed);
        }
    }
}
