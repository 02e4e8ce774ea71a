//! Chapter 13, "Scaling up": the shortcuts a training step takes, and the counting behind the
//! bench. Proves that the partial backward passes (input gradient only for a frozen network,
//! parameter gradients only for a first layer fed by data) give bit for bit what the full pass
//! gives; that the profiler sees every pass and its FLOP count matches the formulas; that an
//! iteration, BatchNorm and the element-wise kernels are bitwise the same on any thread count
//! (the element-wise kernels also against their plain loop); and that peak memory is read.
//! The `exercise_*` tests check exercises 13.1 and 13.2; run them on your own code with
//! `cargo test --release --features exercises --test ch13_scaling -- exercise_`.

use gan::bench::iteration::{iteration_work, layer_work, peak_resident_bytes, profile, Workload};
use gan::exercises::ch13_scaling::{conv2d_pass_flops, roofline_fraction};
use gan::layers::batch_norm::BatchNorm;
use gan::layers::conv::Conv2d;
use gan::layers::conv_transpose::ConvTranspose2d;
use gan::layers::linear::Linear;
use gan::layers::pointwise;
use gan::layers::Layer;
use gan::parallel::with_threads;
use gan::rng::Rng;
use gan::Tensor;
use proptest::prelude::*;
use std::process::Command;

fn random(shape: &[usize], rng: &mut Rng) -> Tensor<f64> {
    Tensor::from_fn(shape, |_| rng.uniform_range(-1.0, 1.0))
}

/// Every parameter gradient of a layer, copied.
fn grads(layer: &mut dyn Layer<f64>) -> Vec<Tensor<f64>> {
    layer.params().into_iter().map(|p| p.grad.clone()).collect()
}

/// The full backward pass against the two partial ones, on the same input and output gradient:
/// the input gradients and the parameter gradients must be bitwise equal.
fn check_partial_passes(make: &dyn Fn() -> Box<dyn Layer<f64>>, x: &Tensor<f64>, rng: &mut Rng) {
    let mut full = make();
    let y = full.forward(x);
    let grad_y = random(y.shape(), rng);
    full.zero_grad();
    let grad_x = full.backward(&grad_y);

    let mut input_only = make();
    input_only.forward(x);
    input_only.zero_grad();
    let grad_x_only = input_only.backward_input_only(&grad_y);
    assert_eq!(
        grad_x_only.as_slice(),
        grad_x.as_slice(),
        "{}: input gradient",
        full.describe()
    );

    let mut params_only = make();
    params_only.forward(x);
    params_only.zero_grad();
    params_only.backward_params_only(&grad_y);
    assert_eq!(
        grads(params_only.as_mut()),
        grads(full.as_mut()),
        "{}: parameter gradients",
        full.describe()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn partial_backward_passes_match_the_full_pass(
        n in 1usize..4, c_in in 1usize..6, c_out in 1usize..6, size in 1usize..8,
        kernel in 1usize..5, stride in 1usize..3, padding in 0usize..2, seed in 0u64..1000,
    ) {
        let mut rng = Rng::new(seed);
        let weight = random(&[c_out, c_in, kernel, kernel], &mut rng);
        let bias = random(&[c_out], &mut rng);
        if size + 2 * padding >= kernel {
            let x = random(&[n, c_in, size, size], &mut rng);
            let make = || -> Box<dyn Layer<f64>> {
                Box::new(Conv2d::from_weights(weight.clone(), Some(bias.clone()), stride, padding).unwrap())
            };
            check_partial_passes(&make, &x, &mut rng);
        }
        let weight_t = random(&[c_in, c_out, kernel, kernel], &mut rng);
        if (size - 1) * stride + kernel > 2 * padding {
            let x = random(&[n, c_in, size, size], &mut rng);
            let make = || -> Box<dyn Layer<f64>> {
                Box::new(ConvTranspose2d::from_weights(weight_t.clone(), Some(bias.clone()), stride, padding, 0).unwrap())
            };
            check_partial_passes(&make, &x, &mut rng);
        }
        let w = random(&[c_out, c_in * size], &mut rng);
        let b = random(&[c_out], &mut rng);
        let x = random(&[n, c_in * size], &mut rng);
        let make = || -> Box<dyn Layer<f64>> {
            let mut l = Linear::new(c_in * size, c_out);
            l.weight = w.clone();
            l.bias = b.clone();
            Box::new(l)
        };
        check_partial_passes(&make, &x, &mut rng);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The element-wise kernels against the plain loop, across chunk boundaries (16384 values per
    /// task), on 1 and 3 threads.
    #[test]
    fn pointwise_kernels_match_the_plain_loop(len in prop_oneof![0usize..40, 16380usize..16390, 40000usize..50000], seed in 0u64..1000) {
        let mut rng = Rng::new(seed);
        let a: Vec<f32> = (0..len).map(|_| rng.uniform_range(-2.0, 2.0) as f32).collect();
        let b: Vec<f32> = (0..len).map(|_| rng.uniform_range(-2.0, 2.0) as f32).collect();
        let f = |v: f32| if v > 0.0 { v } else { 0.2 * v };
        let expected = pointwise::map_reference(&a, f);
        let expected_zip: Vec<f32> = a.iter().zip(&b).map(|(&u, &v)| u * v - 1.0).collect();
        let expected_signs = pointwise::map_reference(&a, |v| v > 0.0);
        for threads in [1, 3] {
            with_threads(threads, || {
                assert_eq!(pointwise::map(&a, f), expected);
                assert_eq!(pointwise::zip_map(&a, &b, |u, v| u * v - 1.0), expected_zip);
                let (y, signs) = pointwise::map_two(&a, f, |v| v > 0.0);
                assert_eq!((&y, &signs), (&expected, &expected_signs));
            });
        }
    }
}

#[test]
fn batch_norm_is_bitwise_the_same_on_any_thread_count() {
    let mut rng = Rng::new(9);
    let x = random(&[5, 7, 3, 4], &mut rng);
    let g = random(&[5, 7, 3, 4], &mut rng);
    let run = |threads: usize| {
        with_threads(threads, || {
            let mut bn = BatchNorm::<f64>::new_2d(7);
            let y = bn.forward(&x);
            let gi = bn.backward(&g);
            bn.set_training(false);
            let y_eval = bn.forward(&x);
            (
                y,
                gi,
                bn.grad_weight.clone(),
                bn.grad_bias.clone(),
                bn.running_var.clone(),
                y_eval,
            )
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(
            one.0.as_slice(),
            other.0.as_slice(),
            "forward on {threads} threads"
        );
        assert_eq!(
            one.1.as_slice(),
            other.1.as_slice(),
            "backward on {threads} threads"
        );
        assert_eq!(one.2.as_slice(), other.2.as_slice());
        assert_eq!(one.3.as_slice(), other.3.as_slice());
        assert_eq!(one.4.as_slice(), other.4.as_slice());
        assert_eq!(one.5.as_slice(), other.5.as_slice());
    }
}

/// A workload small enough for a test: 8 x 8 grey images, width 4, batch 4.
fn tiny() -> Workload {
    Workload {
        name: "tiny",
        image_size: 8,
        channels: 1,
        width: 4,
        batch: 4,
    }
}

#[test]
fn a_frozen_discriminator_gives_the_same_image_gradient_and_leaves_its_own_alone() {
    let mut a = tiny().trainer(3).unwrap();
    let mut b = tiny().trainer(3).unwrap();
    let x = Tensor::from_fn(&[4, 1, 8, 8], |i| ((i * 37 % 17) as f32) / 8.0 - 1.0);
    let grad_logits = Tensor::from_fn(&[4, 1, 1, 1], |i| 0.25 - i as f32 * 0.1);
    a.d.net.zero_grad();
    b.d.net.zero_grad();
    a.d.forward(&x, None);
    let full = a.d.backward(&grad_logits);
    b.d.forward(&x, None);
    let frozen = b.d.backward_frozen(&grad_logits);
    assert_eq!(full.as_slice(), frozen.as_slice());
    // The convolutions skip their weight gradients (BatchNorm's two sums are part of its input
    // gradient anyway, so it may keep them).
    for p in
        b.d.net
            .named_params()
            .into_iter()
            .filter(|p| p.value.shape().len() == 4)
    {
        assert!(
            p.grad.as_slice().iter().all(|&g| g == 0.0),
            "{} has a gradient, but a frozen D must not compute one",
            p.name
        );
    }
}

/// Multiply-adds of a convolution pass: N C_out H' W' C_in kH kW.
fn conv_macs(n: usize, c_in: usize, c_out: usize, out: usize, k: usize) -> f64 {
    (n * c_out * out * out * c_in * k * k) as f64
}

#[test]
fn the_profiler_counts_the_flops_of_every_pass_the_iteration_runs() {
    // 8 x 8 images: s0 = 2 and two doublings. G is ConvT 100->8 (k2: 1x1 -> 2x2), 8->4
    // (2 -> 4), 4->1 (4 -> 8); D is Conv 1->4 (8 -> 4), 4->8 (4 -> 2), 8->1 (k2: 2 -> 1).
    let mut trainer = tiny().trainer(1).unwrap();
    let (work, params) = iteration_work(&mut trainer);
    assert!(params > 0);
    let n = 4;
    // (id, forward multiply-adds, products per iteration)
    let g0 = conv_macs(n, 8, 100, 1, 2); // the adjoint of a conv 8->100 with 1x1 output
    let g1 = conv_macs(n, 4, 8, 2, 4);
    let g2 = conv_macs(n, 1, 4, 4, 4);
    let d0 = conv_macs(n, 1, 4, 4, 4);
    let d1 = conv_macs(n, 4, 8, 2, 4);
    let d2 = conv_macs(n, 8, 1, 1, 2);
    // G: forward twice; G step: full backward except the first layer (weights only).
    // D: forward three times; D step: weights only twice (+ input for the layers above the
    // first); G step: input gradient once.
    let expected = [
        ("G.0", g0 * 3.0),
        ("G.3", g1 * 4.0),
        ("G.6", g2 * 4.0),
        ("D.0", d0 * 6.0),
        ("D.2", d1 * 8.0),
        ("D.5", d2 * 8.0),
    ];
    for (id, macs) in expected {
        let row = work.iter().find(|w| w.id == id).unwrap_or_else(|| {
            panic!(
                "no layer {id} in {:?}",
                work.iter().map(|w| &w.id).collect::<Vec<_>>()
            )
        });
        assert_eq!(row.flops, 2.0 * macs, "{id} {}", row.layer);
    }
    // Layers that are not products count nothing.
    let products: f64 = expected.iter().map(|(_, m)| 2.0 * m).sum();
    assert_eq!(work.iter().map(|w| w.flops).sum::<f64>(), products);
    assert!(layer_work(&[]).is_empty());
}

#[test]
fn an_iteration_is_bitwise_the_same_on_any_thread_count() {
    let params = |threads: usize| {
        with_threads(threads, || {
            let mut t = tiny().trainer(5).unwrap();
            for _ in 0..2 {
                t.train_step();
            }
            let mut all: Vec<f32> = Vec::new();
            for p in
                t.g.net
                    .named_params()
                    .into_iter()
                    .chain(t.d.net.named_params())
            {
                all.extend_from_slice(p.value.as_slice());
            }
            all
        })
    };
    let one = params(1);
    assert_eq!(one, params(2));
    assert_eq!(one, params(3));
}

#[test]
fn a_profile_accounts_for_the_whole_iteration() {
    let p = profile(tiny(), 2);
    assert!(p.iteration_seconds > 0.0);
    let sum: f64 = p.rows.iter().map(|r| r.seconds).sum();
    assert!(p.rows.iter().all(|r| r.seconds >= 0.0));
    // The layer rows are medians, so their sum need not equal the median iteration exactly.
    assert!(
        sum <= 1.5 * p.iteration_seconds,
        "rows {sum} s, iteration {} s",
        p.iteration_seconds
    );
    assert!(p
        .rows
        .iter()
        .any(|r| r.what.starts_with("D.2") && r.pass == "backward"));
}

#[test]
fn peak_memory_is_read_from_the_system() {
    if cfg!(target_os = "linux") {
        let bytes = peak_resident_bytes().expect("VmHWM in /proc/self/status");
        assert!(bytes > 1 << 20, "{bytes} bytes");
    }
}

#[test]
fn bench_rejects_an_unknown_workload() {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["bench", "--profile", "W99"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("W99") && text.contains("W28, W32 or W64"),
        "{text}"
    );
}

#[test]
fn bench_writes_its_tables_as_json() {
    let dir = std::env::temp_dir().join(format!("gan-ch13-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args([
            "bench",
            "--sizes",
            "8",
            "--no-layers",
            "--iterations",
            "none",
            "--runs",
            "1",
            "--json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = gan::io::json::Json::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in [
        "peak_gflops",
        "gemm",
        "layers",
        "iterations",
        "peak_resident_bytes",
        "probes",
    ] {
        assert!(json.get(key).is_some(), "no {key} in the bench's JSON");
    }
    assert!(!json.get("gemm").unwrap().as_array().unwrap().is_empty());
    // Two machine probes: at the start and after the GEMM table (no iterations, no layers).
    let probes = json.get("probes").unwrap().as_array().unwrap();
    let after: Vec<_> = probes
        .iter()
        .map(|p| p.get("after").and_then(|a| a.as_str()))
        .collect();
    assert_eq!(after, [Some("start"), Some("GEMM")], "{probes:?}");
    assert!(probes.iter().all(|p| p.get("speedup").is_some()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("machine probe"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exercise_conv2d_pass_flops_matches_the_layers_count() {
    let shapes = [
        (64, 3, 64, 64, 4, 2, 1),
        (1, 1, 1, 1, 1, 1, 0),
        (7, 5, 3, 13, 3, 1, 1),
    ];
    for (n, c_in, c_out, size, k, s, p) in shapes {
        let layer = Conv2d::<f32>::new(c_in, c_out, k, s, p, false);
        let (h, w) = layer.output_hw((size, size));
        let counted = 2.0 * layer.multiply_adds(&[n, c_in, size, size]) as f64;
        assert_eq!(
            conv2d_pass_flops(n, c_in, c_out, (h, w), (k, k)),
            counted,
            "N {n}, C_in {c_in}, C_out {c_out}, output {h}x{w}, kernel {k}: count 2 FLOPs per \
             multiply-add, N * C_out * H' * W' dot products of length C_in * kH * kW"
        );
    }
}

#[test]
fn exercise_roofline_fraction_takes_the_slower_limit() {
    // Compute-bound: 1 GFLOP, 1 MB at 100 GFLOP/s and 10 GB/s: 10 ms of arithmetic, 0.1 ms of traffic.
    let f = roofline_fraction(1e9, 1e6, 100.0, 10.0);
    assert!(
        (f - 1.0).abs() < 1e-12,
        "a compute-bound pass can reach the peak; got {f}"
    );
    // Memory-bound: 1 GFLOP, 1 GB: 10 ms of arithmetic but 100 ms of traffic -> 10% of peak.
    let f = roofline_fraction(1e9, 1e9, 100.0, 10.0);
    assert!(
        (f - 0.1).abs() < 1e-12,
        "1 GFLOP and 1 GB at 100 GFLOP/s and 10 GB/s take 0.1 s, so 10 GFLOP/s = 10% of peak; got {f}"
    );
}
