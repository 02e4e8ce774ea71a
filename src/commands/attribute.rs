//! `gan attribute`: model attribution, which of several generators made an image.
//!
//! ```text
//!   gan attribute train --generators CKPT,CKPT,... --out DIR   trains a K-way classifier
//!   gan attribute --model DIR/attributor.safetensors IMAGES...  the likeliest generator per image
//! ```

use super::detect::{image_files, out_dir, read_images, train_and_report, with_classifier_flags};
use crate::cli::{opt, Command, Matches};
use crate::error::{Error, Result};
use crate::forensics::classify::{ForensicModel, Task};
use crate::forensics::data::{attribution_set, Source};
use std::path::Path;

pub(super) const ATTRIBUTE: Command = Command {
    name: "attribute",
    about: "Model attribution: 'attribute train' learns which generator made an image; 'attribute --model FILE IMAGES' answers it.",
    flags: with_classifier_flags![
        opt("generators", "CKPT,CKPT,...", "train: checkpoints of the generators to tell apart (at least 2)", None),
        opt("n", "N", "train: samples of every generator", Some("1000")),
        opt("model", "FILE", "the attributor.safetensors written by 'gan attribute train'", None),
    ],
    positionals: "[train] [IMAGES...]",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    if m.positionals.first().map(String::as_str) == Some("train") {
        if m.positionals.len() > 1 {
            return Err(Error::usage(
                "gan attribute train: takes no image files (the images come from --generators)",
            ));
        }
        return train(m);
    }
    let path = m.text("model").ok_or_else(|| {
        Error::usage(
            "gan attribute: give --model FILE and image files, or use 'gan attribute train'",
        )
    })?;
    let mut model = ForensicModel::load(Path::new(path), Task::Attribute)?;
    let mut votes = vec![0usize; model.names.len()];
    for file in image_files(m, "attribute")? {
        let images = read_images(Path::new(&file))?;
        for (i, row) in model.probabilities(&images)?.iter().enumerate() {
            let best = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            votes[best] += 1;
            println!("{file}[{i}]  {} (P = {:.4})", model.names[best], row[best]);
        }
    }
    let total: usize = votes.iter().sum();
    for (name, v) in model.names.iter().zip(&votes) {
        println!("{v:>6} of {total} attributed to {name}");
    }
    Ok(())
}

fn train(m: &Matches) -> Result<()> {
    let out = out_dir(m, "attribute")?;
    let paths: Vec<String> = m
        .text("generators")
        .ok_or_else(|| Error::usage("gan attribute train: --generators CKPT,CKPT,... is required"))?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    if paths.len() < 2 {
        return Err(Error::usage(format!(
            "gan attribute train: --generators needs at least 2 checkpoints to tell apart, found {}",
            paths.len()
        )));
    }
    let mut sources = paths
        .iter()
        .map(|p| Source::from_checkpoint(Path::new(p)))
        .collect::<Result<Vec<_>>>()?;
    let set = attribution_set(
        &mut sources,
        short_names(&paths),
        m.value("n")?,
        m.value("seed")?,
    )?;
    let summary = format!(
        "{} samples of each of {} generators",
        set.len() / paths.len(),
        paths.len()
    );
    train_and_report(m, Task::Attribute, &set, &summary, &out)
}

/// A short name per generator for tables and pictures: the run directory of a
/// `DIR/checkpoint.safetensors`, else the file's stem; the paths themselves if those clash.
fn short_names(paths: &[String]) -> Vec<String> {
    let short: Vec<String> = paths
        .iter()
        .map(|p| {
            let path = Path::new(p);
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            let dir = path
                .parent()
                .and_then(|d| d.file_name())
                .map(|s| s.to_string_lossy().into_owned());
            match (stem, dir) {
                (Some(stem), Some(dir)) if stem == "checkpoint" => dir,
                (Some(stem), _) => stem,
                _ => p.clone(),
            }
        })
        .collect();
    let unique = short
        .iter()
        .enumerate()
        .all(|(i, a)| short[..i].iter().all(|b| a != b));
    if unique {
        short
    } else {
        paths.to_vec()
    }
}
