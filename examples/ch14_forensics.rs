//! Chapter 14: fake detection, model attribution and image attribution, measured.
//!
//! cargo run --release --example ch14_forensics [digits | user]
//!
//! Trains (or reuses) three generators that differ only by their seed, on the built-in digits
//! (the main job's configuration, 600 steps) and on a "user" data set written to a .npy file
//! (the digits with black and white swapped, read back as any user's file would be; 300 steps
//! of generators half as wide). Then, for
//! each data set, it measures:
//!
//! - a detector trained on seed 1's fakes: held-out accuracy and ROC AUC on seed 1's fakes,
//!   and on seed 2's fakes (a generator it never saw);
//! - seed 1's own discriminator used as a detector, on seed 1's and on seed 2's fakes;
//! - model attribution among the three seeds (accuracy, AUC, confusion-matrix SVG);
//! - image attribution: the nearest training images of samples (PNG), and chapter 12's
//!   memorisation check (distance to the nearest training image, samples against held-out real
//!   images).
//!
//! Everything goes to `runs/ch14_forensics/`. Existing checkpoints are reused, so a second run
//! only measures. Expect some minutes the first time (six GAN runs), progress is printed.

use gan::data::Dataset;
use gan::eval::classifier::{train_classifier, ClassifierConfig, ClassifierTraining};
use gan::eval::memorisation::memorisation;
use gan::forensics::classify::{ForensicModel, Task};
use gan::forensics::data::{attribution_set, detection_set, Labelled, Source};
use gan::forensics::discriminator::{discriminator_from_checkpoint, discriminator_p_fake};
use gan::forensics::image_attribution::{attribute_images, side_by_side};
use gan::forensics::roc::{accuracy_at, auc};
use gan::gan::run::{self, RunOptions};
use gan::gan::train::TrainConfig;
use gan::io::npy;
use gan::io::png::{image_grid, save_png};
use gan::{Error, Result, Tensor};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Generator training steps per run on the digits (the main job has 1200), and on the user's
/// file, where the generators are also half as wide (ngf = ndf = 32) to save time.
const STEPS: usize = 600;
const USER_STEPS: usize = 300;
/// Real images (and as many fakes) for detection; samples per generator for attribution.
const N_DETECT: usize = 2000;
const N_ATTRIBUTE: usize = 1000;
/// Samples and held-out images in the memorisation check.
const N_MEMO: usize = 200;

/// One row of the final table.
struct Row {
    data: String,
    what: String,
    value: String,
}

fn main() -> Result<()> {
    let root = PathBuf::from("runs/ch14_forensics");
    let start = Instant::now();
    let mut table = Vec::new();

    // The user's data set: digits with black and white swapped, written as images + labels.
    let user_dir = root.join("user");
    std::fs::create_dir_all(&user_dir).map_err(|e| Error::io(&user_dir, e))?;
    let (user_images, user_labels) = (
        user_dir.join("inverted_digits.npy"),
        user_dir.join("inverted_digits.labels.npy"),
    );
    if !user_images.exists() {
        let set = inverted(Dataset::builtin("digits", 20_000, 7)?);
        std::fs::write(
            &user_images,
            npy::encode_f32(set.images.shape(), set.images.as_slice()),
        )
        .map_err(|e| Error::io(&user_images, e))?;
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        std::fs::write(&user_labels, npy::encode_i64(&[labels.len()], &labels))
            .map_err(|e| Error::io(&user_labels, e))?;
        println!("wrote {} and its labels", user_images.display());
    }

    let sets = [
        (
            "digits",
            TrainConfig {
                steps: STEPS,
                ..TrainConfig::default()
            },
            root.join("digits"),
        ),
        (
            "user file",
            TrainConfig {
                data: user_images.display().to_string(),
                labels: Some(user_labels.display().to_string()),
                steps: USER_STEPS,
                ngf: 32,
                ndf: 32,
                ..TrainConfig::default()
            },
            root.join("user"),
        ),
    ];
    // Only one of the two data sets, if asked.
    let only_set = std::env::args().nth(1);
    let wanted = |i: usize| match only_set.as_deref() {
        Some("digits") => i == 0,
        Some("user") => i == 1,
        _ => true,
    };
    // All runs first (the user's set first: it is the one nobody has trained yet).
    let mut checkpoints = vec![Vec::new(), Vec::new()];
    for i in [1, 0].into_iter().filter(|&i| wanted(i)) {
        let (_, base, dir) = &sets[i];
        for seed in 1..=3u64 {
            let config = TrainConfig {
                seed,
                ..base.clone()
            };
            checkpoints[i].push(ensure_run(&dir.join(format!("seed{seed}")), config, start)?);
        }
    }
    for (i, ((name, base, dir), checkpoints)) in sets.iter().zip(&checkpoints).enumerate() {
        if !wanted(i) {
            continue;
        }
        measure(name, base, checkpoints, dir, &mut table, start)?;
    }

    println!("\n| data | measurement | result |\n|---|---|---|");
    for row in &table {
        println!("| {} | {} | {} |", row.data, row.what, row.value);
    }
    println!("\ntotal {:.0} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The digits with black and white swapped: x -> -x in [-1, 1].
fn inverted(mut set: Dataset) -> Dataset {
    set.images.map_inplace(|x| -x);
    set.name = "inverted digits".into();
    set
}

/// The checkpoint of the run in `dir`, trained first if it is not there.
fn ensure_run(dir: &Path, config: TrainConfig, start: Instant) -> Result<PathBuf> {
    let checkpoint = run::checkpoint_path(dir);
    if checkpoint.exists() {
        println!("reusing {}", checkpoint.display());
        return Ok(checkpoint);
    }
    println!(
        "[{:>4.0} s] training {} (seed {}, {} steps) into {}",
        start.elapsed().as_secs_f64(),
        config.data,
        config.seed,
        config.steps,
        dir.display()
    );
    let options = RunOptions {
        out: dir.to_path_buf(),
        sample_every: 0,
        save_every: 0,
        quiet: true,
    };
    let summary = run::train(config, &options)?;
    println!("  done in {:.0} s", summary.seconds);
    Ok(checkpoint)
}

fn classifier_training(seed: u64) -> ClassifierTraining {
    ClassifierTraining {
        steps: 600,
        batch: 64,
        lr: 1e-3,
        seed,
    }
}

/// Real images the GANs never saw: fresh built-in draws, or the user's set drawn afresh.
fn fresh_real(name: &str, n: usize, seed: u64) -> Result<Dataset> {
    let set = Dataset::builtin("digits", n, seed)?;
    Ok(if name == "digits" { set } else { inverted(set) })
}

/// The images of `set` with class `class`.
fn only(set: &Labelled, class: usize) -> Tensor<f32> {
    let keep: Vec<usize> = (0..set.len()).filter(|&i| set.labels[i] == class).collect();
    set.pick(&keep).images
}

fn measure(
    name: &str,
    base: &TrainConfig,
    checkpoints: &[PathBuf],
    dir: &Path,
    table: &mut Vec<Row>,
    start: Instant,
) -> Result<()> {
    let mut row = |what: &str, value: String| {
        println!("  {what}: {value}");
        table.push(Row {
            data: name.into(),
            what: what.into(),
            value,
        });
    };
    let clock = || format!("[{:>4.0} s]", start.elapsed().as_secs_f64());
    let mut sources = checkpoints
        .iter()
        .map(|c| Source::from_checkpoint(c))
        .collect::<Result<Vec<_>>>()?;

    // ---- detection: a detector trained on seed 1's fakes ----
    println!("{} {name}: detection", clock());
    let real = fresh_real(name, N_DETECT, 101)?;
    let set = detection_set(&real, &mut sources[..1], 11)?;
    let (train, test) = set.split(0.25, 12);
    let mut detector = ForensicModel::train(
        Task::Detect,
        &train,
        32,
        128,
        &classifier_training(13),
        &mut |_, _| {},
    )?;
    let same = detector.evaluate(&test)?;
    row(
        "detector, held-out fakes of the same generator (seed 1)",
        format!("accuracy {:.3}, AUC {:.3}", same.accuracy, same.auc),
    );
    let real_test = only(&test, 0);
    let n_real = real_test.shape()[0];
    let other_fakes = sources[1].sample(n_real, 14).0;
    let cross = Labelled::from_groups(
        vec![real_test.clone(), other_fakes],
        vec!["real".into(), "fake".into()],
    )?;
    let cross = detector.evaluate(&cross)?;
    row(
        "detector trained on seed 1, tested on seed 2's fakes",
        format!("accuracy {:.3}, AUC {:.3}", cross.accuracy, cross.auc),
    );

    // A rule by hand, for comparison: the data's backgrounds sit at exactly -1 (or +1), which a
    // tanh output reaches only when it saturates. Score = the fraction of pixels strictly inside.
    let inside: Vec<f64> = (0..test.len())
        .map(|i| {
            let image = test.pick(&[i]).images;
            let strictly = image.as_slice().iter().filter(|v| v.abs() < 1.0).count();
            strictly as f64 / image.len() as f64
        })
        .collect();
    let truth: Vec<bool> = test.labels.iter().map(|&l| l == 1).collect();
    row(
        "hand-made rule: fraction of pixels strictly inside (-1, 1)",
        format!("AUC {:.3}", auc(&inside, &truth)?),
    );

    // The same held-out images rounded to 256 grey levels, as saving them to a PNG would: real
    // and fake backgrounds now both sit at exactly -1 (or +1).
    let mut rounded = test.clone();
    rounded
        .images
        .map_inplace(|v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() / 127.5 - 1.0);
    let inside_rounded: Vec<f64> = (0..rounded.len())
        .map(|i| {
            let image = rounded.pick(&[i]).images;
            let strictly = image.as_slice().iter().filter(|v| v.abs() < 1.0).count();
            strictly as f64 / image.len() as f64
        })
        .collect();
    let after = detector.evaluate(&rounded)?;
    row(
        "the same, held-out images rounded to 8 bits: detector / hand-made rule",
        format!(
            "detector accuracy {:.3}, AUC {:.3} / rule AUC {:.3}",
            after.accuracy,
            after.auc,
            auc(&inside_rounded, &truth)?
        ),
    );

    // ---- the GAN's own discriminator as a detector ----
    println!("{} {name}: the discriminator as a detector", clock());
    let mut d = discriminator_from_checkpoint(&checkpoints[0])?;
    let real_d = fresh_real(name, 500, 102)?;
    let real_scores = discriminator_p_fake(&mut d, &real_d.images, &real_d.labels);
    for (k, label) in [
        (0, "seed 1's D on seed 1's fakes"),
        (1, "seed 1's D on seed 2's fakes"),
    ] {
        let (fakes, labels) = sources[k].sample(500, 103);
        let fake_scores = discriminator_p_fake(&mut d, &fakes, &labels);
        let scores: Vec<f64> = real_scores.iter().chain(&fake_scores).copied().collect();
        let truth: Vec<bool> = (0..1000).map(|i| i >= 500).collect();
        row(
            label,
            format!(
                "accuracy {:.3}, AUC {:.3} (mean P(fake): real {:.3}, fake {:.3})",
                accuracy_at(&scores, &truth, 0.5),
                auc(&scores, &truth)?,
                real_scores.iter().sum::<f64>() / 500.0,
                fake_scores.iter().sum::<f64>() / 500.0
            ),
        );
    }

    // ---- model attribution among the three seeds ----
    println!("{} {name}: model attribution", clock());
    let names = vec!["seed 1".to_string(), "seed 2".into(), "seed 3".into()];
    let set = attribution_set(&mut sources, names, N_ATTRIBUTE, 21)?;
    let (train, test) = set.split(0.25, 22);
    let mut attributor = ForensicModel::train(
        Task::Attribute,
        &train,
        32,
        128,
        &classifier_training(23),
        &mut |_, _| {},
    )?;
    let held_out = attributor.evaluate(&test)?;
    let svg = dir.join("attribution_confusion.svg");
    held_out
        .confusion
        .save_svg(&svg, &format!("{name}: which seed made it? (held out)"))?;
    print!("{}", held_out.confusion.to_text());
    row(
        "attribution among 3 seeds (chance 0.333)",
        format!(
            "accuracy {:.3}, mean AUC {:.3}",
            held_out.accuracy, held_out.auc
        ),
    );
    println!("  wrote {}", svg.display());

    // ---- image attribution and memorisation ----
    println!("{} {name}: nearest training images", clock());
    let training = match run::load_training_data(&TrainConfig {
        seed: 1,
        ..base.clone()
    })? {
        gan::gan::train::TrainingData::Images(set) => set,
        gan::gan::train::TrainingData::Points(_) => unreachable!("image data"),
    };
    let (c, h, _) = training.image_shape();
    let mut judge = train_classifier(
        &training.images,
        &training.labels,
        ClassifierConfig::new(c, h, training.classes),
        &classifier_training(31),
        &mut |_, _| {},
    )?;
    let samples = sources[0].sample(N_MEMO, 32).0;
    let held = fresh_real(name, N_MEMO, 103)?.images;
    // Chapter 12's memorisation check, on flattened pixels and on the judge's features.
    let flat = |t: &Tensor<f32>| {
        let n = t.shape()[0];
        t.clone().reshape(&[n, t.len() / n])
    };
    let pixels = memorisation(&flat(&samples)?, &flat(&held)?, &flat(&training.images)?);
    row(
        "memorisation, pixel space: median nearest-train distance, samples / held-out",
        format!(
            "{:.2} / {:.2} = {:.2}; samples closer than 95% of held-out: {:.1}%",
            pixels.sample_median,
            pixels.heldout_median,
            pixels.ratio,
            100.0 * pixels.closer_than_heldout
        ),
    );
    let train_features = judge.features(&training.images);
    let features = memorisation(
        &judge.features(&samples),
        &judge.features(&held),
        &train_features,
    );
    row(
        "memorisation, feature space: the same",
        format!(
            "{:.2} / {:.2} = {:.2}; samples closer than 95% of held-out: {:.1}%",
            features.sample_median,
            features.heldout_median,
            features.ratio,
            100.0 * features.closer_than_heldout
        ),
    );
    let queries = Tensor::from_vec(&[6, c, h, h], samples.as_slice()[..6 * c * h * h].to_vec())?;
    let found = attribute_images(&training.images, &queries, 5, &mut judge)?;
    let same_class = found
        .pixel
        .iter()
        .zip(&found.feature)
        .map(|(p, f)| (p.indices[0], f.indices[0]))
        .filter(|&(p, f)| training.labels[p] == training.labels[f])
        .count();
    row(
        "nearest training image, pixel vs feature space: same class",
        format!("{same_class} of 6 samples"),
    );
    let png = dir.join("nearest.png");
    let (w, hh, ch, px) = image_grid(&side_by_side(&training.images, &queries, &found), 13);
    save_png(&png, w, hh, ch, &px)?;
    println!("  wrote {}", png.display());
    Ok(())
}
