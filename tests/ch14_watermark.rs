//! Chapter 14, watermarks (`src/watermark/`, `gan watermark`, `gan train --watermark`). Proves that:
//! - the binomial tail P(X >= k) is exact: hand-computed cases (2^-32, 1, symmetry), exact
//!   integer sums of binomial coefficients for every n <= 60, direct sums for other p, and
//!   tails far below f64's smallest number in log space;
//! - keys parse from and print to hex, and a key of the wrong length is a clear error;
//! - every backward pass is right (f64 gradient checks): the encoder, the decoder, blur and
//!   shift (their exact adjoints), the whole watermarking loss (both readings of the mark and
//!   the clamp to [-1, 1] included), and the watermark term of G's loss through the
//!   image-processing layer and the frozen decoder into G's parameters (the decoder's
//!   parameters never move);
//! - the standard image-processing mix draws its five kinds of damage equally often;
//! - a short seeded run on 12 x 12 digits learns the mark: the watermarking network reads 8-bit
//!   keys, a generator trained with the frozen decoder carries the key (bit accuracy well above
//!   chance) while an unwatermarked control stays near 0.5;
//! - bad input (a key of the wrong length, a decoder for another image size, images of the wrong
//!   shape) is a clear error; decoders round-trip through safetensors; PNGs (compressed ones too)
//!   are read back; `gan watermark train`, `gan train --watermark`, `gan sample` and
//!   `gan watermark verify` work end to end, and a resumed run keeps its watermark;
//! - the real-image marker (`--watermark-encoder`) marks as the watermarking network does,
//!   clamp(x + E(x, key), -1, 1), and refuses an encoder for other images or keys;
//! - the mixed watermark term (a clean share beside the damaged reading) passes the gradient
//!   check, and a share of 0 is the damaged term bit for bit.
//!
//! The `exercise_*` tests check exercises 14.1 and 14.2; run them on your own code with
//! `cargo test --release --features exercises --test ch14_watermark -- exercise_`.

use gan::check::{set_params, CheckOptions, Checked};
use gan::data::{files::resize_square, Dataset};
use gan::exercises::ch14_watermark::{binomial_tail_exact, brightness, grad_brightness};
use gan::gan::checkpoint::Checkpoint;
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::io::json::Json;
use gan::io::png_read::{decode_png, inflate};
use gan::models::{Generator, GeneratorConfig};
use gan::rng::{noise, Rng};
use gan::watermark::png;
use gan::watermark::store::{load_decoder, save_decoder, save_encoder};
use gan::watermark::train::random_keys;
use gan::watermark::*;
use gan::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::TestRng;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gan-ch14-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// C(n, j) for j = 0..=n in exact integers (Pascal's triangle).
fn binomial_row(n: usize) -> Vec<u128> {
    let mut row = vec![1u128];
    for _ in 0..n {
        let mut next = vec![1u128; row.len() + 1];
        for j in 1..row.len() {
            next[j] = row[j - 1] + row[j];
        }
        row = next;
    }
    row
}

// ---- the binomial tail ---------------------------------------------------------------------------

#[test]
fn binomial_tail_hand_cases() {
    assert_eq!(binomial_tail(32, 0, 0.5), 1.0, "X >= 0 always");
    let all = binomial_tail(32, 32, 0.5);
    assert!(
        (all / 2f64.powi(-32) - 1.0).abs() < 1e-13,
        "P(X >= 32) = {all:e}"
    );
    assert_eq!(binomial_tail(32, 33, 0.5), 0.0, "more matches than bits");
    // One flip: P(X >= 1) = p.
    assert!((binomial_tail(1, 1, 0.3) - 0.3).abs() < 1e-15);
    // n = 4: P(X >= 3) = (4 + 1) / 16.
    assert!((binomial_tail(4, 3, 0.5) - 5.0 / 16.0).abs() < 1e-15);
    // Symmetry at p = 1/2: P(X >= k) = P(X <= n - k) = 1 - P(X >= n - k + 1).
    for n in [1u64, 7, 32, 101] {
        for k in 0..=n {
            let sum = binomial_tail(n, k, 0.5) + binomial_tail(n, n - k + 1, 0.5);
            assert!((sum - 1.0).abs() < 1e-12, "n {n}, k {k}: {sum}");
        }
    }
    // p = 0 and p = 1.
    assert_eq!(binomial_tail(10, 1, 0.0), 0.0);
    assert_eq!(binomial_tail(10, 10, 1.0), 1.0);
}

#[test]
fn binomial_tail_matches_exact_integer_sums() {
    let mut worst: f64 = 0.0;
    for n in 0..=60usize {
        let row = binomial_row(n);
        for k in 0..=n {
            // 2^-n sum_{j >= k} C(n, j), the sum exact in integers, one rounding at the end.
            let exact = row[k..].iter().sum::<u128>() as f64 / 2f64.powi(n as i32);
            let ours = binomial_tail(n as u64, k as u64, 0.5);
            worst = worst.max((ours - exact).abs() / exact);
        }
    }
    assert!(worst < 1e-12, "worst relative error {worst:e}");
    // Other p: against the direct sum of C(n, j) p^j (1 - p)^(n - j).
    for p in [0.1f64, 0.37, 0.9] {
        for n in [5usize, 20, 40] {
            let row = binomial_row(n);
            for k in 0..=n {
                let direct: f64 = (k..=n)
                    .map(|j| row[j] as f64 * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32))
                    .sum();
                let ours = binomial_tail(n as u64, k as u64, p);
                assert!(
                    (ours - direct).abs() <= 1e-12 * direct,
                    "n {n}, k {k}, p {p}: {ours:e} vs {direct:e}"
                );
            }
        }
    }
}

#[test]
fn tiny_tails_survive_in_log_space() {
    // P(X >= 1000) = 2^-1000 underflows nothing in log space.
    let ln = ln_binomial_tail(1000, 1000, 0.5);
    assert!((ln + 1000.0 * 2f64.ln()).abs() < 1e-9, "{ln}");
    // C(1000, 500) is about 2.7e299: no overflow on the way.
    let half = binomial_tail(1000, 500, 0.5);
    assert!(half > 0.5 && half < 0.53, "{half}");
    assert_eq!(ln_binomial_tail(10, 11, 0.5), f64::NEG_INFINITY);
    // The verification threshold of the chapter: 30 of 32 bits give p < 1e-6, 29 do not.
    assert!(match_p_value(30, 32) < 1e-6 && match_p_value(29, 32) > 1e-6);
}

// ---- keys -----------------------------------------------------------------------------------------

#[test]
fn keys_round_trip_through_hex_and_wrong_lengths_are_refused() {
    let key = Key::parse("8000_00ff", 32).unwrap();
    assert!(key.bits()[0] && !key.bits()[1] && key.bits()[31]);
    assert_eq!(key.to_hex(), "800000ff");
    assert_eq!(Key::parse("0x800000FF", 32).unwrap(), key);
    let mut rng = Rng::new(3);
    for n in [4usize, 8, 32, 64] {
        let k = Key::random(n, &mut rng);
        assert_eq!(Key::parse(&k.to_hex(), n).unwrap(), k);
    }
    let err = Key::parse("abc", 32).unwrap_err().to_string();
    assert!(
        err.contains("3 hex digits") && err.contains("32 bits") && err.contains("give 8"),
        "{err}"
    );
    let err = Key::parse("12345678g", 36).unwrap_err().to_string();
    assert!(err.contains("'g'"), "{err}");
    // The decoder reads logit > 0 as 1.
    assert_eq!(key.matches(&[1.0f32; 32]), 9);
}

// ---- gradient checks (f64) -----------------------------------------------------------------------

fn tiny_decoder(rng: &mut Rng) -> Decoder<f64> {
    let config = DecoderConfig {
        image_size: 8,
        channels: 1,
        bits: 4,
        width: 2,
    };
    Decoder::new(config, rng).unwrap()
}

#[test]
fn decoder_backward_passes_the_gradient_check() {
    let mut rng = Rng::new(11);
    let mut dec = tiny_decoder(&mut rng);
    let x: Tensor<f64> = TestRng::new(1).tensor(&[2, 1, 8, 8]);
    let w: Tensor<f64> = TestRng::new(2).tensor(&[2, 4]);
    dec.net.zero_grad();
    let logits = dec.forward(&x);
    let grad_x = dec.backward(&w);
    assert_eq!(logits.shape(), &[2, 4]);
    let report = Checked::new()
        .tensor("images", x, grad_x)
        .network(&mut dec.net)
        .run(
            |v| {
                set_params(&mut dec.net, &v[1..]);
                dec.forward(&v[0]).dot(&w)
            },
            &CheckOptions::default(),
        );
    report.assert_below(1e-6);
}

#[test]
fn encoder_backward_passes_the_gradient_check() {
    let mut rng = Rng::new(12);
    let mut enc = Encoder::<f64>::new(1, 6, 4, 3, 0.2, &mut rng);
    let x: Tensor<f64> = TestRng::new(3).tensor(&[2, 1, 6, 6]);
    let keys: Tensor<f64> = random_keys(&mut rng, 2, 4);
    let w: Tensor<f64> = TestRng::new(4).tensor(&[2, 1, 6, 6]);
    enc.zero_grad();
    enc.forward(&x, &keys);
    let grad_x = enc.backward(&w);
    let report = Checked::new()
        .tensor("images", x, grad_x)
        .network(&mut enc.key_net)
        .network(&mut enc.net)
        .run(
            |v| {
                let k = enc.key_net.named_params().len();
                set_params(&mut enc.key_net, &v[1..1 + k]);
                set_params(&mut enc.net, &v[1 + k..]);
                enc.forward(&v[0], &keys).dot(&w)
            },
            &CheckOptions::default(),
        );
    report.assert_below(1e-6);
}

#[test]
fn blur_and_shift_backward_are_their_exact_adjoints() {
    let mut rng = Rng::new(5);
    for p in [
        Perturbation::Blur,
        Perturbation::Shift(1, -2),
        Perturbation::Shift(-1, 0),
        Perturbation::Noise(0.1),
        Perturbation::Identity,
    ] {
        let mut layer = ImageProcessing::new(vec![p]);
        let x: Tensor<f64> = TestRng::new(6).tensor(&[2, 3, 5, 7]);
        let g: Tensor<f64> = TestRng::new(7).tensor(&[2, 3, 5, 7]);
        // Affine maps: <P(x) - P(0), g> = <x, P^T g> (noise drawn the same for both calls).
        let px = layer.forward(&x, &mut rng.fork(1));
        let p0 = layer.forward(&Tensor::zeros(x.shape()), &mut rng.fork(1));
        let grad_x = layer.backward(&g);
        let lhs = px.zip_map(&p0, |a, b| a - b).dot(&g);
        let rhs = x.dot(&grad_x);
        assert!(
            (lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0),
            "{}: {lhs} vs {rhs}",
            p.name()
        );
    }
    // A shift by (1, 1) moves the picture down and right; the edge is repeated.
    let x = Tensor::from_fn(&[1, 1, 3, 3], |i| i as f64);
    let y = Perturbation::Shift(1, 1).apply(&x, &mut rng);
    assert_eq!(y.as_slice(), &[0., 0., 1., 0., 0., 1., 3., 3., 4.]);
}

#[test]
fn the_standard_mix_draws_each_kind_of_damage_equally_often() {
    // Five kinds (none, noise, blur, quantisation, a shift): 1/5 each, the 24 shifts sharing theirs.
    let mut layer = ImageProcessing::standard(0.05, 2);
    layer.forward(&Tensor::<f64>::zeros(&[5000, 1, 2, 2]), &mut Rng::new(3));
    let count = |f: fn(&Perturbation) -> bool| layer.chosen().iter().filter(|p| f(p)).count();
    let counts = [
        count(|p| *p == Perturbation::Identity),
        count(|p| matches!(p, Perturbation::Noise(_))),
        count(|p| *p == Perturbation::Blur),
        count(|p| *p == Perturbation::Quantise),
        count(|p| matches!(p, Perturbation::Shift(..))),
    ];
    // 1000 expected of each; the standard deviation is sqrt(5000 0.2 0.8) = 28.
    assert!(counts.iter().all(|&c| c.abs_diff(1000) < 120), "{counts:?}");
    let one_shift = count(|p| *p == Perturbation::Shift(1, -2));
    assert!((20..=70).contains(&one_shift), "Shift(1, -2): {one_shift}");
}

#[test]
fn the_watermarking_loss_passes_the_gradient_check() {
    let data = Dataset::builtin("digits", 8, 1).unwrap();
    let data = resize_square(&data, 8).unwrap();
    let config = WatermarkConfig {
        bits: 4,
        hidden: 3,
        width: 2,
        batch: 2,
        warmup: 0,
        lambda: 5.0,
        ..WatermarkConfig::default()
    };
    let mut t = WatermarkTrainer::<f64>::new(config, data.clone()).unwrap();
    // A deterministic image-processing layer, so that the loss is a fixed function.
    t.processing = ImageProcessing::new(vec![Perturbation::Blur]);
    let images: Tensor<f64> = data.batch(&[0, 1]).0.cast();
    let keys = random_keys(&mut Rng::new(9), 2, 4);
    t.forward_backward(&images, &keys);
    let report = Checked::new()
        .network(&mut t.encoder.key_net)
        .network(&mut t.encoder.net)
        .network(&mut t.decoder.net)
        .run(
            |v| {
                let a = t.encoder.key_net.named_params().len();
                let b = a + t.encoder.net.named_params().len();
                set_params(&mut t.encoder.key_net, &v[..a]);
                set_params(&mut t.encoder.net, &v[a..b]);
                set_params(&mut t.decoder.net, &v[b..]);
                t.forward_backward(&images, &keys).loss
            },
            &CheckOptions {
                max_coords_per_tensor: 12,
                ..CheckOptions::default()
            },
        );
    println!("{report}");
    report.assert_below(1e-5);
}

#[test]
fn the_watermark_term_reaches_g_through_the_frozen_decoder() {
    let mut rng = Rng::new(22);
    let mut g = Generator::<f64>::new(
        GeneratorConfig {
            nz: 4,
            ngf: 4,
            image_size: 8,
            channels: 1,
            classes: 0,
        },
        &mut rng,
    )
    .unwrap();
    let mut dec = tiny_decoder(&mut rng);
    let key = Key::parse("a", 4).unwrap();
    let z: Tensor<f64> = noise(&mut rng, 3, 4, 1.0);
    let decoder_before: Vec<Tensor<f64>> = dec
        .net
        .named_params()
        .iter()
        .map(|p| p.value.clone())
        .collect();

    // G's images are damaged before the decoder reads them, as in training. The same stream
    // for every evaluation draws the same damage, so the loss is a fixed function of G's
    // parameters. Quantisation is left out: its straight-through gradient is not its derivative.
    let mut processing = ImageProcessing::new(vec![
        Perturbation::Noise(0.1),
        Perturbation::Blur,
        Perturbation::Shift(1, -1),
        Perturbation::Shift(0, 2),
    ]);
    let damage = Rng::new(5);

    g.net.zero_grad();
    let images = g.forward(&z, None);
    // Both readings: the damaged one and, with a share of 0.4, the undamaged one.
    let (loss, grad_images) = mixed_watermark_loss(
        &mut dec,
        &mut processing,
        &mut damage.clone(),
        &images,
        &key,
        0.7,
        0.4,
    );
    assert!(loss > 0.0);
    g.backward(&grad_images);
    let report = Checked::new().network(&mut g.net).run(
        |v| {
            set_params(&mut g.net, v);
            let images = g.forward(&z, None);
            mixed_watermark_loss(
                &mut dec,
                &mut processing,
                &mut damage.clone(),
                &images,
                &key,
                0.7,
                0.4,
            )
            .0
        },
        &CheckOptions::default(),
    );
    println!("{report}");
    // After BatchNorm, G's first layer gets gradients near 1e-5 on a loss near 0.7, where the
    // central difference's rounding alone is about 1e-16 * 0.7 / 1e-5 = 7e-12: relative 1e-6.
    report.assert_below(1e-5);
    let decoder_after: Vec<Tensor<f64>> = dec
        .net
        .named_params()
        .iter()
        .map(|p| p.value.clone())
        .collect();
    assert_eq!(
        decoder_before, decoder_after,
        "the frozen decoder never moves"
    );
    // A clean share of 0 is the damaged term alone, bit for bit.
    let mixed = mixed_watermark_loss(
        &mut dec,
        &mut processing,
        &mut damage.clone(),
        &images,
        &key,
        0.7,
        0.0,
    );
    let damaged = damaged_watermark_loss(
        &mut dec,
        &mut processing,
        &mut damage.clone(),
        &images,
        &key,
        0.7,
    );
    assert_eq!(mixed, damaged);
}

#[test]
fn the_real_marker_marks_as_the_watermarking_network_does() {
    let mut rng = Rng::new(31);
    let mut encoder = Encoder::<f32>::new(1, 8, 8, 4, 0.2, &mut rng);
    let dir = temp_dir("marker");
    let path = dir.join("encoder.safetensors");
    save_encoder(&mut encoder, &path).unwrap();
    let key = Key::parse("c3", 8).unwrap();
    let mut marker = RealMarker::<f32>::load(&path, key.clone(), 8, 1).unwrap();
    // Images near the ends of the range, so that the clamp bites somewhere.
    let images: Tensor<f32> = TestRng::new(4).tensor(&[3, 1, 8, 8]).map(|v: f32| 1.1 * v);
    let images = images.map(|v| v.clamp(-1.0, 1.0));
    let marked = marker.mark(&images);
    let residual = encoder.forward(&images, &key.targets(3));
    let expected = images.zip_map(&residual, |x, r| (x + r).clamp(-1.0, 1.0));
    assert_eq!(marked, expected);
    assert!(marked.as_slice().iter().all(|v| v.abs() <= 1.0));
    assert!(
        marked.max_abs_diff(&images) > 0.0,
        "the mark changes the images"
    );
    // An encoder for other images, or for another key length, is refused.
    let err = RealMarker::<f32>::load(&path, key.clone(), 12, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("12 x 12") && err.contains("8 x 8"), "{err}");
    let err = RealMarker::<f32>::load(&path, Key::parse("c3c3", 16).unwrap(), 8, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("16 bits") && err.contains("8 bits"), "{err}");
    // A decoder file is not an encoder.
    let mut dec = Decoder::<f32>::new(
        DecoderConfig {
            image_size: 8,
            channels: 1,
            bits: 8,
            width: 2,
        },
        &mut rng,
    )
    .unwrap();
    save_decoder(&mut dec, &dir.join("decoder.safetensors")).unwrap();
    let err = RealMarker::<f32>::load(&dir.join("decoder.safetensors"), key, 8, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("watermark encoder"), "{err}");
}

// ---- learning the mark ----------------------------------------------------------------------------

/// Digits at 12 x 12 (at 8 x 8 the watermarking network learns 8 bits far more slowly).
fn small_digits(n: usize, seed: u64) -> Dataset {
    resize_square(&Dataset::builtin("digits", n, seed).unwrap(), 12).unwrap()
}

/// Bit accuracy of G's samples (evaluation mode) against the key, and how many pass p < 0.01
/// (with 8 bits, only all 8 do: p = 2^-8).
fn sample_accuracy(t: &mut Trainer<f32>, dec: &mut Decoder<f32>, key: &Key) -> (f64, usize) {
    let eps = noise(&mut Rng::new(77), 200, t.config.nz, 1.0);
    let images = t.sample(&eps, None);
    let results = verify(dec, &images, key).unwrap();
    let s = summarise(&results, 0.01);
    (s.mean_bit_accuracy, s.verified)
}

#[test]
fn a_short_run_learns_the_mark_and_the_control_does_not() {
    let dir = temp_dir("learn");
    let data = small_digits(512, 4);
    let config = WatermarkConfig {
        bits: 8,
        hidden: 8,
        width: 8,
        steps: 450,
        batch: 16,
        warmup: 150,
        seed: 5,
        // Without the image-processing layer, which a run this short does not get past.
        perturb: false,
        ..WatermarkConfig::default()
    };
    let mut wm = WatermarkTrainer::<f32>::new(config, data.clone()).unwrap();
    let mut last = WatermarkStats::default();
    for _ in 0..450 {
        last = wm.train_step();
    }
    println!("watermarking network: {last:?}");
    assert!(last.bit_accuracy > 0.85, "{last:?}");
    let decoder_path = dir.join("decoder.safetensors");
    save_decoder(&mut wm.decoder, &decoder_path).unwrap();

    let key = Key::parse("b4", 8).unwrap();
    let base = TrainConfig {
        data: "12x12 digits".into(),
        conditional: false,
        image_size: 12,
        steps: 150,
        batch: 16,
        nz: 8,
        ngf: 8,
        ndf: 8,
        seed: 6,
        ..TrainConfig::default()
    };
    let marked_config = TrainConfig {
        watermark: Some(decoder_path.display().to_string()),
        key: Some(key.to_hex()),
        watermark_weight: 1.0,
        ..base.clone()
    };
    let mut decoder = load_decoder::<f32>(&decoder_path).unwrap();
    let mut results = Vec::new();
    for config in [marked_config, base] {
        let mut t = Trainer::<f32>::new(config, TrainingData::Images(data.clone())).unwrap();
        for _ in 0..150 {
            t.train_step();
        }
        results.push(sample_accuracy(&mut t, &mut decoder, &key));
    }
    let [(marked, marked_verified), (control, control_verified)] = results[..] else {
        unreachable!()
    };
    println!("marked G: {marked:.3} ({marked_verified} of 200 at p < 0.01); control: {control:.3} ({control_verified})");
    // 150 steps from scratch: far from the 0.98 a longer run reaches, far above chance.
    assert!(marked > 0.7, "the watermarked G's bit accuracy is {marked}");
    assert!(
        (control - 0.5).abs() < 0.15,
        "the control's bit accuracy is {control}"
    );
}

// ---- bad input, storage, files -------------------------------------------------------------------

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = temp_dir("bad");
    let mut rng = Rng::new(1);
    let mut dec = Decoder::<f32>::new(
        DecoderConfig {
            image_size: 8,
            channels: 1,
            bits: 8,
            width: 2,
        },
        &mut rng,
    )
    .unwrap();
    let path = dir.join("decoder.safetensors");
    save_decoder(&mut dec, &path).unwrap();
    // A decoder for another image size.
    let err = GeneratorMark::<f32>::load(&path, "ab", 1.0, 28, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("28 x 28") && err.contains("8 x 8"), "{err}");
    // A key of the wrong length for this decoder.
    let err = GeneratorMark::<f32>::load(&path, "abcd", 1.0, 8, 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("8 bits") && err.contains("give 2"), "{err}");
    // Images of the wrong shape.
    let key = Key::parse("ab", 8).unwrap();
    let err = verify(&mut dec, &Tensor::<f32>::zeros(&[3, 1, 12, 12]), &key)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[3, 1, 12, 12]") && err.contains("[N, 1, 8, 8]"),
        "{err}"
    );
    // Not a decoder at all.
    std::fs::write(dir.join("junk.safetensors"), b"not a file of tensors").unwrap();
    assert!(load_decoder::<f32>(&dir.join("junk.safetensors")).is_err());
    // Through Trainer: a watermark without a key, and marked real images without a watermark.
    let tiny = TrainConfig {
        data: "x".into(),
        conditional: false,
        image_size: 12,
        batch: 4,
        nz: 4,
        ngf: 4,
        ndf: 4,
        ..TrainConfig::default()
    };
    let trainer_error = |config: TrainConfig| {
        Trainer::<f32>::new(config, TrainingData::Images(small_digits(8, 1)))
            .err()
            .unwrap()
            .to_string()
    };
    let err = trainer_error(TrainConfig {
        watermark: Some(path.display().to_string()),
        ..tiny.clone()
    });
    assert!(err.contains("--key"), "{err}");
    let err = trainer_error(TrainConfig {
        watermark_encoder: Some(path.display().to_string()),
        ..tiny
    });
    assert!(err.contains("--watermark FILE"), "{err}");
}

#[test]
fn a_decoder_round_trips_through_safetensors() {
    let dir = temp_dir("store");
    let mut rng = Rng::new(2);
    let mut dec = tiny_decoder(&mut rng);
    let path = dir.join("decoder.safetensors");
    save_decoder(&mut dec, &path).unwrap();
    let mut back = load_decoder::<f64>(&path).unwrap();
    assert_eq!(back.config, dec.config);
    let x: Tensor<f64> = TestRng::new(3).tensor(&[2, 1, 8, 8]);
    assert_eq!(back.forward(&x), dec.forward(&x));
}

#[test]
fn the_configuration_keeps_the_watermark_and_old_ones_have_none() {
    let config = TrainConfig {
        watermark: Some("wm/decoder.safetensors".into()),
        key: Some("0123abcd".into()),
        watermark_weight: 0.25,
        watermark_clean: 0.5,
        watermark_encoder: Some("wm/encoder.safetensors".into()),
        init: Some("main.safetensors".into()),
        ..TrainConfig::default()
    };
    let back = TrainConfig::from_json(&config.to_json(), "test").unwrap();
    assert_eq!(back, config);
    // A configuration written before chapter 14 has none of the new keys.
    let Json::Object(fields) = TrainConfig::default().to_json() else {
        unreachable!()
    };
    let old: Vec<_> = fields
        .into_iter()
        .filter(|(k, _)| {
            ![
                "watermark",
                "key",
                "watermark_weight",
                "watermark_clean",
                "watermark_encoder",
                "init",
            ]
            .contains(&k.as_str())
        })
        .collect();
    assert_eq!(
        TrainConfig::from_json(&Json::Object(old), "old").unwrap(),
        TrainConfig::default()
    );
}

#[test]
fn pngs_are_read_back_compressed_or_not() {
    // zlib.compress of three filtered 5-pixel grey rows (filters none, sub, Paeth), made by
    // another implementation of deflate (a dynamic- or fixed-Huffman block).
    let z = hex("78da6360304a997682512ea069cb33169bbc0597580036e006a4");
    let raw = inflate(&z[2..]).unwrap();
    assert_eq!(raw.len(), 3 * 6);
    assert_eq!(&raw[..6], &[0, 0, 50, 100, 150, 200]);
    // A grid as `gan sample --png` writes it: 3 images of 8 x 8 in a row of 4 cells.
    let images = Tensor::from_fn(&[3, 1, 8, 8], |i| ((i * 37) % 255) as f32 / 127.5 - 1.0);
    let (w, h, c, pixels) = gan::io::png::image_grid(&images, 4);
    let png = gan::io::png::encode_png(w, h, c, &pixels);
    let back = png::read_png_images(&png, Path::new("grid.png"), 8).unwrap();
    assert_eq!(
        back.shape(),
        &[3, 1, 8, 8],
        "the empty fourth cell is dropped"
    );
    assert!(back.max_abs_diff(&images) < 0.5 / 127.5 + 1e-6);
    let picture = decode_png(&png).unwrap();
    assert_eq!(picture.shape()[1], 1);
    let err = png::read_png_images(&png, Path::new("grid.png"), 7)
        .unwrap_err()
        .to_string();
    assert!(err.contains("7 x 7"), "{err}");
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

// ---- the command line ----------------------------------------------------------------------------

fn gan(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .env("GAN_THREADS", "2")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn the_commands_work_end_to_end() {
    let dir = temp_dir("cli");
    let d = |name: &str| dir.join(name).display().to_string();
    // A user's data set: 64 images of 8 x 8 as a .npy.
    let data = small_digits(64, 3);
    std::fs::write(
        dir.join("images.npy"),
        gan::io::npy::encode_f32(data.images.shape(), data.images.as_slice()),
    )
    .unwrap();
    let (ok, out) = gan(&[
        "watermark",
        "train",
        "--data",
        &d("images.npy"),
        "--bits",
        "8",
        "--steps",
        "20",
        "--batch",
        "8",
        "--out",
        &d("wm"),
        "--quiet",
    ]);
    assert!(ok, "{out}");
    assert!(
        dir.join("wm/decoder.safetensors").exists() && dir.join("wm/encoder.safetensors").exists()
    );
    let images_npy = d("images.npy");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            &images_npy,
            "--steps",
            "3",
            "--batch",
            "8",
            "--nz",
            "8",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--quiet",
            "--sample-every",
            "0",
        ];
        args.extend_from_slice(extra);
        gan(&args)
    };
    let (encoder, decoder) = (d("wm/encoder.safetensors"), d("wm/decoder.safetensors"));
    // The watermark flags of the marked runs below.
    let marked = [
        "--watermark",
        decoder.as_str(),
        "--key",
        "c3",
        "--watermark-encoder",
        encoder.as_str(),
        "--watermark-clean",
        "0.5",
    ];
    let run_dir = d("run");
    let (ok, out) = train(&[&["--out", run_dir.as_str()][..], &marked].concat());
    assert!(ok, "{out}");
    let saved = Checkpoint::load(&dir.join("run/checkpoint.safetensors")).unwrap();
    assert_eq!(saved.config.key.as_deref(), Some("c3"));
    assert_eq!(saved.config.watermark_encoder, Some(encoder.clone()));
    assert_eq!(saved.config.watermark_clean, 0.5);
    // Resuming keeps the watermark; --init fine-tunes from the checkpoint.
    let (ok, out) = gan(&["train", "--resume", &d("run"), "--steps", "4", "--quiet"]);
    assert!(ok, "{out}");
    let resumed = Checkpoint::load(&dir.join("run/checkpoint.safetensors")).unwrap();
    assert_eq!(resumed.config.watermark_encoder, Some(encoder.clone()));
    // ... exactly: 3 steps and a resume to 4 are 4 steps straight (the damage's stream included).
    let straight_dir = d("straight");
    let (ok, out) = train(
        &[
            &["--out", straight_dir.as_str(), "--steps", "4"][..],
            &marked,
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    let straight = Checkpoint::load(&dir.join("straight/checkpoint.safetensors")).unwrap();
    assert!(
        straight.tensors.tensors == resumed.tensors.tensors,
        "a resumed watermarked run differs from a straight one"
    );
    // The decoder given as the encoder is a clear error.
    let (ok, out) = train(&[
        "--out",
        &d("bad_encoder"),
        "--watermark",
        &decoder,
        "--key",
        "c3",
        "--watermark-encoder",
        &decoder,
    ]);
    assert!(!ok && out.contains("watermark encoder"), "{out}");
    let (ok, out) = train(&[
        "--out",
        &d("tuned"),
        "--init",
        &d("run/checkpoint.safetensors"),
        "--watermark",
        &d("wm/decoder.safetensors"),
        "--key",
        "c3",
    ]);
    assert!(ok, "{out}");
    // A key of the wrong length is a usage error.
    let (ok, out) = train(&[
        "--out",
        &d("bad"),
        "--watermark",
        &d("wm/decoder.safetensors"),
        "--key",
        "c3c3",
    ]);
    assert!(!ok && out.contains("give 2 hex digits"), "{out}");
    // --init from a checkpoint of another shape.
    let (ok, out) = gan(&[
        "train",
        "--data",
        &d("images.npy"),
        "--steps",
        "1",
        "--batch",
        "8",
        "--nz",
        "6",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--quiet",
        "--out",
        &d("other"),
        "--init",
        &d("run/checkpoint.safetensors"),
    ]);
    assert!(!ok && out.contains("nz 8"), "{out}");

    // Sample and verify, from .npy and from a PNG grid.
    let ckpt = d("run/checkpoint.safetensors");
    let (ok, out) = gan(&[
        "sample",
        "--checkpoint",
        &ckpt,
        "--n",
        "6",
        "--npy",
        &d("s.npy"),
        "--png",
        &d("s.png"),
    ]);
    assert!(ok, "{out}");
    for images in [d("s.npy"), d("s.png")] {
        let (ok, out) = gan(&[
            "watermark",
            "verify",
            "--decoder",
            &d("wm/decoder.safetensors"),
            "--key",
            "c3",
            &images,
            "--level",
            "1e-2",
            "--json",
            &d("v.json"),
        ]);
        assert!(ok, "{out}");
        assert!(
            out.contains("p-value") && out.contains("6 image(s)"),
            "{out}"
        );
        let json = Json::parse(&std::fs::read_to_string(dir.join("v.json")).unwrap()).unwrap();
        assert_eq!(json.get("images").and_then(Json::as_u64), Some(6));
        assert_eq!(
            json.get("per_image")
                .and_then(Json::as_array)
                .map(<[Json]>::len),
            Some(6)
        );
    }
    // Images of another size than the decoder's.
    let big = Dataset::builtin("digits", 4, 1).unwrap();
    std::fs::write(
        dir.join("big.npy"),
        gan::io::npy::encode_f32(big.images.shape(), big.images.as_slice()),
    )
    .unwrap();
    let (ok, out) = gan(&[
        "watermark",
        "verify",
        "--decoder",
        &d("wm/decoder.safetensors"),
        "--key",
        "c3",
        &d("big.npy"),
    ]);
    assert!(
        !ok && out.contains("12 x 12") && out.contains("[4, 1, 28, 28]"),
        "{out}"
    );
    let (ok, out) = gan(&["watermark", "frobnicate"]);
    assert!(!ok && out.contains("'train' or 'verify"), "{out}");
}

// ---- exercises -----------------------------------------------------------------------------------

#[test]
fn exercise_14_1_the_binomial_tail_from_exact_counts() {
    assert_eq!(
        binomial_tail_exact(32, 0),
        1.0,
        "P(X >= 0) is 1: every outcome counts"
    );
    assert_eq!(
        binomial_tail_exact(32, 32),
        2f64.powi(-32),
        "P(X >= 32) of 32 fair bits: one outcome of 2^32"
    );
    assert_eq!(
        binomial_tail_exact(4, 3),
        5.0 / 16.0,
        "n = 4, k = 3: C(4,3) + C(4,4) = 5 of 16"
    );
    assert_eq!(
        binomial_tail_exact(5, 6),
        0.0,
        "more matches than bits never happen"
    );
    for n in [1u32, 10, 32, 60] {
        for k in 0..=n {
            let library = binomial_tail(n as u64, k as u64, 0.5);
            let yours = binomial_tail_exact(n, k);
            assert!(
                (yours - library).abs() <= 1e-12 * library,
                "n {n}, k {k}: yours {yours:e}, the library's {library:e}; count the outcomes \
                 with at least k ones, sum_(j >= k) C(n, j), and divide by 2^n"
            );
        }
    }
}

#[test]
fn exercise_14_2_a_brightness_change_with_its_gradient() {
    let x: Tensor<f64> = TestRng::new(8).tensor(&[2, 1, 3, 3]);
    let y = brightness(&x, 0.8, 0.1);
    assert_eq!(y.shape(), x.shape());
    assert!(
        (y[4] - (0.8 * x[4] + 0.1)).abs() < 1e-15,
        "brightness(x, contrast, shift) = contrast * x + shift, pixel by pixel"
    );
    let g: Tensor<f64> = TestRng::new(9).tensor(&[2, 1, 3, 3]);
    let grad_x = grad_brightness(&g, 0.8);
    let report = Checked::new().tensor("x", x, grad_x).run(
        |v| brightness(&v[0], 0.8, 0.1).dot(&g),
        &CheckOptions::default(),
    );
    assert!(
        report.worst_rel_error() < 1e-8,
        "the gradient of brightness: dy/dx = contrast on every pixel\n{report}"
    );
}
