//! `gan sample`: images from a trained generator, in evaluation mode (BatchNorm's running
//! statistics, as PyTorch's `model.eval()`), as a PNG grid and/or a .npy array.

use super::{parse_list, THREADS};
use crate::cli::{opt, Command, Flag, Matches};
use crate::error::{Error, Result};
use crate::gan::checkpoint::Checkpoint;
use crate::io::npy::{self, NpyData};
use crate::io::png::{image_grid, save_png};
use crate::io::write_atomic;
use crate::rng::{noise, Rng};
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

pub(super) const SAMPLE: Command = Command {
    name: "sample",
    about: "Draw images from a trained generator (a PNG grid and/or float32 .npy [N, C, H, W] in [-1, 1]).",
    flags: &[
        opt("checkpoint", "FILE", "the run's checkpoint.safetensors (required)", None),
        opt("n", "N", "how many samples (default 64; for a conditional model, labels cycle 0, 1, ...)", None),
        opt("per-class", "N", "N samples of every class, one row per class (conditional models)", None),
        opt("label", "C", "only class C (conditional models)", None),
        Flag {
            name: "seed",
            value: Some("S"),
            help: "draws the noise",
            default: Some("0"),
        },
        opt("z", "FILE", "take the noise from a float32 .npy [N, nz] instead of drawing it", None),
        opt("interpolate", "A,B", "a grid walking in z from sample A to sample B (rows of 10 steps)", None),
        opt("png", "FILE", "write the samples as a PNG grid", None),
        opt("npy", "FILE", "write the samples as .npy (labels beside it as FILE.labels.npy)", None),
        THREADS,
    ],
    positionals: "",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let checkpoint_path = PathBuf::from(
        m.text("checkpoint")
            .ok_or_else(|| Error::usage("gan sample: --checkpoint FILE is required"))?,
    );
    let (png, npy_out) = (
        m.text("png").map(PathBuf::from),
        m.text("npy").map(PathBuf::from),
    );
    if png.is_none() && npy_out.is_none() {
        return Err(Error::usage(
            "gan sample: say where to write the samples: --png FILE and/or --npy FILE",
        ));
    }
    let ckpt = Checkpoint::load(&checkpoint_path)?;
    if ckpt.config.data == "ring" {
        return Err(Error::usage("gan sample makes images; this checkpoint is of the 2-D ring (see its run directory's ring SVGs)"));
    }
    let (mut g, prior) = ckpt.generator()?;
    let (classes, nz) = (ckpt.classes, ckpt.config.nz);
    let seed: u64 = m.value("seed")?;
    let mut rng = Rng::new(seed);

    // The labels to ask for, and how many samples in a grid row.
    let label: Option<usize> = m.get("label")?;
    if let Some(c) = label {
        if c >= classes.max(1) || classes == 0 {
            return Err(Error::usage(format!(
                "--label {c}: this generator has {classes} classes"
            )));
        }
    }
    let per_class: Option<usize> = m.get("per-class")?;
    let (n, mut labels, columns) = match (per_class, classes) {
        (Some(_), 0) => {
            return Err(Error::usage(
                "--per-class needs a class-conditional generator",
            ))
        }
        (Some(k), _) => (
            k * classes,
            (0..k * classes).map(|i| i / k).collect::<Vec<_>>(),
            k,
        ),
        (None, _) => {
            let n = m.get("n")?.unwrap_or(64);
            (
                n,
                (0..n)
                    .map(|i| label.unwrap_or(i % classes.max(1)))
                    .collect(),
                8,
            )
        }
    };

    // The noise: drawn, read from a file, or interpolated.
    let mut eps = match m.text("z") {
        Some(path) => read_noise(Path::new(path), nz)?,
        None => noise::<f32>(&mut rng, n, nz, 1.0),
    };
    let mut columns = columns;
    if let Some(text) = m.text("interpolate") {
        let ends: Vec<usize> = parse_list(text, "interpolate")?;
        let [a, b] = ends[..] else {
            return Err(Error::usage("--interpolate takes two sample indices, A,B"));
        };
        if a.max(b) >= eps.rows() {
            return Err(Error::usage(format!(
                "--interpolate {a},{b}: there are {} samples",
                eps.rows()
            )));
        }
        const STEPS: usize = 10;
        let (za, zb) = (eps.row(a).to_vec(), eps.row(b).to_vec());
        eps = Tensor::from_fn(&[STEPS, nz], |k| {
            let t = (k / nz) as f32 / (STEPS - 1) as f32;
            (1.0 - t) * za[k % nz] + t * zb[k % nz]
        });
        labels = vec![labels[a]; STEPS];
        columns = STEPS;
    }
    if eps.rows() != labels.len() {
        labels = (0..eps.rows())
            .map(|i| label.unwrap_or(i % classes.max(1)))
            .collect();
    }
    let z = prior.reparameterise(&eps);
    let images = g.forward(&z, (classes > 0).then_some(&labels[..]));

    if let Some(path) = &png {
        let (w, h, c, pixels) = image_grid(&images, columns.min(images.rows()).max(1));
        save_png(path, w, h, c, &pixels)?;
        println!("wrote {} ({} samples)", path.display(), images.rows());
    }
    if let Some(path) = &npy_out {
        write_atomic(path, &npy::encode_f32(images.shape(), images.as_slice()))?;
        println!(
            "wrote {} (float32 {:?}, values in [-1, 1])",
            path.display(),
            images.shape()
        );
        if classes > 0 {
            let label_path = labels_path(path);
            let values: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            write_atomic(&label_path, &npy::encode_i64(&[values.len()], &values))?;
            println!("wrote {} (int64 labels)", label_path.display());
        }
    }
    Ok(())
}

/// FILE.npy -> FILE.labels.npy
fn labels_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}.labels.npy"))
}

/// Noise vectors from a float .npy of shape [N, nz].
fn read_noise(path: &Path, nz: usize) -> Result<Tensor<f32>> {
    let array = npy::load(path)?;
    let NpyData::F64(values) = array.data else {
        return Err(Error::format(
            path,
            "floating-point noise vectors",
            format!("{} values", array.data.kind()),
        ));
    };
    match array.shape[..] {
        [n, d] if d == nz && n > 0 => {
            Tensor::from_vec(&[n, nz], values.iter().map(|&v| v as f32).collect())
        }
        _ => Err(Error::format(
            path,
            format!("noise of shape [N, {nz}]"),
            format!("shape {:?}", array.shape),
        )),
    }
}
