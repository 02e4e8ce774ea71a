//! `gan eval`: every chapter 12 metric of one trained generator, on a held-out set, judged by a
//! classifier trained on the run's kind of data (cached beside the run). Also the pieces that
//! `gan restarts` and `gan compare` share: finding a run's checkpoint, building the held-out set
//! and the classifier, and printing a metrics table.

use super::THREADS;
use crate::cli::{opt, Command, Flag, Matches};
use crate::data::{files, Dataset, BUILTIN};
use crate::error::{Error, Result};
use crate::eval::classifier::{load_classifier_with, save_classifier_with, train_classifier};
use crate::eval::report::{EvalSet, Evaluation};
use crate::eval::{ClassifierConfig, ClassifierTraining};
use crate::gan::checkpoint::Checkpoint;
use crate::gan::run::{checkpoint_path, load_training_data};
use crate::gan::train::{TrainConfig, TrainingData};
use crate::io::json::Json;
use crate::io::{npy, write_atomic};
use std::path::{Path, PathBuf};

// The flags of the held-out set and the classifier, shared by eval, restarts and compare.
pub(super) const HELDOUT: Flag = opt("heldout", "FILE", "held-out real images (.npy, IDX, CIFAR-10) for a run on your own data (default: the last --n images of its data, which the generator saw)", None);
pub(super) const HELDOUT_LABELS: Flag = opt(
    "heldout-labels",
    "FILE",
    "the labels of --heldout FILE",
    None,
);
pub(super) const N: Flag = opt(
    "n",
    "N",
    "held-out images, and samples drawn (one per held-out image)",
    Some("1000"),
);
pub(super) const NOISE_SEED: Flag = opt(
    "noise-seed",
    "S",
    "draws the noise of the samples (the same for every generator judged)",
    Some("0"),
);
pub(super) const CLASSIFIER_STEPS: Flag = opt(
    "classifier-steps",
    "N",
    "Adam steps of the judging classifier",
    Some("600"),
);
pub(super) const CLASSIFIER_WIDTH: Flag = opt(
    "classifier-width",
    "N",
    "channels of the classifier's first layer",
    Some("32"),
);
pub(super) const CLASSIFIER_FEATURES: Flag = opt(
    "classifier-features",
    "N",
    "dimension of the feature space",
    Some("128"),
);

pub(super) const EVAL: Command = Command {
    name: "eval",
    about: "Judge a trained generator: FID, conditional accuracy, class coverage, precision/recall, memorisation.",
    flags: &[
        opt("checkpoint", "FILE", "the run's checkpoint.safetensors, or its run directory (required)", None),
        HELDOUT, HELDOUT_LABELS, N, NOISE_SEED, CLASSIFIER_STEPS, CLASSIFIER_WIDTH, CLASSIFIER_FEATURES,
        opt("json", "FILE", "where to write the metrics (default: eval.json beside the checkpoint)", None),
        THREADS,
    ],
    positionals: "",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let given = m
        .text("checkpoint")
        .ok_or_else(|| Error::usage("gan eval: --checkpoint FILE is required"))?;
    let (ckpt_path, ckpt) = load_run(Path::new(given))?;
    let dir = ckpt_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let options = JudgeOptions::from_matches(m)?;
    let mut set = build_eval_set(&ckpt.config, &dir, &options)?;
    let (mut g, prior) = ckpt.generator()?;
    let images = set.sample(&mut g, &prior);
    let evaluation = set.evaluate(&images, ckpt.classes > 0);
    println!("{}", ckpt_path.display());
    print!("{}", metrics_table(&[("", &evaluation)]));
    let json_path = m
        .text("json")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("eval.json"));
    write_atomic(
        &json_path,
        evaluation_json(&ckpt_path, &set, &evaluation)
            .to_pretty()
            .as_bytes(),
    )?;
    let scores_path = json_path.with_extension("scores.npy");
    write_atomic(&scores_path, &per_item_npy(&evaluation))?;
    println!("wrote {} and {} (per held-out item: correct, in real manifold, real in generated manifold)", json_path.display(), scores_path.display());
    Ok(())
}

/// How the held-out set and the classifier are made.
#[derive(Clone, Debug)]
pub(super) struct JudgeOptions {
    pub n: usize,
    pub noise_seed: u64,
    pub heldout: Option<(PathBuf, Option<PathBuf>)>,
    pub training: ClassifierTraining,
    pub width: usize,
    pub features: usize,
}

impl JudgeOptions {
    pub fn from_matches(m: &Matches) -> Result<Self> {
        let n: usize = m.value("n")?;
        if n < 10 {
            return Err(Error::usage(format!(
                "--n {n}: need at least 10 held-out images"
            )));
        }
        let heldout = m.text("heldout").map(|p| {
            (
                PathBuf::from(p),
                m.text("heldout-labels").map(PathBuf::from),
            )
        });
        if heldout.is_none() && m.text("heldout-labels").is_some() {
            return Err(Error::usage("--heldout-labels needs --heldout FILE"));
        }
        Ok(JudgeOptions {
            n,
            noise_seed: m.value("noise-seed")?,
            heldout,
            training: ClassifierTraining {
                steps: m.value("classifier-steps")?,
                ..ClassifierTraining::default()
            },
            width: m.value("classifier-width")?,
            features: m.value("classifier-features")?,
        })
    }
}

/// A run directory or a checkpoint file -> (the checkpoint's path, the checkpoint).
pub(super) fn load_run(path: &Path) -> Result<(PathBuf, Checkpoint)> {
    let file = if path.is_dir() {
        checkpoint_path(path)
    } else {
        path.to_path_buf()
    };
    let ckpt = Checkpoint::load(&file)?;
    if ckpt.config.data == "ring" {
        return Err(Error::usage(format!(
            "{}: a run of the 2-D ring; the chapter 12 metrics judge images (see the ring's mode \
             coverage in chapter 9)",
            file.display()
        )));
    }
    Ok((file, ckpt))
}

/// Seeds of the built-in images the judge uses: never a run's seed by default, so the held-out
/// images are new to every run, and the same for all of them.
const HELDOUT_SEED: u64 = 0x5eed_0000_0000_0012;
const CLASSIFIER_SEED: u64 = 0x5eed_0000_0000_0013;
/// At most this many training images go into the classifier and the memorisation check.
const MAX_CLASSIFIER_IMAGES: usize = 10_000;
const MAX_MEMORY_IMAGES: usize = 5_000;

/// The held-out set, the classifier (trained, or reused from `cache_dir/classifier.safetensors`
/// when it was trained on the same data with the same settings), and the training images for
/// the memorisation check.
pub(super) fn build_eval_set(
    config: &TrainConfig,
    cache_dir: &Path,
    options: &JudgeOptions,
) -> Result<EvalSet> {
    let size = config.image_size;
    let run_data = match load_training_data(config)? {
        TrainingData::Images(d) => d,
        TrainingData::Points(_) => return Err(Error::usage("the chapter 12 metrics judge images")),
    };
    let builtin = BUILTIN.contains(&config.data.as_str());
    // (classifier's training images, held-out images, a key naming both)
    let (classifier_data, heldout, key) = if builtin {
        let count = config.data_size.clamp(100, MAX_CLASSIFIER_IMAGES);
        let at_size = |d: Dataset| {
            if d.image_shape().1 == size {
                Ok(d)
            } else {
                files::resize_square(&d, size)
            }
        };
        let train = at_size(Dataset::builtin(&config.data, count, CLASSIFIER_SEED)?)?;
        let test = at_size(Dataset::builtin(&config.data, options.n, HELDOUT_SEED)?)?;
        let key = format!("built-in {} {size}x{size}, {count} images", config.data);
        (train, test, key)
    } else {
        let bytes = std::fs::metadata(&config.data)
            .map(|m| m.len())
            .unwrap_or(0);
        match &options.heldout {
            Some((images, labels)) => {
                let test = files::load_at_size(images, labels.as_deref(), size)?.dataset;
                let test = take_first(test, options.n);
                let key = format!("file {} ({bytes} bytes) {size}x{size}", config.data);
                (run_data.clone(), test, key)
            }
            None => {
                if run_data.len() < options.n + 10 {
                    return Err(Error::usage(format!(
                        "{}: {} images; holding out --n {} leaves too few to train the classifier \
                         (lower --n or give --heldout FILE)",
                        config.data,
                        run_data.len(),
                        options.n
                    )));
                }
                eprintln!(
                    "note: no --heldout file: the last {} images of {} are held out, but the \
                     generator trained on them (memorisation compares against images it saw)",
                    options.n, config.data
                );
                let (train, test) = run_data.clone().split(options.n);
                let key = format!(
                    "file {} ({bytes} bytes) {size}x{size}, last {} held out",
                    config.data, options.n
                );
                (train, test, key)
            }
        }
    };
    if heldout.classes < 2 || classifier_data.classes != heldout.classes {
        return Err(Error::usage(format!(
            "the judge needs labelled images of at least 2 classes: the training data has {} \
             classes, the held-out set {} (give --labels to gan train, --heldout-labels here)",
            classifier_data.classes, heldout.classes
        )));
    }
    let (channels, _, _) = heldout.image_shape();
    let classifier_config = ClassifierConfig {
        width: options.width,
        features: options.features,
        ..ClassifierConfig::new(channels, size, heldout.classes)
    };
    let key = format!(
        "{key}; classifier {:?}, {} steps",
        classifier_config, options.training.steps
    );
    let cache = cache_dir.join("classifier.safetensors");
    let cached = if cache.exists() {
        match load_classifier_with(&cache) {
            Ok((c, meta)) if meta.iter().any(|(k, v)| k == "data_key" && *v == key) => Some(c),
            Ok(_) => {
                eprintln!(
                    "note: {} was trained on other data or settings: training a new one",
                    cache.display()
                );
                None
            }
            Err(e) => {
                eprintln!("note: {e}: training a new classifier");
                None
            }
        }
    } else {
        None
    };
    let classifier = match cached {
        Some(c) => c,
        None => {
            eprintln!(
                "training the judging classifier on {} images ({} steps) ...",
                classifier_data.len(),
                options.training.steps
            );
            let mut c = train_classifier(
                &classifier_data.images,
                &classifier_data.labels,
                classifier_config,
                &options.training,
                &mut |_, _| {},
            )?;
            let accuracy =
                crate::eval::classifier::accuracy(&mut c, &heldout.images, &heldout.labels);
            eprintln!("classifier: held-out accuracy {accuracy:.3}");
            save_classifier_with(&mut c, &cache, &[("data_key", &key)])?;
            c
        }
    };
    let memory = take_first(run_data, MAX_MEMORY_IMAGES);
    Ok(EvalSet::new(
        classifier,
        heldout,
        &memory,
        options.noise_seed,
    ))
}

/// The first `n` images of a data set (all of them if it has fewer).
fn take_first(d: Dataset, n: usize) -> Dataset {
    if d.len() <= n {
        return d;
    }
    let extra = d.len() - n;
    d.split(extra).0
}

/// One row per metric, one column per evaluation.
pub(super) fn metrics_table(columns: &[(&str, &Evaluation)]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, e) in columns {
        for (n, _) in &e.metrics {
            if !names.contains(n) {
                names.push(n);
            }
        }
    }
    let mut text = format!("{:<22}", "metric");
    for (label, _) in columns {
        text += &format!(" {label:>12}");
    }
    text += "\n";
    for name in names {
        text += &format!("{name:<22}");
        for (_, e) in columns {
            match e.metric(name) {
                Some(v) => text += &format!(" {v:>12.4}"),
                None => text += &format!(" {:>12}", "-"),
            }
        }
        text += "\n";
    }
    text
}

/// The metrics as a JSON object.
pub(super) fn metrics_json(e: &Evaluation) -> Json {
    Json::Object(
        e.metrics
            .iter()
            .map(|(n, v)| (n.to_string(), Json::Number(*v)))
            .collect(),
    )
}

fn evaluation_json(ckpt: &Path, set: &EvalSet, e: &Evaluation) -> Json {
    Json::Object(vec![
        ("checkpoint".into(), Json::str(ckpt.display().to_string())),
        ("heldout_images".into(), Json::Number(set.len() as f64)),
        ("noise_seed".into(), Json::str(set.noise_seed.to_string())),
        ("metrics".into(), metrics_json(e)),
        (
            "class_counts".into(),
            Json::Array(
                e.class_counts
                    .iter()
                    .map(|&c| Json::Number(c as f64))
                    .collect(),
            ),
        ),
    ])
}

/// [n, 3] float64: per held-out item, correct / sample in real manifold / real in generated manifold.
fn per_item_npy(e: &Evaluation) -> Vec<u8> {
    let n = e.correct.len();
    let values: Vec<f64> = (0..n)
        .flat_map(|i| [e.correct[i], e.fake_in_real[i], e.real_in_fake[i]])
        .collect();
    npy::encode_f64(&[n, 3], &values)
}
