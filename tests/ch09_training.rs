//! Chapter 9, learning a GAN: Algorithm 1 (`src/gan/train.rs`), the run directory
//! (`src/gan/run.rs`) and the commands `gan train` and `gan sample`. Proves that:
//! - training is block coordinate descent: a D step changes D's parameters and none of G's (nor
//!   the noise prior), a G step changes G's (and a learnable prior's) and none of D's; the
//!   gradient D accumulates during a G step is thrown away, never carried into D's next step;
//! - k = `d_steps_per_g_step` means k D updates (and k real minibatches) per iteration;
//! - a seeded run is bitwise repeatable, and bitwise the same on 1, 2 and 3 threads;
//! - a golden trajectory: the first five steps of a tiny run reproduce the losses recorded here
//!   to 1e-5, whichever GEMM kernel runs (also with `GAN_KERNEL=generic`);
//! - Adam and SGD, the minimax and the non-saturating loss all train (finite losses, both move);
//! - on the ring of eight Gaussians, a short run pulls the generated points onto the circle;
//! - `gan train` writes its run directory (sample grids, loss.svg, log.csv, checkpoint) and
//!   `gan sample` reads the checkpoint back (PNG, .npy with labels, `--z`, `--interpolate`);
//!   a bad command line is a usage error (exit code 2).
//!
//! The `exercise_*` tests check exercises 9.1 and 9.2; run them on your own code with
//! `cargo test --release --features exercises --test ch09_training -- exercise_`.

use gan::data::{mode_coverage, ring, ring_modes};
use gan::exercises::ch09_training::{discriminator_sgd_step, value_function};
use gan::gan::loss::{d_loss_fake, d_loss_real, GeneratorLoss};
use gan::gan::run::load_training_data;
use gan::gan::train::{OptimizerKind, StepStats, TrainConfig, Trainer, TrainingData};
use gan::io::npy::{self, NpyData};
use gan::layers::activation::sigmoid;
use gan::layers::sequential::Sequential;
use gan::models::Discriminator;
use gan::optim::{Optimizer, ParamRef, Sgd};
use gan::parallel::with_threads;
use gan::rng::{noise, Rng};
use gan::Tensor;
use std::path::{Path, PathBuf};

// ---- shared pieces -------------------------------------------------------------------------------

/// A tiny class-conditional DCGAN on 64 digits: G 18 -> 8 -> 4 -> 1 channels, D 11 -> 4 -> 8.
fn tiny_config() -> TrainConfig {
    TrainConfig {
        data: "digits".into(),
        data_size: 64,
        conditional: true,
        image_size: 28,
        steps: 5,
        batch: 8,
        nz: 8,
        ngf: 4,
        ndf: 4,
        seed: 2024,
        ..TrainConfig::default()
    }
}

fn trainer(config: TrainConfig) -> Trainer<f32> {
    let data = load_training_data(&config).expect("a built-in data set");
    Trainer::new(config, data).expect("a valid configuration")
}

/// Every parameter of a network, by name, as bits (so that "unchanged" means bitwise).
fn param_bits(net: &mut Sequential<f32>) -> Vec<(String, Vec<u32>)> {
    net.named_params()
        .into_iter()
        .map(|p| {
            let bits = p.value.as_slice().iter().map(|v| v.to_bits()).collect();
            (p.name, bits)
        })
        .collect()
}

/// Every buffer (BatchNorm running statistics) of a network, as bits.
fn buffer_bits(net: &mut Sequential<f32>) -> Vec<Vec<u32>> {
    net.named_buffers()
        .into_iter()
        .map(|(_, t)| t.as_slice().iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn prior_bits(t: &Trainer<f32>) -> Vec<u32> {
    let (mu, sigma) = (t.prior.mu.as_slice(), t.prior.sigma.as_slice());
    mu.iter().chain(sigma).map(|v| v.to_bits()).collect()
}

/// The names of the parameters that differ between two snapshots.
fn changed(before: &[(String, Vec<u32>)], after: &[(String, Vec<u32>)]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.clone())
        .collect()
}

fn all_finite(s: &StepStats) -> bool {
    [
        s.d_loss,
        s.d_loss_real,
        s.d_loss_fake,
        s.g_loss,
        s.d_x,
        s.d_g_z,
    ]
    .iter()
    .all(|v| v.is_finite())
}

// ---- block coordinate descent --------------------------------------------------------------------

#[test]
fn a_d_step_moves_only_d_and_a_g_step_moves_only_g() {
    let mut t = trainer(TrainConfig {
        learn_prior: true, // the prior's mu and sigma belong to G's block
        ..tiny_config()
    });
    let (g0, d0, p0) = (
        param_bits(&mut t.g.net),
        param_bits(&mut t.d.net),
        prior_bits(&t),
    );

    let g_buffers = buffer_bits(&mut t.g.net);
    let mut stats = StepStats::default();
    t.discriminator_step(&mut stats);
    let (g1, d1, p1) = (
        param_bits(&mut t.g.net),
        param_bits(&mut t.d.net),
        prior_bits(&t),
    );
    // G made the fakes in training mode, so its BatchNorm running statistics moved (as in
    // PyTorch's DCGAN example): buffers, which no optimiser touches, not parameters.
    assert_ne!(g_buffers, buffer_bits(&mut t.g.net));
    assert_eq!(
        changed(&g0, &g1),
        Vec::<String>::new(),
        "a D step changed G"
    );
    assert_eq!(p0, p1, "a D step changed the noise prior");
    assert_eq!(
        changed(&d0, &d1).len(),
        d0.len(),
        "a D step should move every parameter of D; it moved only {:?}",
        changed(&d0, &d1)
    );

    t.generator_step(&mut stats);
    let (g2, d2, p2) = (
        param_bits(&mut t.g.net),
        param_bits(&mut t.d.net),
        prior_bits(&t),
    );
    assert_eq!(
        changed(&d1, &d2),
        Vec::<String>::new(),
        "a G step changed D"
    );
    assert_eq!(
        changed(&g1, &g2).len(),
        g1.len(),
        "a G step should move every parameter of G; it moved only {:?}",
        changed(&g1, &g2)
    );
    assert_ne!(
        p1, p2,
        "a G step with --learn-prior should move mu and sigma"
    );
    assert!(all_finite(&stats), "{stats:?}");
}

#[test]
fn the_gradient_d_collects_in_a_g_step_is_discarded() {
    // In the G step, D runs backward to hand G dL/d(image), and on the way it adds gradients to
    // its own parameters. Those belong to G's loss, not D's: D's next step must not see them.
    let mut a = trainer(tiny_config());
    let mut b = trainer(tiny_config());
    let mut stats = StepStats::default();
    for t in [&mut a, &mut b] {
        t.discriminator_step(&mut stats);
        t.generator_step(&mut stats);
    }
    let leftover: f64 =
        a.d.net
            .named_params()
            .iter()
            .map(|p| p.grad.max_abs() as f64)
            .fold(0.0, f64::max);
    assert!(leftover > 0.0, "the G step should leave gradients in D");
    b.d.net.zero_grad(); // clean by hand in b only
    a.discriminator_step(&mut stats);
    b.discriminator_step(&mut stats);
    assert_eq!(
        param_bits(&mut a.d.net),
        param_bits(&mut b.d.net),
        "D's step depended on the gradient left over from the G step"
    );
}

#[test]
fn k_discriminator_steps_per_generator_step() {
    for k in [1, 2, 3] {
        let mut t = trainer(TrainConfig {
            d_steps_per_g_step: k,
            ..tiny_config()
        });
        let iterations = 3;
        for _ in 0..iterations {
            t.train_step();
        }
        assert_eq!(
            (t.opt_d.state().step, t.opt_g.state().step),
            ((k * iterations) as u64, iterations as u64),
            "k = {k}: (D updates, G updates) after {iterations} iterations"
        );
        // Each D step draws one real minibatch of 8 from the 64 digits (8 per epoch).
        let batcher = t.batcher.state();
        let drawn = batcher.epoch as usize * 8 + batcher.position / 8;
        assert_eq!(drawn, k * iterations, "k = {k}: real minibatches drawn");
        assert_eq!(t.step, iterations);
    }
}

// ---- determinism ---------------------------------------------------------------------------------

/// Five iterations from a fresh trainer: the statistics and every parameter's bits.
fn run_tiny(config: TrainConfig) -> (Vec<StepStats>, Vec<(String, Vec<u32>)>) {
    let mut t = trainer(config);
    let stats = (0..5).map(|_| t.train_step()).collect();
    let mut bits = param_bits(&mut t.g.net);
    bits.extend(param_bits(&mut t.d.net));
    (stats, bits)
}

#[test]
fn a_seeded_run_is_bitwise_repeatable() {
    let (s1, p1) = run_tiny(tiny_config());
    let (s2, p2) = run_tiny(tiny_config());
    assert_eq!(s1, s2);
    assert_eq!(p1, p2);
    let (s3, _) = run_tiny(TrainConfig {
        seed: 2025,
        ..tiny_config()
    });
    assert_ne!(s1, s3, "another seed should give another run");
}

#[test]
fn thread_count_does_not_change_a_single_bit() {
    // Wide enough that the GEMMs inside the convolutions split their work across threads (D's
    // second convolution is a [32 x 256] by [256 x 784] product, over the parallel threshold).
    let config = TrainConfig {
        nz: 16,
        ngf: 16,
        ndf: 16,
        batch: 16,
        ..tiny_config()
    };
    let one = with_threads(1, || run_tiny(config.clone()));
    for n in [2, 3] {
        let many = with_threads(n, || run_tiny(config.clone()));
        assert_eq!(one.0, many.0, "statistics, 1 vs {n} threads");
        assert_eq!(one.1, many.1, "parameters, 1 vs {n} threads");
    }
}

/// (d_loss, g_loss, D(x), D(G(z))) of the first five iterations of `tiny_config()`, recorded
/// with `cargo test --release --test ch09_training golden -- --nocapture` (the test prints what
/// it finds) on an x86-64 machine with AVX2 and FMA, in f32, and checked there with
/// `GAN_KERNEL=generic` as well (the scalar kernel adds in a different order and rounds without
/// fused multiply-adds; the two agree to about 1e-7).
const GOLDEN: [[f64; 4]; 5] = [
    [
        1.4515467286109924,
        0.6872996687889099,
        0.5127389132976532,
        0.5382954552769661,
    ],
    [
        1.338831901550293,
        0.6750519871711731,
        0.5467486530542374,
        0.5189335942268372,
    ],
    [
        1.3632292747497559,
        0.6491073369979858,
        0.5277006328105927,
        0.5125160031020641,
    ],
    [
        1.3467792868614197,
        0.6490108370780945,
        0.5357228294014931,
        0.5127101503312588,
    ],
    [
        1.449213981628418,
        0.6461315751075745,
        0.49437734484672546,
        0.521937906742096,
    ],
];

#[test]
fn golden_trajectory_of_a_tiny_run() {
    let (stats, _) = run_tiny(tiny_config());
    let found: Vec<[f64; 4]> = stats
        .iter()
        .map(|s| [s.d_loss, s.g_loss, s.d_x, s.d_g_z])
        .collect();
    println!(
        "kernel {}; found:\n{found:?}",
        gan::gemm::kernel::best_kernel::<f32>().name
    );
    for (step, (f, g)) in found.iter().zip(&GOLDEN).enumerate() {
        for (k, name) in ["d_loss", "g_loss", "D(x)", "D(G(z))"].iter().enumerate() {
            let rel = (f[k] - g[k]).abs() / g[k].abs().max(1e-30);
            assert!(
                rel < 1e-5,
                "step {}: {name} is {} but was recorded as {} (relative difference {rel:.1e})",
                step + 1,
                f[k],
                g[k]
            );
        }
    }
}

// ---- optimisers and losses -----------------------------------------------------------------------

#[test]
fn adam_and_sgd_with_both_losses_train() {
    for optimizer in [OptimizerKind::Adam, OptimizerKind::Sgd] {
        for loss in [GeneratorLoss::Minimax, GeneratorLoss::NonSaturating] {
            let mut t = trainer(TrainConfig {
                optimizer,
                loss,
                lr_g: 0.01,
                lr_d: 0.01,
                ..tiny_config()
            });
            let (g0, d0) = (param_bits(&mut t.g.net), param_bits(&mut t.d.net));
            let stats: Vec<StepStats> = (0..3).map(|_| t.train_step()).collect();
            let what = format!("{optimizer:?} with the {} loss", loss.name());
            assert!(stats.iter().all(all_finite), "{what}: {stats:?}");
            assert!(
                !changed(&g0, &param_bits(&mut t.g.net)).is_empty()
                    && !changed(&d0, &param_bits(&mut t.d.net)).is_empty(),
                "{what}: both players should move"
            );
            // The generator's loss is the one asked for, on the same logits as D(G(z)):
            // minimax log(1 - D(G(z))) is negative, non-saturating -log D(G(z)) positive.
            let last = stats.last().unwrap();
            match loss {
                GeneratorLoss::Minimax => assert!(last.g_loss < 0.0, "{what}: {last:?}"),
                GeneratorLoss::NonSaturating => assert!(last.g_loss > 0.0, "{what}: {last:?}"),
            }
        }
    }
}

// ---- the ring ------------------------------------------------------------------------------------

/// Mean distance from each point to its nearest mode of the ring.
fn mean_distance_to_nearest_mode(x: &Tensor<f32>) -> f64 {
    let modes = ring_modes();
    let total: f64 = (0..x.rows())
        .map(|i| {
            let (px, py) = (x.at(i, 0) as f64, x.at(i, 1) as f64);
            modes
                .iter()
                .map(|m| ((px - m[0]).powi(2) + (py - m[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    total / x.rows() as f64
}

#[test]
fn on_the_ring_training_pulls_the_samples_onto_the_modes() {
    let config = TrainConfig {
        data: "ring".into(),
        data_size: 4096,
        conditional: false,
        image_size: 0,
        batch: 128,
        nz: 8,
        hidden: 32,
        lr_g: 1e-3,
        lr_d: 1e-3,
        seed: 1,
        ..TrainConfig::default()
    };
    let mut t = Trainer::<f32>::new(
        config.clone(),
        TrainingData::Points(ring(config.data_size, 1)),
    )
    .unwrap();
    let eps = noise::<f32>(&mut Rng::new(99), 1000, config.nz, 1.0);
    let before = t.sample(&eps, None);
    for _ in 0..2000 {
        t.train_step();
    }
    let after = t.sample(&eps, None);
    let (d0, d1) = (
        mean_distance_to_nearest_mode(&before),
        mean_distance_to_nearest_mode(&after),
    );
    // Within 3 x 0.1 of a mode: a loose notion of "on a mode" for so short a run.
    let (near0, near1) = (mode_coverage(&before, 0.1).1, mode_coverage(&after, 0.1).1);
    println!("mean distance to the nearest mode {d0:.3} -> {d1:.3}; within 0.3: {near0:.3} -> {near1:.3}");
    assert!(
        d1 < 0.4 * d0,
        "2000 steps should bring the samples much closer to the modes: mean distance {d0:.3} -> {d1:.3}"
    );
    assert!(
        near0 == 0.0 && near1 > 0.15,
        "share of samples within 0.3 of a mode: {near0:.3} -> {near1:.3}"
    );
}

// ---- gan train and gan sample --------------------------------------------------------------------

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gan-ch09-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn gan(args: &[&str]) -> gan::Result<()> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    gan::commands::run(&args)
}

/// (width, height) from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

fn floats(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let array = npy::load(path).unwrap();
    match array.data {
        NpyData::F64(v) => (array.shape, v),
        other => panic!(
            "{}: expected floats, found {}",
            path.display(),
            other.kind()
        ),
    }
}

#[test]
fn gan_train_writes_a_run_directory_and_gan_sample_reads_it() {
    let dir = temp_dir("train");
    let out = dir.join("run");
    let out_text = out.to_str().unwrap();
    gan(&[
        "train",
        "--data",
        "digits",
        "--data-size",
        "32",
        "--steps",
        "4",
        "--batch",
        "8",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--sample-every",
        "2",
        "--save-every",
        "0",
        "--seed",
        "3",
        "--quiet",
        "--out",
        out_text,
    ])
    .unwrap();

    // One row of 10 per class, 28 x 28 tiles with a 2-pixel border: 10 * 30 + 2 = 302.
    for name in ["samples_000002.png", "samples_000004.png", "samples.png"] {
        assert_eq!(png_size(&out.join(name)), (302, 302), "{name}");
    }
    let svg = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "loss.svg"
    );
    assert!(
        svg.contains("D(G(z))"),
        "loss.svg should have a D(G(z)) curve"
    );
    let log = std::fs::read_to_string(out.join("log.csv")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines[0],
        "step,d_loss,d_loss_real,d_loss_fake,g_loss,d_x,d_g_z"
    );
    assert_eq!(lines.len(), 5, "a header and one row per step:\n{log}");
    for (i, row) in lines[1..].iter().enumerate() {
        let values: Vec<f64> = row.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), 7, "{row}");
        assert_eq!(values[0], (i + 1) as f64, "{row}");
        assert!(values.iter().all(|v| v.is_finite()), "{row}");
        assert!(
            (values[1] - values[2] - values[3]).abs() < 1e-9,
            "d_loss = real + fake: {row}"
        );
    }
    let checkpoint = out.join("checkpoint.safetensors");
    assert!(checkpoint.is_file(), "no checkpoint");
    let ckpt = checkpoint.to_str().unwrap();

    // gan sample: a PNG grid and .npy with labels.
    let (png, npy_path) = (dir.join("s.png"), dir.join("s.npy"));
    gan(&[
        "sample",
        "--checkpoint",
        ckpt,
        "--n",
        "12",
        "--seed",
        "5",
        "--png",
        png.to_str().unwrap(),
        "--npy",
        npy_path.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(
        png_size(&png),
        (8 * 30 + 2, 2 * 30 + 2),
        "12 samples, 8 per row"
    );
    let (shape, images) = floats(&npy_path);
    assert_eq!(shape, [12, 1, 28, 28]);
    assert!(images.iter().all(|v| (-1.0..=1.0).contains(v)));
    let labels = npy::load(&dir.join("s.labels.npy")).unwrap();
    assert_eq!(
        labels.data,
        NpyData::I64((0..12).map(|i| i % 10).collect()),
        "labels cycle 0, 1, ..., 9, 0, 1"
    );

    // --z: the noise from a file; the same file gives the same images.
    let z: Vec<f32> = (0..3 * 8)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
        .collect();
    let z_path = dir.join("z.npy");
    std::fs::write(&z_path, npy::encode_f32(&[3, 8], &z)).unwrap();
    let run_z = |name: &str| {
        let path = dir.join(name);
        gan(&[
            "sample",
            "--checkpoint",
            ckpt,
            "--z",
            z_path.to_str().unwrap(),
            "--npy",
            path.to_str().unwrap(),
        ])
        .unwrap();
        floats(&path)
    };
    let (shape_z, a) = run_z("z1.npy");
    let (_, b) = run_z("z2.npy");
    assert_eq!(shape_z, [3, 1, 28, 28]);
    assert_eq!(a, b, "the same z and labels should give the same images");

    // --interpolate 0,1: ten images walking from sample 0's z to sample 1's, with sample 0's
    // label; the first is sample 0 itself (evaluation mode: no image depends on the others).
    let walk = dir.join("walk.npy");
    gan(&[
        "sample",
        "--checkpoint",
        ckpt,
        "--n",
        "12",
        "--seed",
        "5",
        "--interpolate",
        "0,1",
        "--npy",
        walk.to_str().unwrap(),
    ])
    .unwrap();
    let (shape_w, w) = floats(&walk);
    assert_eq!(shape_w, [10, 1, 28, 28]);
    let first_gap = w[..784]
        .iter()
        .zip(&images[..784])
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    assert!(
        first_gap < 1e-5,
        "interpolation start vs sample 0: {first_gap}"
    );
    assert_ne!(w[..784], w[9 * 784..], "the walk should change the image");
    let walk_labels = npy::load(&dir.join("walk.labels.npy")).unwrap();
    assert_eq!(walk_labels.data, NpyData::I64(vec![0; 10]));

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_command_line_is_a_usage_error() {
    let dir = temp_dir("usage");
    let out = dir.join("never");
    let out_text = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--steps", "0"], "--steps must be at least 1"),
        (&["train", "--loss", "nonsense"], "'nonsense'"),
        (&["train", "--optimizer", "rmsprop"], "'rmsprop'"),
        (&["train", "--bogus"], "unknown option '--bogus'"),
        (
            &["train", "--data", "nonsense"],
            "neither a built-in data set",
        ),
        (&["train", "--batch", "many"], "--batch got 'many'"),
        (&["train", "--k", "0"], "--k must be at least 1"),
        (
            &["train", "--lr-g", "-1"],
            "--lr-g must be a positive number",
        ),
        (&["train", "--steps"], "--steps needs a value"),
        (
            &["sample", "--png", "x.png"],
            "--checkpoint FILE is required",
        ),
        (&["no-such-command"], "unknown command"),
    ];
    for (args, expected) in cases {
        let mut args = args.to_vec();
        if args[0] == "train" {
            args.splice(1..1, ["--out", out_text]);
        }
        let err = gan(&args).expect_err(&format!("{args:?} should fail"));
        let message = err.to_string();
        assert_eq!(err.exit_code(), 2, "{args:?}: {message}");
        assert!(
            message.contains(expected),
            "{args:?}: the message should mention {expected:?}, found:\n{message}"
        );
    }
    assert!(
        !out.exists(),
        "a refused command line wrote a run directory"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- exercises -----------------------------------------------------------------------------------

#[test]
fn exercise_value_function_at_the_equilibrium_is_minus_log_4() {
    // When D cannot tell real from fake, D = 1/2 everywhere and V = 2 log(1/2) = -log 4.
    let v = value_function(&[0.5; 7], &[0.5; 3]);
    assert!(
        (v + 4f64.ln()).abs() < 1e-12,
        "V(D = 1/2) should be -log 4 = {}, found {v}: V = mean log D(x') + mean log(1 - D(G(z)))",
        -4f64.ln()
    );
    let perfect = value_function(&[1.0, 1.0], &[0.0, 0.0, 0.0]);
    assert!(
        perfect.abs() < 1e-12,
        "a perfect D (1 on real, 0 on fake) has V = 0, found {perfect}"
    );
}

#[test]
fn exercise_value_function_matches_the_library_losses() {
    // The library works on logits: V = -(d_loss_real + d_loss_fake).
    let real_logits = Tensor::from_vec(&[5, 1], vec![2.0, -0.5, 0.3, 1.7, 0.0]).unwrap();
    let fake_logits = Tensor::from_vec(&[3, 1], vec![-1.5, 0.4, -3.0]).unwrap();
    let d_real: Vec<f64> = real_logits.as_slice().iter().map(|&l| sigmoid(l)).collect();
    let d_fake: Vec<f64> = fake_logits.as_slice().iter().map(|&l| sigmoid(l)).collect();
    let v = value_function(&d_real, &d_fake);
    let library = -(d_loss_real(&real_logits) + d_loss_fake(&fake_logits));
    assert!(
        (v - library).abs() < 1e-12,
        "value_function gives {v}, the library {library}: each mean is over its own minibatch \
         (here 5 real and 3 fake)"
    );
}

/// Two copies of the same small 2-D discriminator, and a batch of real and fake points.
fn d_pair() -> (
    Discriminator<f64>,
    Discriminator<f64>,
    Tensor<f64>,
    Tensor<f64>,
) {
    let make = || Discriminator::<f64>::mlp_2d(16, &mut Rng::new(4));
    let real = ring(32, 1).x.cast::<f64>();
    let fake = noise::<f64>(&mut Rng::new(5), 32, 2, 1.0);
    (make(), make(), real, fake)
}

#[test]
fn exercise_one_d_step_by_hand_matches_sgd() {
    let (mut mine, mut library, real, fake) = d_pair();
    // Leave stale gradients in D, as a G step does (it backpropagates through D).
    let logits = mine.forward(&fake, None);
    mine.backward(&logits.map(|_| 1.0));
    let lr = 0.05;
    let loss = discriminator_sgd_step(&mut mine, &real, &fake, lr);

    // The same step the library's way: the D step of Algorithm 1 with plain SGD.
    library.net.zero_grad();
    let real_logits = library.forward(&real, None);
    library.backward(&gan::gan::loss::grad_d_loss_real(&real_logits));
    let fake_logits = library.forward(&fake, None);
    library.backward(&gan::gan::loss::grad_d_loss_fake(&fake_logits));
    let expected_loss = d_loss_real(&real_logits) + d_loss_fake(&fake_logits);
    let mut params: Vec<ParamRef<f64>> = library
        .net
        .named_params()
        .into_iter()
        .map(ParamRef::from)
        .collect();
    Sgd::new(lr, 0.0).step(&mut params);

    assert!(
        (loss - expected_loss).abs() < 1e-12,
        "the returned d_loss should be d_loss_real + d_loss_fake BEFORE the step: {loss} vs {expected_loss}"
    );
    let (a, b) = (mine.net.named_params(), library.net.named_params());
    for (p, q) in a.iter().zip(&b) {
        let gap = p.value.max_abs_diff(q.value);
        assert!(
            gap < 1e-12,
            "{}: differs from one SGD step by {gap:.2e}. Zero D's gradients first (this D holds \
             stale ones, as after a G step), backpropagate BOTH the real and the fake loss, then \
             move every parameter by -lr * grad",
            p.name
        );
    }
}

#[test]
fn exercise_one_d_step_by_hand_lowers_d_loss_twice_in_a_row() {
    let (mut d, _, real, fake) = d_pair();
    let losses: Vec<f64> = (0..3)
        .map(|_| discriminator_sgd_step(&mut d, &real, &fake, 0.05))
        .collect();
    assert!(
        losses[1] < losses[0] && losses[2] < losses[1],
        "descending d_loss (ascending V) on a fixed batch should lower it: {losses:?}. \
         If it grows, check the sign of the update; if it explodes after the first step, check \
         that you zero the gradients before each step"
    );
}
