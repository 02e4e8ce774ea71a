//! `gan nearest`: image attribution as far as it goes, the k nearest training images of each
//! given image, in pixel space and in a classifier's feature space, side by side in a PNG.
//!
//! ```text
//!   gan nearest --data digits IMAGES --k 5 --png nearest.png [--classifier FILE]
//! ```

use super::detect::{image_files, read_images};
use crate::cli::{opt, Command, Matches};
use crate::error::{Error, Result};
use crate::eval::classifier::{
    load_classifier, train_classifier, ClassifierConfig, ClassifierTraining,
};
use crate::forensics::data::{check_images, load_real};
use crate::forensics::image_attribution::{attribute_images, side_by_side};
use crate::io::png::{image_grid, save_png};
use std::path::Path;

pub(super) const NEAREST: Command = Command {
    name: "nearest",
    about: "Image attribution: the k nearest training images of each image, in pixel and in classifier-feature space (PNG).",
    flags: &[
        opt("data", "DATA", "the training images: digits, shapes, or a .npy/IDX/CIFAR file", Some("digits")),
        opt("labels", "FILE", "labels of --data FILE (to train the classifier)", None),
        opt("data-size", "N", "how many training images (a built-in set is drawn as 'gan train' draws it)", Some("60000")),
        opt("data-seed", "S", "the seed the built-in set was drawn with ('gan train --seed')", Some("1")),
        opt("k", "K", "neighbours per image", Some("5")),
        opt("png", "FILE", "the picture: per row, the image | k nearest in pixels | k nearest in features", None),
        opt("classifier", "FILE", "a classifier saved by 'gan eval' or this command (else one is trained on DATA)", None),
        opt("save-classifier", "FILE", "keep the classifier trained here", None),
        opt("steps", "N", "classifier training steps", Some("600")),
        opt("seed", "S", "fixes the classifier", Some("1")),
        super::THREADS,
    ],
    positionals: "IMAGES...",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let k: usize = m.value("k")?;
    let png = m
        .text("png")
        .ok_or_else(|| Error::usage("gan nearest: --png FILE is required"))?;
    let mut queries = Vec::new();
    for file in image_files(m, "nearest")? {
        queries.push(read_images(Path::new(&file))?);
    }
    let first = queries[0].shape().to_vec();
    let size = first[2];
    let data: String = m.value("data")?;
    let (train, notes) = load_real(
        &data,
        m.text("labels").map(Path::new),
        m.value("data-size")?,
        m.value("data-seed")?,
        Some(size),
    )?;
    for note in notes {
        println!("data: {note}");
    }
    let expected = train.image_shape();
    let mut all = Vec::new();
    for (q, file) in queries.iter().zip(&m.positionals) {
        check_images(
            q,
            expected,
            &format!("{file} (compared with the images of {data})"),
        )?;
        all.extend_from_slice(q.as_slice());
    }
    let n_queries = all.len() / (expected.0 * expected.1 * expected.2);
    let queries =
        crate::tensor::Tensor::from_vec(&[n_queries, expected.0, expected.1, expected.2], all)?;
    let mut classifier = match m.text("classifier") {
        Some(path) => load_classifier(Path::new(path))?,
        None => {
            if train.classes < 2 {
                return Err(Error::usage(format!(
                    "gan nearest: {data} has no labels to train the classifier on; give --labels FILE or --classifier FILE"
                )));
            }
            let training = ClassifierTraining {
                steps: m.value("steps")?,
                seed: m.value("seed")?,
                ..ClassifierTraining::default()
            };
            println!(
                "training the feature classifier on {} images of {data} ({} steps)",
                train.len(),
                training.steps
            );
            let config = ClassifierConfig::new(expected.0, expected.1, train.classes);
            let every = (training.steps / 5).max(1);
            let c = train_classifier(
                &train.images,
                &train.labels,
                config,
                &training,
                &mut |step, loss| {
                    if step.is_multiple_of(every) {
                        println!("  step {step}: loss {loss:.4}");
                    }
                },
            )?;
            let mut c = c;
            if let Some(path) = m.text("save-classifier") {
                crate::eval::classifier::save_classifier(&mut c, Path::new(path))?;
                println!("wrote {path}");
            }
            c
        }
    };
    let found = attribute_images(&train.images, &queries, k, &mut classifier)?;
    for (i, (p, f)) in found.pixel.iter().zip(&found.feature).enumerate() {
        println!(
            "image {i}: nearest in pixels {:?} (squared distance {:.1}); in features {:?}",
            p.indices, p.distances[0], f.indices
        );
    }
    let grid = side_by_side(&train.images, &queries, &found);
    let (w, h, c, pixels) = image_grid(&grid, 2 * k + 3);
    save_png(png, w, h, c, &pixels)?;
    println!(
        "wrote {png}: per row the image | its {k} nearest training images in pixel space | in feature space"
    );
    Ok(())
}
