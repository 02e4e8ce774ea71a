//! `gan detect`: fake-image detection without a watermark.
//!
//! ```text
//!   gan detect train --real DATA --fake CKPT[,CKPT...] --out DIR   trains a real/fake classifier
//!   gan detect --detector DIR/detector.safetensors IMAGES...        P(fake) for each image
//! ```
//!
//! Also home of what `gan detect train` and `gan attribute train` share: the classifier's
//! flags, the held-out report (JSON and confusion-matrix SVG) and the reading of IMAGES.

use crate::cli::{opt, Command, Matches};
use crate::data::files;
use crate::error::{Error, Result};
use crate::eval::classifier::ClassifierTraining;
use crate::forensics::classify::{ForensicModel, HeldOut, Task};
use crate::forensics::data::{detection_set, load_real, Labelled, Source};
use crate::io::json::Json;
use crate::io::png_read::{read_png, PNG_SIGNATURE};
use crate::io::write_atomic;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// A command's flags followed by those of the classifier it trains (chapter 12's classifier)
/// and `--threads`.
macro_rules! with_classifier_flags {
    ($($flag:expr),* $(,)?) => {
        &[
            $($flag,)*
            opt("steps", "N", "classifier training steps (Adam)", Some("600")),
            opt("batch", "M", "classifier minibatch size", Some("64")),
            opt("lr", "LR", "classifier learning rate", Some("0.001")),
            opt("width", "N", "classifier width (channels of its first convolution)", Some("32")),
            opt("features", "N", "classifier feature dimension", Some("128")),
            opt("test-fraction", "F", "fraction of every class held out for the report", Some("0.25")),
            opt("seed", "S", "fixes the samples, the split and the classifier", Some("1")),
            opt("out", "DIR", "train: where to write the model, JSON and confusion-matrix SVG", None),
            super::THREADS,
        ]
    };
}
pub(super) use with_classifier_flags;

pub(super) const DETECT: Command = Command {
    name: "detect",
    about: "Fake-image detection: 'detect train' trains a real/fake classifier; 'detect --detector FILE IMAGES' gives P(fake).",
    flags: with_classifier_flags![
        opt("real", "DATA", "train: real images: digits, shapes, or a .npy/IDX/CIFAR file", Some("digits")),
        opt("labels", "FILE", "train: labels of --real FILE (not needed for detection)", None),
        opt("fake", "CKPT[,CKPT...]", "train: checkpoints of the generators whose samples are the fakes", None),
        opt("n", "N", "train: real images (and as many fakes, split over the generators)", Some("2000")),
        opt("detector", "FILE", "the detector.safetensors written by 'gan detect train'", None),
    ],
    positionals: "[train] [IMAGES...]",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    if m.positionals.first().map(String::as_str) == Some("train") {
        if m.positionals.len() > 1 {
            return Err(Error::usage(
                "gan detect train: takes no image files (the fakes come from --fake CKPT)",
            ));
        }
        return train(m);
    }
    let path = m.text("detector").ok_or_else(|| {
        Error::usage("gan detect: give --detector FILE and image files, or use 'gan detect train'")
    })?;
    let mut model = ForensicModel::load(Path::new(path), Task::Detect)?;
    let files = image_files(m, "detect")?;
    let mut all = Vec::new();
    for file in &files {
        let images = read_images(Path::new(file))?;
        let p = model.probabilities(&images)?;
        for (i, row) in p.iter().enumerate() {
            println!("{file}[{i}]  P(fake) = {:.4}", row[1]);
            all.push(row[1]);
        }
    }
    let fake = all.iter().filter(|&&p| p >= 0.5).count();
    println!(
        "{} images: {fake} called fake (P(fake) >= 0.5), {} called real; mean P(fake) {:.4}",
        all.len(),
        all.len() - fake,
        all.iter().sum::<f64>() / all.len().max(1) as f64
    );
    Ok(())
}

fn train(m: &Matches) -> Result<()> {
    let out = out_dir(m, "detect")?;
    let fakes: Vec<String> = m
        .text("fake")
        .ok_or_else(|| Error::usage("gan detect train: --fake CKPT[,CKPT...] is required"))?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut sources = fakes
        .iter()
        .map(|f| Source::from_checkpoint(Path::new(f)))
        .collect::<Result<Vec<_>>>()?;
    let (_, size, _) = sources[0].image_shape();
    let seed: u64 = m.value("seed")?;
    let data: String = m.value("real")?;
    let (real, notes) = load_real(
        &data,
        m.text("labels").map(Path::new),
        m.value("n")?,
        seed,
        Some(size),
    )?;
    for note in notes {
        println!("data: {note}");
    }
    let set = detection_set(&real, &mut sources, seed)?;
    let summary = format!(
        "{} real images of {data} against {} samples of {}",
        real.len(),
        set.len() - real.len(),
        fakes.join(", ")
    );
    train_and_report(m, Task::Detect, &set, &summary, &out)
}

/// `--out DIR`, required by the training subcommands.
pub(super) fn out_dir(m: &Matches, command: &str) -> Result<PathBuf> {
    m.text("out")
        .map(PathBuf::from)
        .ok_or_else(|| Error::usage(format!("gan {command} train: --out DIR is required")))
}

/// The image files after the options; at least one.
pub(super) fn image_files(m: &Matches, command: &str) -> Result<Vec<String>> {
    if m.positionals.is_empty() {
        return Err(Error::usage(format!(
            "gan {command}: give one or more image files (.npy [N, C, H, W], PNG, IDX or CIFAR-10)"
        )));
    }
    Ok(m.positionals.clone())
}

/// Images from a file, `[N, C, H, W]` in [-1, 1]: a PNG (one image), or anything `gan train
/// --data` reads (.npy, IDX, CIFAR-10).
pub(super) fn read_images(path: &Path) -> Result<Tensor<f32>> {
    let mut start = [0u8; 8];
    let is_png = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut start))
        .is_ok()
        && start == PNG_SIGNATURE;
    if is_png {
        return read_png(path);
    }
    Ok(files::load_images(path, None)?.dataset.images)
}

/// Splits `set`, trains the task's classifier, prints and writes the held-out report:
/// `DIR/{detector,attributor}.safetensors`, `DIR/{detect,attribute}.json`, `DIR/confusion.svg`.
pub(super) fn train_and_report(
    m: &Matches,
    task: Task,
    set: &Labelled,
    summary: &str,
    out: &Path,
) -> Result<()> {
    let seed: u64 = m.value("seed")?;
    let fraction: f64 = m.value("test-fraction")?;
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::usage(format!(
            "--test-fraction must lie strictly between 0 and 1, found {fraction}"
        )));
    }
    let (train, test) = set.split(fraction, seed);
    let training = ClassifierTraining {
        steps: m.value("steps")?,
        batch: m.value("batch")?,
        lr: m.value("lr")?,
        seed,
    };
    println!(
        "{}: {summary}; training on {}, holding out {}",
        task.name(),
        train.len(),
        test.len()
    );
    let every = (training.steps / 5).max(1);
    let mut progress = |step: usize, loss: f64| {
        if step.is_multiple_of(every) || step == training.steps {
            println!("  step {step}/{}: loss {loss:.4}", training.steps);
        }
    };
    let mut model = ForensicModel::train(
        task,
        &train,
        m.value("width")?,
        m.value("features")?,
        &training,
        &mut progress,
    )?;
    let held_out = model.evaluate(&test)?;
    print!("{}", held_out.confusion.to_text());
    println!(
        "held out: accuracy {:.4}, ROC AUC {:.4} ({} images)",
        held_out.accuracy,
        held_out.auc,
        test.len()
    );
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let model_file = out.join(match task {
        Task::Detect => "detector.safetensors",
        Task::Attribute => "attributor.safetensors",
    });
    model.save(&model_file)?;
    let json_file = out.join(format!("{}.json", task.name()));
    write_atomic(
        &json_file,
        report_json(&held_out, summary, &training)
            .to_pretty()
            .as_bytes(),
    )?;
    let svg_file = out.join("confusion.svg");
    let title = match task {
        Task::Detect => "fake detection: held-out confusion matrix",
        Task::Attribute => "model attribution: held-out confusion matrix",
    };
    held_out.confusion.save_svg(&svg_file, title)?;
    for f in [&model_file, &json_file, &svg_file] {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn report_json(held_out: &HeldOut, summary: &str, t: &ClassifierTraining) -> Json {
    let mut fields = vec![
        ("data".to_string(), Json::str(summary)),
        ("steps".to_string(), Json::Number(t.steps as f64)),
        ("batch".to_string(), Json::Number(t.batch as f64)),
        ("lr".to_string(), Json::Number(t.lr)),
        ("seed".to_string(), Json::str(t.seed.to_string())),
    ];
    if let Json::Object(rest) = held_out.to_json() {
        fields.extend(rest);
    }
    Json::Object(fields)
}
