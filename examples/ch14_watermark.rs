//! Chapter 14: the watermark story on the built-in digits, measured.
//!
//! 1. trains the watermarking network (encoder + decoder, 32-bit keys) on digits;
//! 2. fine-tunes a trained generator with the frozen decoder and a random key, the GAN's
//!    discriminator seeing real images marked by the frozen encoder (the unwatermarked starting
//!    point is the control of the table's false positives);
//! 3. prints the table: bit accuracy and verified fraction on 1000 samples of each generator and
//!    on 1000 real images, and after noise, blur and one-pixel shifts.
//!
//! ```text
//! cargo run --release                                   # the main job: runs/train/checkpoint.safetensors
//! cargo run --release --example ch14_watermark          # then this (about 10 minutes on 2 cores)
//! cargo run --release --example ch14_watermark -- CHECKPOINT [WM_STEPS] [FINE_TUNE_STEPS]
//! cargo run --release --example ch14_watermark -- --measure DECODER KEY MARKED CONTROL [REAL.npy [LABELS.npy]]
//! cargo run --release --example ch14_watermark -- --mark-cost ENCODER KEY CLASSIFIER [REFERENCE.npy IMAGES.npy]
//! cargo run --release --example ch14_watermark -- --export-shapes DIR
//! ```
//!
//! `--mark-cost` prices the encoder's own mark in classifier-FID: 1000 real images against 1000
//! reference images, unmarked and marked by the encoder (CLASSIFIER: the judge `gan eval` cached
//! beside a run, classifier.safetensors). A generator that learns the encoder's mark exactly
//! (`gan train --watermark-encoder`) pays at least about that much.
//!
//! A user's data set works the same way from the command line (chapter 14, "Run it");
//! `--export-shapes` writes the built-in shapes as a user's files would come (a uint8 .npy of
//! [N, H, W, C] and a .npy of labels) to try it with, and `--measure` prints the table for
//! generators trained on any data, with the real images read from a file.

use gan::data::files::load_images;
use gan::data::Dataset;
use gan::gan::checkpoint::Checkpoint;
use gan::gan::run::{train, RunOptions};
use gan::io::npy;
use gan::rng::{noise, Rng};
use gan::watermark::store::{load_decoder, save_decoder, save_encoder};
use gan::watermark::*;
use gan::Tensor;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Fine-tuning the main job's generator to carry the key: beta and steps.
const BETA: f64 = 10.0;
const FINE_TUNE_STEPS: usize = 600;

fn main() -> gan::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        // Only the table, for a decoder and generators trained with the `gan` command.
        Some("--measure") if (5..=7).contains(&args.len()) => {
            let mut decoder = load_decoder::<f32>(Path::new(&args[1]))?;
            let key = Key::parse(&args[2], decoder.config.bits)?;
            let real = match args.get(5) {
                Some(file) => load_images(Path::new(file), args.get(6).map(Path::new))?.dataset,
                None => Dataset::builtin("digits", 1000, 777)?,
            };
            let (marked, control) = (Path::new(&args[3]), Path::new(&args[4]));
            println!("{}", measure(&mut decoder, &key, marked, control, &real)?);
            return Ok(());
        }
        Some("--mark-cost") if args.len() == 4 || args.len() == 6 => {
            let (reference, images) = match args.get(4..6) {
                Some([a, b]) => (read_images(a)?, read_images(b)?),
                _ => (
                    Dataset::builtin("digits", 1000, 778)?.images,
                    Dataset::builtin("digits", 1000, 777)?.images,
                ),
            };
            let paths = (Path::new(&args[1]), Path::new(&args[3]));
            return mark_cost(paths.0, &args[2], paths.1, &reference, &images);
        }
        Some("--export-shapes") if args.len() == 2 => return export_shapes(Path::new(&args[1])),
        Some(flag) if flag.starts_with("--") => {
            eprintln!("usage: see the comment at the top of examples/ch14_watermark.rs");
            std::process::exit(2);
        }
        _ => {}
    }
    let control = PathBuf::from(
        args.first()
            .map(String::as_str)
            .unwrap_or("runs/train/checkpoint.safetensors"),
    );
    let wm_steps: usize = args.get(1).map_or(2000, |s| s.parse().expect("a number"));
    let tune_steps: usize = args
        .get(2)
        .map_or(FINE_TUNE_STEPS, |s| s.parse().expect("a number"));
    if !control.exists() {
        eprintln!(
            "{} does not exist. Train the main job first (cargo run --release, about 4 minutes), \
             or name a checkpoint: cargo run --release --example ch14_watermark -- CHECKPOINT",
            control.display()
        );
        std::process::exit(1);
    }
    let out = PathBuf::from("runs/ch14");
    let start = Instant::now();

    // 1. The watermarking network.
    let decoder_path = out.join("wm/decoder.safetensors");
    println!("1. training the watermarking network on digits ({wm_steps} steps) ...");
    let data = Dataset::builtin("digits", 10_000, 1)?;
    let config = WatermarkConfig {
        steps: wm_steps,
        ..WatermarkConfig::default()
    };
    let mut wm = WatermarkTrainer::<f32>::new(config, data)?;
    for step in 1..=wm_steps {
        let s = wm.train_step();
        if step % 250 == 0 || step == wm_steps {
            println!(
                "   step {step}: bit accuracy {:.3} after perturbations, {:.3} undamaged, MSE {:.5}, {:.0} s",
                s.bit_accuracy,
                s.direct_accuracy,
                s.mse,
                start.elapsed().as_secs_f64()
            );
        }
    }
    std::fs::create_dir_all(out.join("wm")).map_err(|e| gan::Error::io(&out, e))?;
    save_encoder(&mut wm.encoder, &out.join("wm/encoder.safetensors"))?;
    save_decoder(&mut wm.decoder, &decoder_path)?;

    // 2. Fine-tune G with the frozen decoder.
    let key = Key::random(32, &mut Rng::new(2024));
    println!(
        "2. fine-tuning {} with key {} ({tune_steps} steps) ...",
        control.display(),
        key.to_hex()
    );
    let mut tune = Checkpoint::load(&control)?.config;
    tune.steps = tune_steps;
    tune.init = Some(control.display().to_string());
    tune.watermark = Some(decoder_path.display().to_string());
    // D's real images carry the mark too, so that it is no sign of a fake (chapter 14, "Measured").
    tune.watermark_encoder = Some(out.join("wm/encoder.safetensors").display().to_string());
    tune.key = Some(key.to_hex());
    tune.watermark_weight = BETA;
    let summary = train(
        tune,
        &RunOptions {
            out: out.join("marked"),
            sample_every: 0,
            save_every: 0,
            quiet: true,
        },
    )?;
    println!("   done in {:.0} s", summary.seconds);

    // 3. Measure.
    let mut decoder = load_decoder::<f32>(&decoder_path)?;
    let real = Dataset::builtin("digits", 1000, 777)?;
    let table = measure(&mut decoder, &key, &summary.checkpoint, &control, &real)?;
    println!("\n{table}");
    println!("total {:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// 1000 samples of a checkpoint's generator (labels cycling over the classes).
fn samples(checkpoint: &Path, n: usize) -> gan::Result<Tensor<f32>> {
    let ckpt = Checkpoint::load(checkpoint)?;
    let (mut g, prior) = ckpt.generator()?;
    let eps = noise(&mut Rng::new(99), n, ckpt.config.nz, 1.0);
    let labels: Vec<usize> = (0..n).map(|i| i % ckpt.classes.max(1)).collect();
    let mut images = Vec::new();
    for chunk in 0..n.div_ceil(250) {
        let (a, b) = (chunk * 250, ((chunk + 1) * 250).min(n));
        let e = Tensor::from_vec(
            &[b - a, ckpt.config.nz],
            eps.as_slice()[a * ckpt.config.nz..b * ckpt.config.nz].to_vec(),
        )?;
        let l = (ckpt.classes > 0).then(|| &labels[a..b]);
        images.extend_from_slice(g.forward(&prior.reparameterise(&e), l).as_slice());
    }
    let s = [
        n,
        ckpt.channels,
        ckpt.config.image_size,
        ckpt.config.image_size,
    ];
    Tensor::from_vec(&s, images)
}

/// The table of chapter 14: one row per (images, perturbation). `real` gives the real images'
/// row (its first 1000 images).
pub fn measure(
    decoder: &mut Decoder<f32>,
    key: &Key,
    marked: &Path,
    control: &Path,
    real_images: &Dataset,
) -> gan::Result<String> {
    let n = 1000.min(real_images.len());
    let real: Vec<usize> = (0..n).collect();
    let sets = [
        ("watermarked G", samples(marked, n)?),
        ("unwatermarked G", samples(control, n)?),
        ("real images", real_images.batch(&real).0),
    ];
    let mut rng = Rng::new(5);
    let mut table = String::from(
        "| images | perturbation | mean bit accuracy | p < 1e-6 | p < 1e-3 |\n|---|---|---|---|---|\n",
    );
    for (name, images) in &sets {
        let perturbations: &[Perturbation] = if *name == "watermarked G" {
            &[
                Perturbation::Identity,
                Perturbation::Quantise,
                Perturbation::Noise(0.05),
                Perturbation::Blur,
                Perturbation::Shift(0, 1),
                Perturbation::Shift(1, 1),
            ]
        } else {
            &[Perturbation::Identity]
        };
        for p in perturbations {
            let results = verify(decoder, &p.apply(images, &mut rng), key)?;
            let (strict, loose) = (summarise(&results, 1e-6), summarise(&results, 1e-3));
            table += &format!(
                "| {name} | {} | {:.4} | {:.1}% | {:.1}% |\n",
                p.name(),
                strict.mean_bit_accuracy,
                100.0 * strict.verified as f64 / n as f64,
                100.0 * loose.verified as f64 / n as f64
            );
        }
    }
    Ok(table)
}

/// The first 1000 images of a file (.npy, IDX, ...).
fn read_images(file: &str) -> gan::Result<Tensor<f32>> {
    let data = load_images(Path::new(file), None)?.dataset;
    let n = 1000.min(data.len());
    Ok(data.batch(&(0..n).collect::<Vec<_>>()).0)
}

/// Classifier-FID of `images` against `reference`, unmarked and marked by the encoder with the
/// key, as the watermarking network marks them: clamp(x + E(x, key), -1, 1).
fn mark_cost(
    encoder: &Path,
    key: &str,
    classifier: &Path,
    reference: &Tensor<f32>,
    images: &Tensor<f32>,
) -> gan::Result<()> {
    let size = images.shape()[2];
    let encoder_net = gan::watermark::store::load_encoder::<f32>(encoder)?;
    let key = Key::parse(key, encoder_net.bits)?;
    let mut marker = RealMarker::<f32>::load(encoder, key, size, encoder_net.channels)?;
    let mut marked = Vec::with_capacity(images.len());
    for chunk in 0..images.rows().div_ceil(250) {
        let rows = images.rows_range(chunk * 250..((chunk + 1) * 250).min(images.rows()));
        marked.extend_from_slice(marker.mark(&rows).as_slice());
    }
    let marked = Tensor::from_vec(images.shape(), marked)?;
    let change = marked.zip_map(images, |a, b| a - b);
    let mut judge = gan::eval::classifier::load_classifier(classifier)?;
    let reference = judge.features(reference);
    let fid = |judge: &mut gan::eval::classifier::Classifier<f32>, x: &Tensor<f32>| {
        gan::eval::frechet::fid(&reference, &judge.features(x))
    };
    println!(
        "{} real images against {} reference images: classifier-FID {:.2} unmarked, {:.2} marked \
         (mean squared change {:.5})",
        images.rows(),
        reference.rows(),
        fid(&mut judge, images),
        fid(&mut judge, &marked),
        change.dot(&change) / change.len() as f64
    );
    Ok(())
}

/// Writes the built-in shapes (32 x 32 RGB, 3 classes) as a user's files usually come: bytes in
/// [N, H, W, C] (channels last) and integer labels, plus 1000 held-out images of another seed.
fn export_shapes(dir: &Path) -> gan::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| gan::Error::io(dir, e))?;
    for (name, n, seed) in [("shapes", 12_000, 7), ("shapes_heldout", 1000, 8)] {
        let data = Dataset::builtin("shapes", n, seed)?;
        let (c, h, w) = data.image_shape();
        let x = data.images.as_slice();
        let mut bytes = vec![0u8; x.len()];
        for (i, v) in x.iter().enumerate() {
            // i indexes [N, C, H, W]; the byte goes to [N, H, W, C].
            let (image, ch, pixel) = (i / (c * h * w), i / (h * w) % c, i % (h * w));
            bytes[(image * h * w + pixel) * c + ch] =
                ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
        }
        let labels: Vec<i64> = data.labels.iter().map(|&l| l as i64).collect();
        for (file, content) in [
            (format!("{name}.npy"), npy::encode_u8(&[n, h, w, c], &bytes)),
            (format!("{name}_labels.npy"), npy::encode_i64(&[n], &labels)),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, content).map_err(|e| gan::Error::io(&path, e))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
