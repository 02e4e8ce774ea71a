//! Chapter 3: Convolution. Proves that
//! - the fast Conv2d (im2col + GEMM) computes the definition (the seven loops of
//!   `conv2d_reference`) on random shapes, in f32 and f64;
//! - its backward passes are the gradients of its forward pass: finite differences in f64 on
//!   a table of shapes, and the adjoint identities <G, conv(dx)> = <grad_input, dx> and
//!   <G, conv_W(dW) + db> = <grad_weight, dW> + <grad_bias, db> on random shapes;
//! - results are bitwise the same for 1 and several threads;
//! - output sizes follow PyTorch's formula;
//! - the chapter's exercise (dilation) is solved (tests named `exercise_*`).
//!
//! `cargo test --release --test ch03_conv -- --nocapture` prints the worst gradient error per case.

mod common;

use common::{adjoint_gap, scaled_error, TestRng};
use gan::check::{grad_check, CheckOptions};
use gan::exercises::ch03_conv::{conv2d_dilated_backward_input, conv2d_dilated_forward};
use gan::layers::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, conv2d_output_size,
    conv2d_reference, Conv2d,
};
use gan::layers::Layer;
use gan::parallel::with_threads;
use gan::{Real, Tensor};
use proptest::prelude::*;

/// One convolution problem: sizes, and a seed for its random tensors.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    c_in: usize,
    c_out: usize,
    hw: (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    seed: u64,
}

impl Case {
    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.hw.0, self.hw.1]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.c_out, self.c_in, self.kernel.0, self.kernel.1]
    }
    fn out_hw(&self) -> (usize, usize) {
        (
            conv2d_output_size(self.hw.0, self.kernel.0, self.stride.0, self.padding.0),
            conv2d_output_size(self.hw.1, self.kernel.1, self.stride.1, self.padding.1),
        )
    }
    fn y_shape(&self) -> [usize; 4] {
        let (h, w) = self.out_hw();
        [self.n, self.c_out, h, w]
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
}

/// Random cases: sizes 1 to 9 (primes, odd and even, non-square), kernels 1 to 5, strides 1
/// to 3, paddings 0 to 2.
fn cases() -> impl Strategy<Value = Case> {
    cases_with(1..=4usize, 2)
}

/// Random cases with input channels from `c_in` and paddings up to `max_pad`.
fn cases_with(c_in: impl Strategy<Value = usize>, max_pad: usize) -> impl Strategy<Value = Case> {
    (
        (1..=3usize, c_in, 1..=4usize),
        (1..=9usize, 1..=9usize, 1..=5usize, 1..=5usize),
        (1..=3usize, 1..=3usize, 0..=max_pad, 0..=max_pad),
        any::<u64>(),
    )
        .prop_map(
            |((n, c_in, c_out), (h, w, kh, kw), (sh, sw, ph, pw), seed)| Case {
                n,
                c_in,
                c_out,
                // The window must fit in the padded image.
                hw: (
                    h.max(kh.saturating_sub(2 * ph)),
                    w.max(kw.saturating_sub(2 * pw)),
                ),
                kernel: (kh, kw),
                stride: (sh, sw),
                padding: (ph, pw),
                seed,
            },
        )
}

fn fast_vs_reference<T: Real>(case: &Case) -> f64 {
    let (x, w, b) = case.tensors::<T>();
    let fast = conv2d_forward(&x, &w, Some(&b), case.stride, case.padding);
    let slow = conv2d_reference(&x, &w, Some(&b), case.stride, case.padding);
    assert_eq!(fast.shape(), &case.y_shape());
    scaled_error(&fast, &slow)
}

proptest! {
    // Failures print their case; there is no source folder to save regressions in.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(48) })]

    #[test]
    fn fast_conv_matches_the_seven_loops_f64(case in cases()) {
        let err = fast_vs_reference::<f64>(&case);
        prop_assert!(err < 1e-13, "{case:?}: error {err:e}");
    }

    #[test]
    fn fast_conv_matches_the_seven_loops_f32(case in cases()) {
        // Each output sums C_in*kH*kW products of numbers below 1: rounding grows with that count.
        let terms = (case.c_in * case.kernel.0 * case.kernel.1) as f64;
        let err = fast_vs_reference::<f32>(&case);
        prop_assert!(err < 4.0 * f32::EPSILON as f64 * terms, "{case:?}: error {err:e}");
    }

    /// y = conv(x) is linear in x, and grad_input is its transpose applied to G:
    /// <G, conv(dx)> = <grad_input(G), dx>. Likewise for the weight and bias.
    #[test]
    fn backward_passes_are_the_adjoints_of_the_forward_pass(case in cases()) {
        let (x, w, _) = case.tensors::<f64>();
        let mut rng = TestRng::new(case.seed ^ 1);
        let g: Tensor<f64> = rng.tensor(&case.y_shape());
        let dw: Tensor<f64> = rng.tensor(&case.w_shape());
        let db: Tensor<f64> = rng.tensor(&[case.c_out]);

        let grad_x = conv2d_backward_input(&g, &w, case.hw, case.stride, case.padding);
        let y = conv2d_forward(&x, &w, None, case.stride, case.padding);
        let gap = adjoint_gap(&g, &y, &grad_x, &x);
        prop_assert!(gap < 1e-12, "{case:?}: input adjoint gap {gap:e}");

        // Stack weight and bias into one parameter vector to use the same measure.
        let mut grad_w = Tensor::zeros(&case.w_shape());
        let mut grad_b = Tensor::zeros(&[case.c_out]);
        conv2d_backward_weight(&x, &g, case.stride, case.padding, &mut grad_w, Some(&mut grad_b));
        let dy = conv2d_forward(&x, &dw, Some(&db), case.stride, case.padding);
        let stack = |a: &Tensor<f64>, b: &Tensor<f64>| {
            let data = [a.as_slice(), b.as_slice()].concat();
            Tensor::from_vec(&[data.len()], data).unwrap()
        };
        let gap = adjoint_gap(&g, &dy, &stack(&grad_w, &grad_b), &stack(&dw, &db));
        prop_assert!(gap < 1e-12, "{case:?}: weight adjoint gap {gap:e}");
    }
}

/// Wide random cases: 8 or more input channels, where the forward pass packs its panels
/// straight from the images (chapter 13); odd sizes, kernels 1 to 5, strides 1 to 3, paddings
/// 0 to 3.
fn wide_cases() -> impl Strategy<Value = Case> {
    cases_with(prop_oneof![Just(8usize), Just(13), Just(32), Just(37)], 3)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(128) })]

    /// The implicit GEMM of the forward pass against the seven loops, and the input and weight
    /// gradients against it by the adjoint identity.
    #[test]
    fn wide_layers_match_the_seven_loops_and_their_adjoints(case in wide_cases()) {
        let err = fast_vs_reference::<f64>(&case);
        prop_assert!(err < 1e-13, "{case:?}: forward error {err:e}");
        let (x, w, _) = case.tensors::<f64>();
        let g: Tensor<f64> = TestRng::new(case.seed ^ 1).tensor(&case.y_shape());
        let grad_x = conv2d_backward_input(&g, &w, case.hw, case.stride, case.padding);
        let y = conv2d_forward(&x, &w, None, case.stride, case.padding);
        let gap = adjoint_gap(&g, &y, &grad_x, &x);
        prop_assert!(gap < 1e-12, "{case:?}: input adjoint gap {gap:e}");

        // And the weight gradient: <G, conv_dW(x)> = <grad_W, dW>.
        let dw: Tensor<f64> = TestRng::new(case.seed ^ 2).tensor(&case.w_shape());
        let mut grad_w = Tensor::zeros(&case.w_shape());
        conv2d_backward_weight(&x, &g, case.stride, case.padding, &mut grad_w, None);
        let dy = conv2d_forward(&x, &dw, None, case.stride, case.padding);
        let gap = adjoint_gap(&g, &dy, &grad_w, &dw);
        prop_assert!(gap < 1e-12, "{case:?}: weight adjoint gap {gap:e}");
    }
}

/// Thin random cases with long rows: 1 to 3 input channels and outputs 8 to 45 wide, where the
/// forward pass reads its windows straight from the image (chapter 13), rows ending mid-tile.
fn thin_long_cases() -> impl Strategy<Value = Case> {
    (cases_with(1..=3usize, 2), 16..=45usize, 1..=13usize).prop_map(|(mut case, w, c_out)| {
        case.hw.1 = w;
        case.c_out = c_out;
        case
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

    /// The direct forward pass against the seven loops, in f64 and f32.
    #[test]
    fn thin_layers_with_long_rows_match_the_seven_loops(case in thin_long_cases()) {
        let err = fast_vs_reference::<f64>(&case);
        prop_assert!(err < 1e-13, "{case:?}: f64 error {err:e}");
        let terms = (case.c_in * case.kernel.0 * case.kernel.1) as f64;
        let err = fast_vs_reference::<f32>(&case);
        prop_assert!(err < 4.0 * f32::EPSILON as f64 * terms, "{case:?}: f32 error {err:e}");
    }
}

/// Gradient check of a Conv2d layer: analytic gradients from `Layer::backward`, numeric ones
/// from central differences of L = sum(y * r), so that dL/dy = r.
fn gradient_check(label: &str, case: Case, bias: bool) -> f64 {
    let (x, w, b) = case.tensors::<f64>();
    let mut layer = Conv2d::from_weights(
        w.clone(),
        bias.then(|| b.clone()),
        case.stride,
        case.padding,
    )
    .unwrap();
    let y = layer.forward(&x);
    assert_eq!(y.shape(), &case.y_shape(), "{label}");
    let r: Tensor<f64> = TestRng::new(case.seed ^ 2).tensor(y.shape());
    let grad_x = layer.backward(&r);

    let (stride, padding) = (case.stride, case.padding);
    let mut names = vec!["x", "weight"];
    let mut values = vec![x, w];
    let mut analytic = vec![grad_x, layer.grad_weight.clone()];
    if bias {
        names.push("bias");
        values.push(b);
        analytic.push(layer.grad_bias.clone().unwrap());
    }
    let loss = |p: &[Tensor<f64>]| conv2d_forward(&p[0], &p[1], p.get(2), stride, padding).dot(&r);
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

#[test]
fn conv_gradients_match_finite_differences() {
    let case = |n, c_in, c_out, hw, kernel, stride, padding| Case {
        n,
        c_in,
        c_out,
        hw,
        kernel,
        stride,
        padding,
        seed: 7 + n as u64 * 100 + hw.0 as u64,
    };
    let table = [
        (
            "k3 s1 p1, 5x5, batch 1",
            case(1, 2, 3, (5, 5), (3, 3), (1, 1), (1, 1)),
            true,
        ),
        (
            "k3 s2 p0, 7x6, batch 2",
            case(2, 2, 2, (7, 6), (3, 3), (2, 2), (0, 0)),
            true,
        ),
        (
            "k4 s2 p1, 8x8 (DCGAN block), batch 2",
            case(2, 3, 2, (8, 8), (4, 4), (2, 2), (1, 1)),
            false,
        ),
        (
            "k1 s1 p0, 4x3, batch 3",
            case(3, 3, 4, (4, 3), (1, 1), (1, 1), (0, 0)),
            true,
        ),
        (
            "k4 s1 p2, 5x4, batch 2",
            case(2, 2, 3, (5, 4), (4, 4), (1, 1), (2, 2)),
            true,
        ),
        (
            "k(3,4) s(2,1) p(1,2), 6x5, batch 1",
            case(1, 2, 2, (6, 5), (3, 4), (2, 1), (1, 2)),
            true,
        ),
        (
            "k4 s1 p0, 4x4 -> 1x1 (PatchGAN head), batch 2",
            case(2, 4, 1, (4, 4), (4, 4), (1, 1), (0, 0)),
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
fn a_batch_split_into_several_gemms_gives_the_same_gradients_as_one_image_at_a_time() {
    // 24x24 outputs are 576 columns per image, so a batch of 3 is cut into runs of 2 and 1
    // images; 33x32 outputs (1056 columns) are one image per run, written in place. The weight
    // gradient is summed over runs.
    let case = |n, hw, seed| Case {
        n,
        c_in: 2,
        c_out: 3,
        hw,
        kernel: (3, 3),
        stride: (1, 1),
        padding: (1, 1),
        seed,
    };
    for case in [case(3, (24, 24), 11), case(2, (33, 32), 13)] {
        check_batch_split(case);
    }
    // DCGAN's 4x4 stride-2 layer with 32 input channels (implicit forward): 16 small images are
    // one run stored batch innermost, 2 large ones are one image per run.
    for case in [dcgan_layer(16, 5, (8, 8)), dcgan_layer(2, 5, (64, 64))] {
        check_batch_split(case);
    }
}

/// DCGAN's 4x4 stride-2 layer (padding 1) with 32 input channels: wide enough for the implicit
/// forward pass.
fn dcgan_layer(n: usize, c_out: usize, hw: (usize, usize)) -> Case {
    Case {
        n,
        c_in: 32,
        c_out,
        hw,
        kernel: (4, 4),
        stride: (2, 2),
        padding: (1, 1),
        seed: 17,
    }
}

fn check_batch_split(case: Case) {
    let (x, w, b) = case.tensors::<f64>();
    let y = conv2d_forward(&x, &w, Some(&b), case.stride, case.padding);
    assert!(
        scaled_error(
            &y,
            &conv2d_reference(&x, &w, Some(&b), case.stride, case.padding)
        ) < 1e-13
    );

    let g: Tensor<f64> = TestRng::new(12).tensor(y.shape());
    let mut grad_w = Tensor::zeros(&case.w_shape());
    let mut grad_b = Tensor::zeros(&[case.c_out]);
    conv2d_backward_weight(
        &x,
        &g,
        case.stride,
        case.padding,
        &mut grad_w,
        Some(&mut grad_b),
    );
    let grad_x = conv2d_backward_input(&g, &w, case.hw, case.stride, case.padding);

    let mut one_by_one_w = Tensor::zeros(&case.w_shape());
    let mut one_by_one_b = Tensor::zeros(&[case.c_out]);
    for i in 0..case.n {
        let image = |t: &Tensor<f64>| {
            let mut shape = t.shape().to_vec();
            shape[0] = 1;
            Tensor::from_vec(&shape, t.row(i).to_vec()).unwrap()
        };
        let (xi, gi) = (image(&x), image(&g));
        conv2d_backward_weight(
            &xi,
            &gi,
            case.stride,
            case.padding,
            &mut one_by_one_w,
            Some(&mut one_by_one_b),
        );
        let grad_xi = conv2d_backward_input(&gi, &w, case.hw, case.stride, case.padding);
        assert_eq!(grad_xi.as_slice(), grad_x.row(i), "image {i}");
    }
    assert!(scaled_error(&grad_w, &one_by_one_w) < 1e-13);
    assert!(scaled_error(&grad_b, &one_by_one_b) < 1e-13);
}

#[test]
fn one_thread_and_several_give_bitwise_the_same_results() {
    // Big enough that the GEMMs, im2col and col2im all split their work. 20x20 outputs cut a
    // batch into runs of 3 images; 32x32 outputs are one image per run.
    let case = |n, c_in, c_out, hw| Case {
        n,
        c_in,
        c_out,
        hw,
        kernel: (3, 3),
        stride: (1, 1),
        padding: (1, 1),
        seed: 3,
    };
    for case in [case(5, 8, 16, (20, 20)), case(2, 4, 8, (32, 32))] {
        check_thread_counts(case);
    }
    // DCGAN's 4x4 stride-2 layer, wide enough for the implicit forward pass, on small maps (runs
    // stored batch innermost) and large ones (image by image).
    for case in [dcgan_layer(24, 16, (8, 8)), dcgan_layer(3, 16, (32, 32))] {
        check_thread_counts(case);
    }
    // DCGAN's first layer on an RGB image and on 28x28 digits: the direct forward pass, with
    // output rows a tile wide and narrower.
    check_thread_counts(Case {
        c_in: 3,
        ..dcgan_layer(3, 16, (64, 64))
    });
    check_thread_counts(Case {
        c_in: 1,
        ..dcgan_layer(9, 16, (28, 28))
    });
}

fn check_thread_counts(case: Case) {
    let (x, w, b) = case.tensors::<f32>();
    let g: Tensor<f32> = TestRng::new(4).tensor(&case.y_shape());
    let run = |threads: usize| {
        with_threads(threads, || {
            let y = conv2d_forward(&x, &w, Some(&b), case.stride, case.padding);
            let grad_x = conv2d_backward_input(&g, &w, case.hw, case.stride, case.padding);
            let mut grad_w = Tensor::zeros(&case.w_shape());
            let mut grad_b = Tensor::zeros(&[case.c_out]);
            conv2d_backward_weight(
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
                "{case:?}: {name} differs between 1 and {threads} threads"
            );
        }
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    // DCGAN discriminator: k4 s2 p1 halves the image.
    assert_eq!(conv2d_output_size(64, 4, 2, 1), 32);
    assert_eq!(conv2d_output_size(8, 4, 2, 1), 4);
    // The last layer: k4 s1 p0 turns 4x4 into one number.
    assert_eq!(conv2d_output_size(4, 4, 1, 0), 1);
    // "Same" padding for k3 s1, and PatchGAN's k4 s1 p1 shrinks by one.
    assert_eq!(conv2d_output_size(13, 3, 1, 1), 13);
    assert_eq!(conv2d_output_size(32, 4, 1, 1), 31);
    // Rounded down: 7 and 8 both go to 4 under k3 s2 p1.
    assert_eq!(conv2d_output_size(7, 3, 2, 1), 4);
    assert_eq!(conv2d_output_size(8, 3, 2, 1), 4);

    let mut layer = Conv2d::<f32>::new(3, 64, 4, 2, 1, false);
    assert_eq!(layer.output_hw((64, 48)), (32, 24));
    let y = layer.forward(&Tensor::zeros(&[2, 3, 64, 48]));
    assert_eq!(y.shape(), &[2, 64, 32, 24]);
}

#[test]
fn the_layer_names_its_parameters_and_accumulates_gradients() {
    let case = Case {
        n: 2,
        c_in: 3,
        c_out: 2,
        hw: (6, 5),
        kernel: (3, 3),
        stride: (2, 2),
        padding: (1, 1),
        seed: 5,
    };
    let (x, w, b) = case.tensors::<f64>();
    let mut layer = Conv2d::from_weights(w, Some(b), 2, 1).unwrap();
    assert_eq!(layer.describe(), "Conv2d(3, 2, k3, s2, p1)");
    assert_eq!(
        Conv2d::<f32>::new(3, 64, (3, 4), 1, (0, 1), false).describe(),
        "Conv2d(3, 64, k(3, 4), s1, p(0, 1), no bias)"
    );
    let names: Vec<&str> = layer.params().iter().map(|p| p.name).collect();
    assert_eq!(names, ["weight", "bias"]);
    assert_eq!(Conv2d::<f32>::new(1, 1, 1, 1, 0, false).params().len(), 1);

    let y = layer.forward(&x);
    let g: Tensor<f64> = TestRng::new(6).tensor(y.shape());
    layer.backward(&g);
    let once = layer.grad_weight.clone();
    layer.backward(&g);
    let mut twice = once.clone();
    twice.scale(2.0);
    assert!(
        scaled_error(&layer.grad_weight, &twice) < 1e-15,
        "backward adds into grad_weight"
    );
    layer.zero_grad();
    assert_eq!(layer.grad_weight.max_abs(), 0.0);
    assert_eq!(layer.grad_bias.as_ref().unwrap().max_abs(), 0.0);
}

#[test]
#[should_panic(expected = "training-mode forward")]
fn backward_after_an_evaluation_mode_forward_is_refused() {
    let mut layer = Conv2d::<f32>::new(1, 1, 3, 1, 1, true);
    layer.set_training(false);
    let y = layer.forward(&Tensor::zeros(&[1, 1, 4, 4]));
    layer.backward(&y);
}

#[test]
fn wrong_shapes_are_reported_with_both_shapes() {
    let err = Conv2d::from_weights(
        Tensor::<f32>::zeros(&[4, 3, 3, 3]),
        Some(Tensor::zeros(&[3])),
        1,
        1,
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "Conv2d bias: expected shape [4], found [3]"
    );
    let err = Conv2d::from_weights(Tensor::<f32>::zeros(&[4, 3, 3]), None, 1, 1)
        .err()
        .unwrap();
    assert!(err.to_string().contains("[4, 3, 3]"), "{err}");

    let message = std::panic::catch_unwind(|| {
        conv2d_forward(
            &Tensor::<f32>::zeros(&[1, 2, 5, 5]),
            &Tensor::zeros(&[4, 3, 3, 3]),
            None,
            (1, 1),
            (0, 0),
        )
    })
    .unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("[1, 2, 5, 5]") && message.contains("[4, 3, 3, 3]"),
        "{message}"
    );
}

// ---- exercises -------------------------------------------------------------------------------

/// The dilated convolution written out: tap (a, b) reads x at (oh S - P + a D, ow S - P + b D).
fn dilated_reference(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    bias: &Tensor<f64>,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> Tensor<f64> {
    let [n, c_in, h, wd] = x.shape().try_into().unwrap();
    let [c_out, _, kh, kw] = w.shape().try_into().unwrap();
    let span = ((kh - 1) * dilation.0 + 1, (kw - 1) * dilation.1 + 1);
    let h_out = (h + 2 * padding.0 - span.0) / stride.0 + 1;
    let w_out = (wd + 2 * padding.1 - span.1) / stride.1 + 1;
    let mut y = Tensor::zeros(&[n, c_out, h_out, w_out]);
    let mut at = 0;
    for image in 0..n {
        for co in 0..c_out {
            for oh in 0..h_out {
                for ow in 0..w_out {
                    let mut sum = bias[co];
                    for ci in 0..c_in {
                        for a in 0..kh {
                            for b in 0..kw {
                                let ih =
                                    (oh * stride.0 + a * dilation.0) as isize - padding.0 as isize;
                                let iw =
                                    (ow * stride.1 + b * dilation.1) as isize - padding.1 as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < wd {
                                    sum += w[((co * c_in + ci) * kh + a) * kw + b]
                                        * x[((image * c_in + ci) * h + ih as usize) * wd
                                            + iw as usize];
                                }
                            }
                        }
                    }
                    y[at] = sum;
                    at += 1;
                }
            }
        }
    }
    y
}

/// (n, c_in, c_out, (h, w), kernel, stride, padding, dilation)
type DilatedCase = (
    usize,
    usize,
    usize,
    (usize, usize),
    usize,
    usize,
    usize,
    (usize, usize),
);
const DILATED_CASES: [DilatedCase; 5] = [
    (1, 1, 1, (7, 7), 3, 1, 0, (1, 1)),
    (2, 2, 3, (9, 8), 3, 1, 2, (2, 2)),
    (1, 3, 2, (11, 10), 3, 2, 1, (3, 2)),
    (2, 2, 2, (8, 9), 2, 1, 0, (4, 1)),
    (1, 2, 2, (12, 12), 4, 2, 3, (2, 3)),
];

#[test]
fn exercise_dilated_conv_matches_the_direct_loops() {
    for (i, &(n, c_in, c_out, hw, k, s, p, d)) in DILATED_CASES.iter().enumerate() {
        let mut rng = TestRng::new(40 + i as u64);
        let x: Tensor<f64> = rng.tensor(&[n, c_in, hw.0, hw.1]);
        let w: Tensor<f64> = rng.tensor(&[c_out, c_in, k, k]);
        let b: Tensor<f64> = rng.tensor(&[c_out]);
        let expected = dilated_reference(&x, &w, &b, (s, s), (p, p), d);
        let found = conv2d_dilated_forward(&x, &w, Some(&b), (s, s), (p, p), d);
        assert_eq!(
            found.shape(),
            expected.shape(),
            "output shape with dilation {d:?}: is H' = (H + 2P - D(K - 1) - 1) / S + 1?"
        );
        let err = scaled_error(&found, &expected);
        assert!(err < 1e-12, "dilation {d:?}, kernel {k}, stride {s}, padding {p}: error {err:e}; does tap (a, b) read x at (oh S - P + a D, ow S - P + b D)?");
    }
}

#[test]
fn exercise_dilated_conv_backward_input_passes_the_gradient_check() {
    for (i, &(n, c_in, c_out, hw, k, s, p, d)) in DILATED_CASES.iter().enumerate() {
        let mut rng = TestRng::new(50 + i as u64);
        let x: Tensor<f64> = rng.tensor(&[n, c_in, hw.0, hw.1]);
        let w: Tensor<f64> = rng.tensor(&[c_out, c_in, k, k]);
        let no_bias = Tensor::zeros(&[c_out]);
        let y = dilated_reference(&x, &w, &no_bias, (s, s), (p, p), d);
        let r: Tensor<f64> = rng.tensor(y.shape());
        let grad_x = conv2d_dilated_backward_input(&r, &w, hw, (s, s), (p, p), d);
        assert_eq!(
            grad_x.shape(),
            x.shape(),
            "the input gradient has the shape of x"
        );
        let report = grad_check(
            &["x"],
            &mut [x],
            &[grad_x],
            |v: &[Tensor<f64>]| dilated_reference(&v[0], &w, &no_bias, (s, s), (p, p), d).dot(&r),
            // The loss is linear in x: central differences are exact for any step, and a large
            // one keeps rounding small.
            &CheckOptions {
                step: 1e-3,
                ..CheckOptions::default()
            },
        );
        println!(
            "dilation {d:?}: worst relative error {:.2e}",
            report.worst_rel_error()
        );
        report.assert_below(1e-6);
    }
}
