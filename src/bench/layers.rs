//! The layer table of `gan bench` (chapters 3, 4 and 13): every convolution and transposed
//! convolution of DCGAN's 64 x 64 x 3 configuration (nz 100, ngf = ndf = 64, batch 64) and of its
//! 32 x 32 x 3 variant, each pass timed on its own.
//!
//! FLOPs are counted analytically as 2 x multiply-adds. Forward, backward-to-input and
//! backward-to-weight of a convolution are three GEMMs of the same size, so all three passes have
//! the same count: 2 N C_out H' W' C_in kH kW (for a transposed convolution, the count of the
//! convolution it is the adjoint of).

use super::{median, sample_seconds, thread_counts, Peak, Timing};
use crate::layers::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, conv2d_output_size,
};
use crate::layers::conv_transpose::{
    conv_transpose2d_backward_input, conv_transpose2d_backward_weight, conv_transpose2d_forward,
    conv_transpose2d_output_size,
};
use crate::parallel::with_threads;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// One convolution of a benchmark network.
#[derive(Clone, Debug)]
pub struct ConvSpec {
    /// e.g. "G.1 ConvT 512->256"
    pub name: String,
    pub transposed: bool,
    pub c_in: usize,
    pub c_out: usize,
    /// Input side (square).
    pub size_in: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvSpec {
    pub fn size_out(&self) -> usize {
        if self.transposed {
            conv_transpose2d_output_size(self.size_in, self.kernel, self.stride, self.padding, 0)
        } else {
            conv2d_output_size(self.size_in, self.kernel, self.stride, self.padding)
        }
    }

    /// FLOPs of one pass over a batch of `n` (2 x multiply-adds).
    pub fn flops(&self, n: usize) -> f64 {
        // A transposed convolution is the adjoint of the convolution from its output to its input.
        let (c_small, c_big, map) = if self.transposed {
            (self.c_out, self.c_in, self.size_in)
        } else {
            (self.c_in, self.c_out, self.size_out())
        };
        2.0 * (n * c_big * map * map * c_small * self.kernel * self.kernel) as f64
    }
}

/// The generator and discriminator convolutions of DCGAN at `size` (64 or 32), ngf = ndf = 64.
pub fn dcgan_convs(size: usize) -> Vec<ConvSpec> {
    let layers = if size == 64 { 4 } else { 3 };
    let mut specs = Vec::new();
    let spec = |name: String, transposed, c_in, c_out, size_in, kernel, stride, padding| ConvSpec {
        name,
        transposed,
        c_in,
        c_out,
        size_in,
        kernel,
        stride,
        padding,
    };
    // G: 100 -> 64 * 2^(L-1) at 4x4, then halving channels while doubling the size, then 3.
    let mut c = 64 << (layers - 1);
    specs.push(spec(format!("G ConvT 100->{c}"), true, 100, c, 1, 4, 1, 0));
    let mut s = 4;
    for _ in 1..layers {
        specs.push(spec(
            format!("G ConvT {c}->{}", c / 2),
            true,
            c,
            c / 2,
            s,
            4,
            2,
            1,
        ));
        c /= 2;
        s *= 2;
    }
    specs.push(spec(format!("G ConvT {c}->3"), true, c, 3, s, 4, 2, 1));
    // D: the mirror image.
    let (mut c, mut s) = (3, size);
    for i in 0..layers {
        let out = 64 << i;
        specs.push(spec(
            format!("D Conv {c}->{out}"),
            false,
            c,
            out,
            s,
            4,
            2,
            1,
        ));
        c = out;
        s /= 2;
    }
    specs.push(spec(format!("D Conv {c}->1"), false, c, 1, s, 4, 1, 0));
    specs
}

/// One measured row: a layer, a pass, a thread count.
#[derive(Clone, Debug)]
pub struct LayerRow {
    pub config: String,
    pub layer: String,
    pub pass: &'static str,
    pub threads: usize,
    pub mflop: f64,
    pub milliseconds: f64,
    pub gflops: f64,
    pub fraction_of_peak: f64,
}

/// Times of the table are taken in this many rounds over the whole table, and each cell's
/// median is over the samples of all rounds. On a virtual machine whose second core slows down
/// for a minute at a time, a cell measured in one stretch reads 52% of peak in one run and 80% in
/// the next; spread over rounds a minute apart, a slow stretch holds a minority of its samples.
pub const LAYER_ROUNDS: usize = 3;

/// Times the three passes of every layer of both DCGAN configurations at batch `n`, in
/// [`LAYER_ROUNDS`] rounds that share `timing` (each cell gets at least its share of the runs
/// and seconds per round, and its median is over all of them).
pub fn layer_table(n: usize, peak: &Peak, timing: &Timing) -> Vec<LayerRow> {
    let per_round = Timing {
        min_runs: timing.min_runs.div_ceil(LAYER_ROUNDS).max(2),
        min_seconds: timing.min_seconds / LAYER_ROUNDS as f64,
    };
    let mut rows: Vec<LayerRow> = Vec::new();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    for round in 0..LAYER_ROUNDS {
        let mut cell = 0;
        layer_round(n, peak.threads, &per_round, &mut |row, times| {
            if round == 0 {
                rows.push(row);
                samples.push(Vec::new());
            }
            samples[cell].extend(times);
            cell += 1;
        });
    }
    for (row, times) in rows.iter_mut().zip(&mut samples) {
        let seconds = median(times);
        row.milliseconds = seconds * 1e3;
        row.gflops = row.mflop * 1e6 / seconds / 1e9;
        row.fraction_of_peak = row.gflops / peak.for_threads(row.threads);
    }
    rows
}

/// One round over the table: `cell(row, samples)` for every layer, thread count and pass, in a
/// fixed order (the row's times are filled in by [`layer_table`]).
fn layer_round(
    n: usize,
    threads_up_to: usize,
    timing: &Timing,
    cell: &mut dyn FnMut(LayerRow, Vec<f64>),
) {
    let mut rng = Rng::new(7);
    for size in [64, 32] {
        for spec in dcgan_convs(size) {
            let (so, si) = (spec.size_out(), spec.size_in);
            let x = crate::rng::noise::<f32>(&mut rng, n, spec.c_in * si * si, 1.0)
                .reshape(&[n, spec.c_in, si, si])
                .expect("sizes");
            let g = crate::rng::noise::<f32>(&mut rng, n, spec.c_out * so * so, 1.0)
                .reshape(&[n, spec.c_out, so, so])
                .expect("sizes");
            let w_shape = if spec.transposed {
                [spec.c_in, spec.c_out, spec.kernel, spec.kernel]
            } else {
                [spec.c_out, spec.c_in, spec.kernel, spec.kernel]
            };
            let w = crate::rng::noise::<f32>(&mut rng, 1, w_shape.iter().product(), 0.02)
                .reshape(&w_shape)
                .expect("sizes");
            let mut grad_w = Tensor::zeros(&w_shape);
            let (st, pd) = ((spec.stride, spec.stride), (spec.padding, spec.padding));
            for threads in thread_counts(threads_up_to) {
                let mut time = |pass: &'static str, run: &mut dyn FnMut()| {
                    let times = with_threads(threads, || sample_seconds(timing, &mut *run));
                    let row = LayerRow {
                        config: format!("W{size}"),
                        layer: spec.name.clone(),
                        pass,
                        threads,
                        mflop: spec.flops(n) / 1e6,
                        milliseconds: 0.0,
                        gflops: 0.0,
                        fraction_of_peak: 0.0,
                    };
                    cell(row, times);
                };
                if spec.transposed {
                    time("forward", &mut || {
                        drop(conv_transpose2d_forward(&x, &w, None, st, pd, (0, 0)))
                    });
                    time("backward-input", &mut || {
                        drop(conv_transpose2d_backward_input(&g, &w, st, pd))
                    });
                    time("backward-weight", &mut || {
                        conv_transpose2d_backward_weight(&x, &g, st, pd, &mut grad_w, None)
                    });
                } else {
                    time("forward", &mut || {
                        drop(conv2d_forward(&x, &w, None, st, pd))
                    });
                    time("backward-input", &mut || {
                        drop(conv2d_backward_input(&g, &w, (si, si), st, pd))
                    });
                    time("backward-weight", &mut || {
                        conv2d_backward_weight(&x, &g, st, pd, &mut grad_w, None)
                    });
                }
            }
        }
    }
}
