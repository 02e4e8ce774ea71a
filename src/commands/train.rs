//! `gan train`: Algorithm 1 on a data set, into a run directory. With no flags: the main job, a
//! class-conditional DCGAN on the built-in digits.

use super::THREADS;
use crate::cli::{opt, switch, Command, Flag, Matches};
use crate::data::files;
use crate::error::{Error, Result};
use crate::gan::loss::GeneratorLoss;
use crate::gan::run::{self, RunOptions};
use crate::gan::train::{OptimizerKind, TrainConfig};
use crate::models::upsampling_plan;
use std::path::{Path, PathBuf};

pub(super) const TRAIN: Command = Command {
    name: "train",
    about: "Train a GAN with Algorithm 1 (k D steps, then one G step) and write its pictures and checkpoint.",
    flags: &[
        opt("data", "NAME", "digits (28x28 grey), shapes (32x32 RGB), ring (2-D points), or a .npy, IDX or CIFAR-10 file (or directory) of images", Some("digits")),
        Flag {
            name: "labels",
            value: Some("FILE"),
            help: "the class labels of --data FILE: a .npy of integers or an IDX label file",
            default: None,
        },
        Flag {
            name: "resize",
            value: Some("N"),
            help: "pad the images of --data FILE to a square (with -1) and resize them to N x N",
            default: None,
        },
        opt("data-size", "N", "how many examples to draw from a built-in data set", Some("60000")),
        switch("conditional", "class-conditional G and D (the default for labelled images)"),
        switch("unconditional", "ignore the labels"),
        Flag {
            name: "image-size",
            value: Some("N"),
            help: "side of the images (default: the data's)",
            default: None,
        },
        opt("steps", "N", "training iterations", Some("1200")),
        opt("batch", "M", "minibatch size m", Some("64")),
        opt("k", "K", "discriminator steps per generator step", Some("1")),
        opt("loss", "KIND", "generator loss: minimax or non-saturating", Some("non-saturating")),
        opt("optimizer", "KIND", "adam or sgd (with momentum)", Some("adam")),
        opt("lr-g", "LR", "generator learning rate", Some("0.0002")),
        opt("lr-d", "LR", "discriminator learning rate", Some("0.0002")),
        opt("beta1", "B", "Adam's beta1", Some("0.5")),
        opt("beta2", "B", "Adam's beta2", Some("0.999")),
        opt("momentum", "MU", "SGD's momentum", Some("0.9")),
        switch("patch", "PatchGAN discriminator: one logit per patch"),
        opt("seed", "S", "fixes the whole run", Some("1")),
        opt("nz", "N", "length of the noise vector z", Some("100")),
        opt("ngf", "N", "generator width", Some("64")),
        opt("ndf", "N", "discriminator width", Some("64")),
        opt("hidden", "N", "width of the 2-D players (ring)", Some("128")),
        opt("noise-std", "SIGMA", "z ~ N(0, sigma^2 I)", Some("1")),
        switch("learn-prior", "learn the prior's mu and sigma by reparameterisation"),
        opt("out", "DIR", "the run directory", Some("runs/train")),
        opt("sample-every", "N", "write a sample grid every N steps (0: only at the end)", Some("200")),
        opt("save-every", "N", "write the checkpoint every N steps (0: only at the end)", Some("500")),
        Flag {
            name: "resume",
            value: Some("DIR"),
            help: "continue the run in DIR from its checkpoint (--steps may raise the total)",
            default: None,
        },
        Flag {
            name: "init",
            value: Some("CKPT"),
            help: "start G and D from this checkpoint (fine-tuning; optimisers start fresh)",
            default: None,
        },
        Flag {
            name: "watermark",
            value: Some("FILE"),
            help: "a watermark decoder.safetensors (gan watermark train): G learns to carry --key",
            default: None,
        },
        Flag {
            name: "key",
            value: Some("HEX"),
            help: "the watermark key, as hex digits (8 for 32 bits)",
            default: None,
        },
        opt("watermark-weight", "BETA", "the weight beta of the watermark term in G's loss", Some("1")),
        opt("watermark-clean", "S", "the share of the undamaged reading in the watermark term (0 to 1)", Some("0")),
        Flag {
            name: "watermark-encoder",
            value: Some("FILE"),
            help: "the encoder.safetensors beside --watermark's decoder: D's real images carry the mark too",
            default: None,
        },
        switch("quiet", "print nothing but the final summary"),
        THREADS,
    ],
    positionals: "",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let summary = if let Some(dir) = m.text("resume") {
        let options = options(m, PathBuf::from(dir))?;
        let steps = if m.was_given("steps") {
            m.get("steps")?
        } else {
            None
        };
        run::resume(steps, &options)?
    } else {
        let config = config(m)?;
        let options = options(m, PathBuf::from(m.text("out").unwrap_or("runs/train")))?;
        if !options.quiet {
            println!(
                "training: {} -> {}",
                describe(&config),
                options.out.display()
            );
        }
        run::train(config, &options)?
    };
    let s = &summary.last;
    if summary.steps == summary.first_step {
        println!(
            "the run in {} is already at step {}: nothing to do (raise --steps to continue it)",
            summary.out.display(),
            summary.steps
        );
    } else {
        println!(
            "done: steps {} to {} in {:.1} s; last step: d_loss {:.3}, g_loss {:.3}, D(x) {:.2}, D(G(z)) {:.2}",
            summary.first_step + 1,
            summary.steps,
            summary.seconds,
            s.d_loss,
            s.g_loss,
            s.d_x,
            s.d_g_z
        );
    }
    println!("checkpoint: {}", summary.checkpoint.display());
    println!("final samples: {}", summary.final_samples.display());
    Ok(())
}

fn options(m: &Matches, out: PathBuf) -> Result<RunOptions> {
    Ok(RunOptions {
        out,
        sample_every: m.value("sample-every")?,
        save_every: m.value("save-every")?,
        quiet: m.flag("quiet"),
    })
}

/// The configuration the flags describe (`gan restarts` reads train's flags too).
pub(super) fn config(m: &Matches) -> Result<TrainConfig> {
    let data: String = m.value("data")?;
    let labels = m.text("labels").map(str::to_string);
    let resize: Option<usize> = m.get("resize")?;
    let (default_size, labelled) = match data.as_str() {
        "digits" => (28, true),
        "shapes" => (32, true),
        "ring" => (0, false),
        path if Path::new(path).exists() => inspect_files(m, path, labels.as_deref(), resize)?,
        other => {
            return Err(Error::usage(format!(
                "--data: '{other}' is neither a built-in data set (digits, shapes, ring) nor a file or directory that exists"
            )))
        }
    };
    if (labels.is_some() || resize.is_some())
        && matches!(data.as_str(), "digits" | "shapes" | "ring")
    {
        return Err(Error::usage(format!(
            "--labels and --resize apply to image files, not to the built-in data set '{data}'"
        )));
    }
    if m.flag("conditional") && m.flag("unconditional") {
        return Err(Error::usage(
            "--conditional and --unconditional contradict each other",
        ));
    }
    let loss_text: String = m.value("loss")?;
    let loss = GeneratorLoss::parse(&loss_text).ok_or_else(|| {
        Error::usage(format!(
            "--loss: '{loss_text}' is neither 'minimax' nor 'non-saturating'"
        ))
    })?;
    let optimizer = match m.text("optimizer") {
        Some("adam") => OptimizerKind::Adam,
        Some("sgd") => OptimizerKind::Sgd,
        other => {
            return Err(Error::usage(format!(
                "--optimizer: '{}' is neither 'adam' nor 'sgd'",
                other.unwrap_or("")
            )))
        }
    };
    let config = TrainConfig {
        conditional: labelled && !m.flag("unconditional"),
        image_size: m.get("image-size")?.unwrap_or(default_size),
        data_size: m.value("data-size")?,
        steps: m.value("steps")?,
        batch: m.value("batch")?,
        d_steps_per_g_step: m.value("k")?,
        loss,
        optimizer,
        lr_g: m.value("lr-g")?,
        lr_d: m.value("lr-d")?,
        betas: (m.value("beta1")?, m.value("beta2")?),
        momentum: m.value("momentum")?,
        patch: m.flag("patch"),
        seed: m.value("seed")?,
        nz: m.value("nz")?,
        ngf: m.value("ngf")?,
        ndf: m.value("ndf")?,
        hidden: m.value("hidden")?,
        noise_std: m.value("noise-std")?,
        learn_prior: m.flag("learn-prior"),
        watermark: m.text("watermark").map(str::to_string),
        key: m.text("key").map(str::to_string),
        watermark_weight: m.value("watermark-weight")?,
        watermark_clean: m.value("watermark-clean")?,
        watermark_encoder: m.text("watermark-encoder").map(str::to_string),
        init: m.text("init").map(str::to_string),
        data,
        labels,
    };
    if data_is_ring(&config) && m.flag("conditional") {
        return Err(Error::usage(
            "--conditional needs labelled images; the ring has none",
        ));
    }
    if m.flag("conditional") && !labelled {
        return Err(Error::usage(format!(
            "--conditional needs labelled images; give the labels of {} with --labels FILE",
            config.data
        )));
    }
    for (name, value) in [
        ("steps", config.steps),
        ("batch", config.batch),
        ("k", config.d_steps_per_g_step),
        ("nz", config.nz),
    ] {
        if value == 0 {
            return Err(Error::usage(format!("--{name} must be at least 1")));
        }
    }
    for (name, value) in [
        ("lr-g", config.lr_g),
        ("lr-d", config.lr_d),
        ("noise-std", config.noise_std),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(Error::usage(format!(
                "--{name} must be a positive number, found {value}"
            )));
        }
    }
    Ok(config)
}

/// Reads the images of `--data PATH` once before training: prints what the reader noticed,
/// checks that the generator can build them (or that --resize was given), and returns their
/// side and whether they have labels. (The run reads them again, as a resumed run does.)
fn inspect_files(
    m: &Matches,
    path: &str,
    labels: Option<&str>,
    resize: Option<usize>,
) -> Result<(usize, bool)> {
    let loaded = files::load_images(Path::new(path), labels.map(Path::new))?;
    if !m.flag("quiet") {
        for note in &loaded.notes {
            println!("data: {note}");
        }
    }
    let set = &loaded.dataset;
    let size = match resize {
        Some(n) => {
            upsampling_plan(n).map_err(|e| Error::usage(format!("--resize {n}: {e}")))?;
            let (_, h, w) = set.image_shape();
            if (h, w) != (n, n) && !m.flag("quiet") {
                println!(
                    "data: {h} x {w} images padded to a square with -1 and resized to {n} x {n}"
                );
            }
            n
        }
        None => {
            files::check_buildable(set)?;
            set.image_shape().1
        }
    };
    if let Some(asked) = m.get::<usize>("image-size")? {
        if asked != size {
            return Err(Error::usage(match resize {
                Some(n) => format!("--image-size {asked} contradicts --resize {n}"),
                None => format!(
                    "--image-size {asked}: the images of {path} are {size} x {size}; to change \
                     their size, use --resize N"
                ),
            }));
        }
    }
    Ok((size, set.classes > 0))
}

fn data_is_ring(config: &TrainConfig) -> bool {
    config.data == "ring"
}

fn describe(c: &TrainConfig) -> String {
    let mut extra = String::new();
    if let Some(init) = &c.init {
        extra += &format!(", starting from {init}");
    }
    if let (Some(decoder), Some(key)) = (&c.watermark, &c.key) {
        extra += &format!(
            ", watermark key {key} (decoder {decoder}, beta {}, clean share {})",
            c.watermark_weight, c.watermark_clean
        );
        if let Some(encoder) = &c.watermark_encoder {
            extra += &format!(", real images marked by {encoder}");
        }
    }
    format!(
        "{}{} {}x{}, {} steps of batch {}, k = {}, {} loss, {}{extra}",
        if c.conditional { "conditional " } else { "" },
        c.data,
        c.image_size,
        c.image_size,
        c.steps,
        c.batch,
        c.d_steps_per_g_step,
        c.loss.name(),
        if c.optimizer == OptimizerKind::Adam {
            "Adam"
        } else {
            "SGD with momentum"
        }
    )
}
