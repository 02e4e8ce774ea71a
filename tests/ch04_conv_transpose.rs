//! Chapter 4: Transposed convolution. Proves that
//! - a transposed convolution is the adjoint of the convolution with the same weights:
//!   <conv(x), y> = <x, conv_transpose(y)> on random shapes (the headline test);
//! - the fast ConvTranspose2d (GEMM + col2im) computes the definition (the scatter loop of
//!   `conv_transpose2d_reference`) on random shapes, in f32 and f64;
//! - its backward passes are the gradients of its forward pass (finite differences in f64);
//! - results are bitwise the same for 1 and several threads;
//! - output sizes follow PyTorch's formula, including output_padding and its rule;
//! - the chapter's exercises are solved (tests named `exercise_*`), and the exercise tests catch
//!   the chapter's buggy listing.
//!
//! `cargo test --release --test ch04_conv_transpose -- --nocapture` prints the worst gradient
//! error per case.

mod common;

use common::{adjoint_gap, scaled_error, TestRng};
use gan::check::{grad_check, CheckOptions};
use gan::exercises::ch04_conv_transpose as exercise;
use gan::layers::conv::{conv2d_forward, conv2d_output_size};
use gan::layers::conv_transpose::{
    conv_transpose2d_backward_input, conv_transpose2d_backward_weight, conv_transpose2d_forward,
    conv_transpose2d_output_size, conv_transpose2d_reference, ConvTranspose2d,
};
use gan::layers::Layer;
use gan::parallel::with_threads;
use gan::{Real, Tensor};
use proptest::prelude::*;

/// One transposed-convolution problem: sizes, and a seed for its random tensors.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    c_in: usize,
    c_out: usize,
    hw: (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
    seed: u64,
}

impl Case {
    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.hw.0, self.hw.1]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.c_in, self.c_out, self.kernel.0, self.kernel.1]
    }
    fn y_shape(&self) -> [usize; 4] {
        let (k, s, p, op) = (self.kernel, self.stride, self.padding, self.output_padding);
        [
            self.n,
            self.c_out,
            conv_transpose2d_output_size(self.hw.0, k.0, s.0, p.0, op.0),
            conv_transpose2d_output_size(self.hw.1, k.1, s.1, p.1, op.1),
        ]
    }
    /// Random x, weight, bias.
    fn tensors<T: Real>(&self) -> (Tensor<T>, Tensor<T>, Tensor<T>) {
        let mut rng = TestRng::new(self.seed);
        (
            rng.tensor(&self.x_shape()),
            rng.tensor(&self.w_shape()),
            rng.tensor(&[self.c_out]),
        )
    }
    fn forward<T: Real>(&self, x: &Tensor<T>, w: &Tensor<T>, b: Option<&Tensor<T>>) -> Tensor<T> {
        conv_transpose2d_forward(x, w, b, self.stride, self.padding, self.output_padding)
    }
}

/// Random cases: sizes 1 to 7 (primes, odd and even, non-square), kernels 1 to 5, strides 1
/// to 3, paddings 0 to 2, every allowed output_padding.
fn cases() -> impl Strategy<Value = Case> {
    (
        (1..=3usize, 1..=4usize, 1..=4usize),
        (1..=7usize, 1..=7usize, 1..=5usize, 1..=5usize),
        (1..=3usize, 1..=3usize, 0..=2usize, 0..=2usize),
        (0..3usize, 0..3usize, any::<u64>()),
    )
        .prop_map(
            |((n, c_in, c_out), (h, w, kh, kw), (sh, sw, ph, pw), (oph, opw, seed))| {
                let (oph, opw) = (oph % sh, opw % sw);
                // The output must not be empty: grow the input until it is not.
                let grow = |x: usize, k: usize, s: usize, p: usize, op: usize| {
                    (x..).find(|&x| (x - 1) * s + k + op > 2 * p).unwrap()
                };
                Case {
                    n,
                    c_in,
                    c_out,
                    hw: (grow(h, kh, sh, ph, oph), grow(w, kw, sw, pw, opw)),
                    kernel: (kh, kw),
                    stride: (sh, sw),
                    padding: (ph, pw),
                    output_padding: (oph, opw),
                    seed,
                }
            },
        )
}

fn fast_vs_reference<T: Real>(case: &Case) -> f64 {
    let (x, w, b) = case.tensors::<T>();
    let fast = case.forward(&x, &w, Some(&b));
    let (s, p, op) = (case.stride, case.padding, case.output_padding);
    let slow = conv_transpose2d_reference(&x, &w, Some(&b), s, p, op);
    assert_eq!(fast.shape(), &case.y_shape());
    scaled_error(&fast, &slow)
}

proptest! {
    // Failures print their case; there is no source folder to save regressions in.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(48) })]

    /// The headline: conv maps x [N, A, H, W] to y [N, B, H', W'] with a weight
    /// [B, A, kH, kW]; read as a transposed convolution's [C_in, C_out, kH, kW], the same
    /// weight maps y back to [N, A, H, W], and the two maps are each other's transpose.
    #[test]
    fn conv_transpose_is_the_adjoint_of_conv(case in cases()) {
        // Build the convolution whose input size is the transposed convolution's output size.
        let (_, w, _) = case.tensors::<f64>();
        let [n, a, h, wd] = case.y_shape();
        let mut rng = TestRng::new(case.seed ^ 3);
        let big: Tensor<f64> = rng.tensor(&[n, a, h, wd]);
        let conv = conv2d_forward(&big, &w, None, case.stride, case.padding);
        // conv's output has the transposed convolution's input shape.
        assert_eq!(conv.shape(), &case.x_shape());
        let small: Tensor<f64> = rng.tensor(&case.x_shape());
        let back = case.forward(&small, &w, None);
        let gap = adjoint_gap(&conv, &small, &big, &back);
        prop_assert!(gap < 1e-10, "{case:?}: <conv(x), y> - <x, convT(y)> is {gap:e} of the terms");
    }

    #[test]
    fn fast_conv_transpose_matches_the_scatter_loop_f64(case in cases()) {
        let err = fast_vs_reference::<f64>(&case);
        prop_assert!(err < 1e-13, "{case:?}: error {err:e}");
    }

    #[test]
    fn fast_conv_transpose_matches_the_scatter_loop_f32(case in cases()) {
        let terms = (case.c_in * case.kernel.0 * case.kernel.1) as f64;
        let err = fast_vs_reference::<f32>(&case);
        prop_assert!(err < 4.0 * f32::EPSILON as f64 * terms, "{case:?}: error {err:e}");
    }

    /// The backward passes are the forward pass's transposes:
    /// <G, convT(dx)> = <grad_input, dx> and <G, convT_W(dW) + db> = <grad_weight, dW> + <grad_bias, db>.
    #[test]
    fn backward_passes_are_the_adjoints_of_the_forward_pass(case in cases()) {
        let (x, w, _) = case.tensors::<f64>();
        let mut rng = TestRng::new(case.seed ^ 1);
        let g: Tensor<f64> = rng.tensor(&case.y_shape());
        let dw: Tensor<f64> = rng.tensor(&case.w_shape());
        let db: Tensor<f64> = rng.tensor(&[case.c_out]);

        let grad_x = conv_transpose2d_backward_input(&g, &w, case.stride, case.padding);
        assert_eq!(grad_x.shape(), x.shape());
        let gap = adjoint_gap(&g, &case.forward(&x, &w, None), &grad_x, &x);
        prop_assert!(gap < 1e-12, "{case:?}: input adjoint gap {gap:e}");

        let mut grad_w = Tensor::zeros(&case.w_shape());
        let mut grad_b = Tensor::zeros(&[case.c_out]);
        conv_transpose2d_backward_weight(&x, &g, case.stride, case.padding, &mut grad_w, Some(&mut grad_b));
        let stack = |a: &Tensor<f64>, b: &Tensor<f64>| {
            let data = [a.as_slice(), b.as_slice()].concat();
            Tensor::from_vec(&[data.len()], data).unwrap()
        };
        let dy = case.forward(&x, &dw, Some(&db));
        let gap = adjoint_gap(&g, &dy, &stack(&grad_w, &grad_b), &stack(&dw, &db));
        prop_assert!(gap < 1e-12, "{case:?}: weight adjoint gap {gap:e}");
    }
}

/// Gradient check of a ConvTranspose2d layer: analytic gradients from `Layer::backward`,
/// numeric ones from central differences of L = sum(y * r), so that dL/dy = r.
fn gradient_check(label: &str, case: Case, bias: bool) -> f64 {
    let (x, w, b) = case.tensors::<f64>();
    let (s, p, op) = (case.stride, case.padding, case.output_padding);
    let mut layer =
        ConvTranspose2d::from_weights(w.clone(), bias.then(|| b.clone()), s, p, op).unwrap();
    let y = layer.forward(&x);
    assert_eq!(y.shape(), &case.y_shape(), "{label}");
    let r: Tensor<f64> = TestRng::new(case.seed ^ 2).tensor(y.shape());
    let grad_x = layer.backward(&r);

    let mut names = vec!["x", "weight"];
    let mut values = vec![x, w];
    let mut analytic = vec![grad_x, layer.grad_weight.clone()];
    if bias {
        names.push("bias");
        values.push(b);
        analytic.push(layer.grad_bias.clone().unwrap());
    }
    let loss = |v: &[Tensor<f64>]| case.forward(&v[0], &v[1], v.get(2)).dot(&r);
    // L is linear in each tensor (the others held fixed), so central differences are exact
    // for any step: a large one keeps rounding error small.
    let options = CheckOptions {
        step: 1e-3,
        ..CheckOptions::default()
    };
    let report = grad_check(&names, &mut values, &analytic, loss, &options);
    println!(
        "{label:<46} worst relative error {:.2e}",
        report.worst_rel_error()
    );
    report.assert_below(1e-6);
    report.worst_rel_error()
}

#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    c_in: usize,
    c_out: usize,
    hw: (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
) -> Case {
    Case {
        n,
        c_in,
        c_out,
        hw,
        kernel,
        stride,
        padding,
        output_padding,
        seed: 17 + n as u64 * 100 + hw.0 as u64,
    }
}

#[test]
fn conv_transpose_gradients_match_finite_differences() {
    let table = [
        (
            "k4 s1 p0, 1x1 -> 4x4 (DCGAN's first layer), batch 2",
            case(2, 3, 2, (1, 1), (4, 4), (1, 1), (0, 0), (0, 0)),
            false,
        ),
        (
            "k4 s2 p1, 4x4 -> 8x8 (DCGAN block), batch 2",
            case(2, 2, 3, (4, 4), (4, 4), (2, 2), (1, 1), (0, 0)),
            true,
        ),
        (
            "k3 s2 p1 op1, 5x5 -> 10x10, batch 1",
            case(1, 2, 2, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1)),
            true,
        ),
        (
            "k3 s2 p0, 3x4 -> 7x9, batch 3",
            case(3, 1, 2, (3, 4), (3, 3), (2, 2), (0, 0), (0, 0)),
            true,
        ),
        (
            "k1 s1 p0, 4x3, batch 2",
            case(2, 3, 4, (4, 3), (1, 1), (1, 1), (0, 0), (0, 0)),
            true,
        ),
        (
            "k3 s1 p2, 6x5 -> 4x3, batch 1",
            case(1, 2, 3, (6, 5), (3, 3), (1, 1), (2, 2), (0, 0)),
            true,
        ),
        (
            "k(3,4) s(2,3) p(1,0) op(1,2), 3x2, batch 2",
            case(2, 2, 2, (3, 2), (3, 4), (2, 3), (1, 0), (1, 2)),
            true,
        ),
    ];
    let worst = table
        .iter()
        .map(|(label, c, bias)| gradient_check(label, *c, *bias))
        .fold(0.0, f64::max);
    println!("worst over all cases: {worst:.2e}");
}

#[test]
fn one_thread_and_several_give_bitwise_the_same_results() {
    // DCGAN-like: 8x8 -> 16x16 with 16 -> 8 channels, big enough that every pass splits its work
    // and the batch is cut into several runs.
    let case = case(6, 16, 8, (8, 8), (4, 4), (2, 2), (1, 1), (0, 0));
    let (x, w, b) = case.tensors::<f32>();
    let g: Tensor<f32> = TestRng::new(4).tensor(&case.y_shape());
    let run = |threads: usize| {
        with_threads(threads, || {
            let y = case.forward(&x, &w, Some(&b));
            let grad_x = conv_transpose2d_backward_input(&g, &w, case.stride, case.padding);
            let mut grad_w = Tensor::zeros(&case.w_shape());
            let mut grad_b = Tensor::zeros(&[case.c_out]);
            conv_transpose2d_backward_weight(
                &x,
                &g,
                case.stride,
                case.padding,
                &mut grad_w,
                Some(&mut grad_b),
            );
            [y, grad_x, grad_w, grad_b]
        })
    };
    let one = run(1);
    for threads in [2, 3, 4] {
        let many = run(threads);
        for (name, (a, b)) in ["y", "grad_input", "grad_weight", "grad_bias"]
            .iter()
            .zip(one.iter().zip(&many))
        {
            assert!(
                a.as_slice() == b.as_slice(),
                "{name} differs between 1 and {threads} threads"
            );
        }
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    // DCGAN's generator: z as a 1x1 image of 100 channels -> 4x4 -> 8x8 -> 16x16 -> 32x32 -> 64x64.
    assert_eq!(conv_transpose2d_output_size(1, 4, 1, 0, 0), 4);
    let mut size = 4;
    for expected in [8, 16, 32, 64] {
        size = conv_transpose2d_output_size(size, 4, 2, 1, 0);
        assert_eq!(size, expected);
    }
    // PyTorch's documentation example: a k3 s2 p1 conv takes 12x12 to 6x6; the transposed
    // conv needs output_padding 1 to get back 12x12 (11 without it).
    assert_eq!(conv2d_output_size(12, 3, 2, 1), 6);
    assert_eq!(conv_transpose2d_output_size(6, 3, 2, 1, 1), 12);
    assert_eq!(conv_transpose2d_output_size(6, 3, 2, 1, 0), 11);

    let mut first = ConvTranspose2d::<f32>::new(100, 512, 4, 1, 0, false);
    let y = first.forward(&Tensor::zeros(&[2, 100, 1, 1]));
    assert_eq!(y.shape(), &[2, 512, 4, 4]);
    let mut block = ConvTranspose2d::<f32>::new(512, 256, 4, 2, 1, false);
    assert_eq!(block.forward(&y).shape(), &[2, 256, 8, 8]);
}

#[test]
fn output_padding_must_be_smaller_than_the_stride() {
    let w = Tensor::<f32>::zeros(&[1, 1, 3, 3]);
    let err = ConvTranspose2d::from_weights(w.clone(), None, 2, 1, 2)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("output_padding (2, 2) must be smaller than the stride (2, 2)"),
        "{err}"
    );
    assert!(ConvTranspose2d::from_weights(w.clone(), None, (2, 1), 1, (1, 1)).is_err());
    assert!(ConvTranspose2d::from_weights(w, None, 2, 1, 1).is_ok());

    let message =
        std::panic::catch_unwind(|| conv_transpose2d_output_size(4, 3, 1, 0, 1)).unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("output_padding (1) must be smaller than the stride (1)"),
        "{message}"
    );
}

#[test]
fn one_pixel_scatters_one_copy_of_the_kernel() {
    // A single 1 at (i, j) of the input puts weight[ci, co] at (i S - P, j S - P) of the output.
    let mut x = Tensor::<f64>::zeros(&[1, 1, 4, 4]);
    x[2 * 4 + 1] = 1.0;
    let w = Tensor::from_fn(&[1, 1, 4, 4], |i| i as f64 + 1.0);
    let y = conv_transpose2d_forward(&x, &w, None, (2, 2), (1, 1), (0, 0));
    assert_eq!(y.shape(), &[1, 1, 8, 8]);
    for oh in 0..8 {
        for ow in 0..8 {
            // Tap (a, b) lands at (2 * 2 - 1 + a, 1 * 2 - 1 + b) = (3 + a, 1 + b).
            let expected = if (3..7).contains(&oh) && (1..5).contains(&ow) {
                w[(oh - 3) * 4 + (ow - 1)]
            } else {
                0.0
            };
            assert_eq!(y[oh * 8 + ow], expected, "output ({oh}, {ow})");
        }
    }
}

#[test]
fn the_layer_names_its_parameters_and_describes_itself() {
    let mut layer = ConvTranspose2d::<f32>::new(100, 512, 4, 1, 0, false);
    assert_eq!(
        layer.describe(),
        "ConvTranspose2d(100, 512, k4, s1, p0, no bias)"
    );
    assert_eq!(layer.weight.shape(), &[100, 512, 4, 4]);
    assert_eq!(layer.params().len(), 1);
    let w = Tensor::<f32>::zeros(&[3, 2, 3, 3]);
    let mut layer = ConvTranspose2d::from_weights(w, Some(Tensor::zeros(&[2])), 2, 1, 1).unwrap();
    assert_eq!(layer.describe(), "ConvTranspose2d(3, 2, k3, s2, p1, op1)");
    let names: Vec<&str> = layer.params().iter().map(|p| p.name).collect();
    assert_eq!(names, ["weight", "bias"]);
    let err = ConvTranspose2d::from_weights(
        Tensor::<f32>::zeros(&[3, 2, 3, 3]),
        Some(Tensor::zeros(&[3])),
        2,
        1,
        0,
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "ConvTranspose2d bias: expected shape [2], found [3]"
    );
}

// ---- exercises -------------------------------------------------------------------------------

/// The listing of chapter 4, "Exercises": a backward pass with a bug. Kept here so that the
/// test below proves the exercise tests catch it.
fn conv_transpose2d_backward_input_buggy(
    grad_output: &Tensor<f64>,
    weight: &Tensor<f64>,
    stride: (usize, usize),
    padding: (usize, usize),
) -> Tensor<f64> {
    let [n, c_out, h_out, w_out] = grad_output.shape().try_into().unwrap();
    let [c_in, _, kh, kw] = weight.shape().try_into().unwrap();
    let h = (h_out + 2 * padding.0 - kh) / stride.0 + 1;
    let w = (w_out + 2 * padding.1 - kw) / stride.1 + 1;
    let mut grad_input = Tensor::zeros(&[n, c_in, h, w]);
    for image in 0..n {
        for ci in 0..c_in {
            for i in 0..h {
                for j in 0..w {
                    // x[i, j] reached y[i S - P + a, j S - P + b] through tap (a, b):
                    // collect the gradient from there. A backward pass flips the kernel.
                    let mut sum = 0.0;
                    for co in 0..c_out {
                        for a in 0..kh {
                            for b in 0..kw {
                                let oh = (i * stride.0 + a) as isize - padding.0 as isize;
                                let ow = (j * stride.1 + b) as isize - padding.1 as isize;
                                if oh < 0 || ow < 0 || oh >= h_out as isize || ow >= w_out as isize
                                {
                                    continue;
                                }
                                let g = grad_output[((image * c_out + co) * h_out + oh as usize)
                                    * w_out
                                    + ow as usize];
                                sum += g * weight
                                    [((ci * c_out + co) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)];
                            }
                        }
                    }
                    grad_input[((image * c_in + ci) * h + i) * w + j] = sum;
                }
            }
        }
    }
    grad_input
}

/// The cases the backward-pass exercise is checked on: stride 1 and 2, output_padding 0 and 1.
fn exercise_cases() -> [Case; 4] {
    [
        case(1, 2, 3, (3, 3), (3, 3), (1, 1), (1, 1), (0, 0)),
        case(2, 3, 2, (4, 4), (4, 4), (2, 2), (1, 1), (0, 0)),
        case(1, 2, 2, (3, 5), (3, 3), (2, 2), (1, 1), (1, 1)),
        case(2, 2, 2, (2, 3), (3, 2), (2, 1), (0, 1), (1, 0)),
    ]
}

/// The gradient check the exercise must pass, for any candidate backward pass.
fn check_backward_input(
    backward: impl Fn(&Tensor<f64>, &Tensor<f64>, (usize, usize), (usize, usize)) -> Tensor<f64>,
) -> Result<f64, String> {
    let mut worst: f64 = 0.0;
    for c in exercise_cases() {
        let (x, w, _) = c.tensors::<f64>();
        let r: Tensor<f64> = TestRng::new(c.seed ^ 5).tensor(&c.y_shape());
        let grad_x = backward(&r, &w, c.stride, c.padding);
        if grad_x.shape() != x.shape() {
            return Err(format!(
                "{c:?}: grad_input has shape {:?}, expected the shape of x {:?}",
                grad_x.shape(),
                x.shape()
            ));
        }
        let options = CheckOptions {
            step: 1e-3,
            ..CheckOptions::default()
        };
        let report = grad_check(
            &["x"],
            &mut [x],
            &[grad_x],
            |v| c.forward(&v[0], &w, None).dot(&r),
            &options,
        );
        if report.worst_rel_error() > 1e-6 {
            return Err(format!(
                "{c:?}: the input gradient disagrees with finite differences. Which tap (a, b) of \
                 the kernel carried x[i, j] to y[i S - P + a, j S - P + b]?\n{report}"
            ));
        }
        worst = worst.max(report.worst_rel_error());
    }
    Ok(worst)
}

#[test]
fn exercise_conv_transpose_backward_input_passes_the_gradient_check() {
    match check_backward_input(exercise::conv_transpose2d_backward_input_exercise) {
        Ok(worst) => println!("worst relative error {worst:.2e}"),
        Err(message) => panic!("{message}"),
    }
}

#[test]
fn the_chapters_buggy_backward_pass_fails_the_exercise_check() {
    assert!(check_backward_input(conv_transpose2d_backward_input_buggy).is_err());
    // With the flip undone it would pass: the bug is the flip and nothing else.
    let unflip = |w: &Tensor<f64>| {
        let [ci, co, kh, kw] = w.shape().try_into().unwrap();
        Tensor::from_fn(&[ci, co, kh, kw], |i| {
            let (plane, a, b) = (i / (kh * kw), (i / kw) % kh, i % kw);
            w[plane * kh * kw + (kh - 1 - a) * kw + (kw - 1 - b)]
        })
    };
    let fixed = |g: &Tensor<f64>, w: &Tensor<f64>, s, p| {
        conv_transpose2d_backward_input_buggy(g, &unflip(w), s, p)
    };
    assert!(check_backward_input(fixed).is_ok());
}

#[test]
fn exercise_conv_transpose_output_size_matches_pytorch() {
    let size = exercise::conv_transpose2d_output_size;
    // (input, kernel, stride, padding, output_padding) -> output, as PyTorch computes it.
    let known = [
        ((1, 4, 1, 0, 0), 4), // DCGAN: z as a 1x1 image -> 4x4
        ((4, 4, 2, 1, 0), 8), // DCGAN blocks double the size
        ((32, 4, 2, 1, 0), 64),
        ((6, 3, 2, 1, 1), 12), // PyTorch's documentation example
        ((6, 3, 2, 1, 0), 11),
        ((5, 3, 1, 1, 0), 5), // stride 1, "same" padding
        ((3, 3, 2, 0, 0), 7),
        ((7, 5, 3, 2, 2), 21),
    ];
    for ((h, k, s, p, op), expected) in known {
        assert_eq!(
            size(h, k, s, p, op),
            expected,
            "input {h}, kernel {k}, stride {s}, padding {p}, output_padding {op}: H' = (H - 1) S - 2P + K + output_padding"
        );
    }
    // The shape test: it is the size the transposed convolution really produces, and a
    // convolution with the same settings takes it back to the input size.
    let mut rng = TestRng::new(9);
    for _ in 0..50 {
        let pick =
            |rng: &mut TestRng, lo: u64, hi: u64| (lo + rng.next_u64() % (hi - lo + 1)) as usize;
        let (k, s) = (pick(&mut rng, 1, 5), pick(&mut rng, 1, 3));
        let (p, op) = (pick(&mut rng, 0, 2), pick(&mut rng, 0, s as u64 - 1));
        let h = (pick(&mut rng, 1, 8)..)
            .find(|&h| (h - 1) * s + k + op > 2 * p)
            .unwrap();
        let out = size(h, k, s, p, op);
        let y = conv_transpose2d_forward(
            &Tensor::<f32>::zeros(&[1, 1, h, 1]),
            &Tensor::zeros(&[1, 1, k, 1]),
            None,
            (s, 1),
            (p, 0),
            (op, 0),
        );
        assert_eq!(
            y.shape()[2],
            out,
            "input {h}, kernel {k}, stride {s}, padding {p}, output_padding {op}"
        );
        assert_eq!(
            conv2d_output_size(out, k, s, p),
            h,
            "the convolution must map H' back to H"
        );
    }
}
