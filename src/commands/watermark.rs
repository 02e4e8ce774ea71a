//! `gan watermark train` and `gan watermark verify` (chapter 14): train the watermarking network
//! on a data set, and read a key back from generated images with a p-value per image.

use super::THREADS;
use crate::cli::{opt, Command, Flag, Matches};
use crate::data::{files, Dataset, BUILTIN};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::tensor::Tensor;
use crate::watermark::store::{load_decoder, save_decoder, save_encoder};
use crate::watermark::{summarise, verify, Key, WatermarkConfig, WatermarkTrainer};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(super) const WATERMARK: Command = Command {
    name: "watermark",
    about: "Train a watermarking network (train), or read a key back from images with a p-value (verify).",
    flags: &[
        opt("data", "NAME", "train: digits, shapes, or a .npy, IDX or CIFAR-10 file of images (default digits)", None),
        opt("labels", "FILE", "train: labels of --data FILE (not needed: the network ignores them)", None),
        opt("data-size", "N", "train: images drawn from a built-in data set (default 10000)", None),
        opt("bits", "N", "train: key length, a multiple of 4 (default 32)", None),
        opt("steps", "N", "train: training steps (default 1500)", None),
        opt("batch", "M", "train: minibatch size (default 32)", None),
        opt("lambda", "L", "train: weight of MSE(watermarked, original) (default 20)", None),
        opt("strength", "S", "train: the largest change of one pixel, in [-1, 1] units (default 0.2)", None),
        opt("seed", "S", "train: fixes the run (default 1)", None),
        Flag {
            name: "no-perturb",
            value: None,
            help: "train: no image-processing layer (noise, blur, shift, quantisation)",
            default: None,
        },
        opt("out", "DIR", "train: where encoder.safetensors and decoder.safetensors go (default runs/watermark)", None),
        opt("decoder", "FILE", "verify: the decoder.safetensors (required)", None),
        opt("key", "HEX", "verify: the key to look for, as hex digits (required)", None),
        Flag {
            name: "level",
            value: Some("ALPHA"),
            help: "verify: an image is marked when its p-value is below ALPHA",
            default: Some("1e-6"),
        },
        opt("json", "FILE", "verify: also write every result as JSON", None),
        Flag {
            name: "quiet",
            value: None,
            help: "print only the summary",
            default: None,
        },
        THREADS,
    ],
    positionals: "train | verify IMAGES (a .npy [N, C, H, W] in [-1, 1] as `gan sample --npy` writes it, or a PNG)",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    match m.positionals.first().map(String::as_str) {
        Some("train") if m.positionals.len() == 1 => train(m),
        Some("verify") if m.positionals.len() == 2 => verify_images(m, Path::new(&m.positionals[1])),
        Some("verify") => Err(Error::usage(
            "gan watermark verify: give one file of images: gan watermark verify --decoder FILE --key HEX IMAGES",
        )),
        _ => Err(Error::usage(
            "gan watermark: say 'train' or 'verify IMAGES'\nRun 'gan watermark --help' for the options.",
        )),
    }
}

fn train(m: &Matches) -> Result<()> {
    let defaults = WatermarkConfig::default();
    let config = WatermarkConfig {
        bits: m.get("bits")?.unwrap_or(defaults.bits),
        steps: m.get("steps")?.unwrap_or(defaults.steps),
        batch: m.get("batch")?.unwrap_or(defaults.batch),
        lambda: m.get("lambda")?.unwrap_or(defaults.lambda),
        strength: m.get("strength")?.unwrap_or(defaults.strength),
        seed: m.get("seed")?.unwrap_or(defaults.seed),
        perturb: !m.flag("no-perturb"),
        ..defaults
    };
    if config.bits == 0 || !config.bits.is_multiple_of(4) {
        return Err(Error::usage(format!(
            "--bits {}: a key is written in hex digits of 4 bits, so give a positive multiple of 4",
            config.bits
        )));
    }
    let data = training_images(m, config.seed)?;
    let out = PathBuf::from(m.text("out").unwrap_or("runs/watermark"));
    let quiet = m.flag("quiet");
    if !quiet {
        let (c, h, w) = data.image_shape();
        println!(
            "watermark: {} images of {c} x {h} x {w}, {} bits, {} steps of batch {} -> {}",
            data.len(),
            config.bits,
            config.steps,
            config.batch,
            out.display()
        );
    }
    let steps = config.steps;
    let mut trainer = WatermarkTrainer::<f32>::new(config, data)?;
    let start = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut last = Default::default();
    for step in 1..=steps {
        last = trainer.train_step();
        if !quiet && (step % 100 == 0 || step == steps) {
            let line = format!(
                "step {step}/{steps}  bit accuracy {:.3} (undamaged {:.3})  BCE {:.4}  MSE {:.5}  clean BCE {:.4}  {:.0} s",
                last.bit_accuracy,
                last.direct_accuracy,
                last.bce,
                last.mse,
                last.clean_bce,
                start.elapsed().as_secs_f64()
            );
            let mut err = std::io::stderr();
            let _ = if terminal {
                write!(err, "\r{line}\x1b[K")
            } else {
                writeln!(err, "{line}")
            };
        }
    }
    if terminal && !quiet {
        eprintln!();
    }
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    save_encoder(&mut trainer.encoder, &out.join("encoder.safetensors"))?;
    save_decoder(&mut trainer.decoder, &out.join("decoder.safetensors"))?;
    println!(
        "done: last step bit accuracy {:.3} (after the image-processing layer), MSE {:.5} (PSNR {:.1} dB)",
        last.bit_accuracy,
        last.mse,
        10.0 * (4.0 / last.mse.max(1e-30)).log10()
    );
    println!("wrote {}", out.join("encoder.safetensors").display());
    println!("wrote {}", out.join("decoder.safetensors").display());
    Ok(())
}

/// The images a watermarking network trains on: a built-in data set or a file.
fn training_images(m: &Matches, seed: u64) -> Result<Dataset> {
    let name = m.text("data").unwrap_or("digits");
    if BUILTIN.contains(&name) && name != "ring" {
        return Dataset::builtin(name, m.get("data-size")?.unwrap_or(10_000), seed);
    }
    let path = Path::new(name);
    if !path.exists() {
        return Err(Error::usage(format!(
            "--data: '{name}' is neither a built-in image data set (digits, shapes) nor a file that exists"
        )));
    }
    let loaded = files::load_images(path, m.text("labels").map(Path::new))?;
    if !m.flag("quiet") {
        for note in &loaded.notes {
            println!("data: {note}");
        }
    }
    Ok(loaded.dataset)
}

fn verify_images(m: &Matches, images_path: &Path) -> Result<()> {
    let decoder_path = m
        .text("decoder")
        .ok_or_else(|| Error::usage("gan watermark verify: --decoder FILE is required"))?;
    let key_text = m
        .text("key")
        .ok_or_else(|| Error::usage("gan watermark verify: --key HEX is required"))?;
    let level: f64 = m.value("level")?;
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::usage(format!(
            "--level {level}: a significance level lies strictly between 0 and 1"
        )));
    }
    let mut decoder = load_decoder::<f32>(Path::new(decoder_path))?;
    let key = Key::parse(key_text, decoder.config.bits)?;
    let images = read_images(images_path, decoder.config.image_size)?;
    decoder
        .check_images(images.shape(), &images_path.display().to_string())
        .map_err(|e| {
            Error::msg(format!(
                "{e} (this decoder was trained on {0} x {0} images; a decoder is made for one image size)",
                decoder.config.image_size
            ))
        })?;
    let results = verify(&mut decoder, &images, &key)?;
    let summary = summarise(&results, level);
    if !m.flag("quiet") {
        println!("image  bits matched  bit accuracy  p-value     marked at {level:e}");
        for (i, r) in results.iter().enumerate() {
            println!(
                "{i:>5}  {:>5} / {:<4}  {:>12.3}  {:<10.3e}  {}",
                r.matches,
                r.bits,
                r.bit_accuracy(),
                r.p_value,
                if r.p_value < level { "yes" } else { "no" }
            );
        }
    }
    println!(
        "{} image(s): mean bit accuracy {:.4}, lowest {:.4}; {} of {} marked at level {level:e}",
        summary.images,
        summary.mean_bit_accuracy,
        summary.min_bit_accuracy,
        summary.verified,
        summary.images
    );
    println!("{}", summary.verdict());
    if let Some(path) = m.text("json") {
        write_atomic(
            Path::new(path),
            summary.to_json(&results).to_pretty().as_bytes(),
        )?;
        println!("wrote {path}");
    }
    Ok(())
}

/// Images to verify: a PNG (one image, or a grid as `gan sample --png` writes it) or any file
/// `gan train --data` reads (.npy, IDX, CIFAR-10).
fn read_images(path: &Path, image_size: usize) -> Result<Tensor<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(&crate::io::png_read::PNG_SIGNATURE) {
        return crate::watermark::png::read_png_images(&bytes, path, image_size);
    }
    Ok(files::load_images(path, None)?.dataset.images)
}
