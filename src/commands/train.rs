//! `gan train`: Algorithm 1 on a data set, into a run directory. With no flags: the main job, a
//! class-conditional DCGAN on the built-in digits.

use super::THREADS;
use crate::cli::{Command, Flag, Matches};
use crate::error::{Error, Result};
use crate::gan::loss::GeneratorLoss;
use crate::gan::run::{self, RunOptions};
use crate::gan::train::{OptimizerKind, TrainConfig};
use std::path::PathBuf;

const fn flag(
    name: &'static str,
    value: &'static str,
    help: &'static str,
    default: &'static str,
) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
        default: Some(default),
    }
}

const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
        default: None,
    }
}

pub(super) const TRAIN: Command = Command {
    name: "train",
    about: "Train a GAN with Algorithm 1 (k D steps, then one G step) and write its pictures and checkpoint.",
    flags: &[
        flag("data", "NAME", "digits (28x28 grey), shapes (32x32 RGB) or ring (2-D points)", "digits"),
        flag("data-size", "N", "how many examples to draw from a built-in data set", "60000"),
        switch("conditional", "class-conditional G and D (the default for labelled images)"),
        switch("unconditional", "ignore the labels"),
        Flag {
            name: "image-size",
            value: Some("N"),
            help: "side of the images (default: the data's)",
            default: None,
        },
        flag("steps", "N", "training iterations", "1200"),
        flag("batch", "M", "minibatch size m", "64"),
        flag("k", "K", "discriminator steps per generator step", "1"),
        flag("loss", "KIND", "generator loss: minimax or non-saturating", "non-saturating"),
        flag("optimizer", "KIND", "adam or sgd (with momentum)", "adam"),
        flag("lr-g", "LR", "generator learning rate", "0.0002"),
        flag("lr-d", "LR", "discriminator learning rate", "0.0002"),
        flag("beta1", "B", "Adam's beta1", "0.5"),
        flag("beta2", "B", "Adam's beta2", "0.999"),
        flag("momentum", "MU", "SGD's momentum", "0.9"),
        switch("patch", "PatchGAN discriminator: one logit per patch"),
        flag("seed", "S", "fixes the whole run", "1"),
        flag("nz", "N", "length of the noise vector z", "100"),
        flag("ngf", "N", "generator width", "64"),
        flag("ndf", "N", "discriminator width", "64"),
        flag("hidden", "N", "width of the 2-D players (ring)", "128"),
        flag("noise-std", "SIGMA", "z ~ N(0, sigma^2 I)", "1"),
        switch("learn-prior", "learn the prior's mu and sigma by reparameterisation"),
        flag("out", "DIR", "the run directory", "runs/train"),
        flag("sample-every", "N", "write a sample grid every N steps (0: only at the end)", "200"),
        flag("save-every", "N", "write the checkpoint every N steps (0: only at the end)", "500"),
        Flag {
            name: "resume",
            value: Some("DIR"),
            help: "continue the run in DIR from its checkpoint (--steps may raise the total)",
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
    println!(
        "done: {} steps in {:.1} s; last step: d_loss {:.3}, g_loss {:.3}, D(x) {:.2}, D(G(z)) {:.2}",
        summary.steps, summary.seconds, s.d_loss, s.g_loss, s.d_x, s.d_g_z
    );
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

/// The configuration the flags describe.
fn config(m: &Matches) -> Result<TrainConfig> {
    let data: String = m.value("data")?;
    let default_size = match data.as_str() {
        "digits" => 28,
        "shapes" => 32,
        "ring" => 0,
        other => {
            return Err(Error::usage(format!(
                "--data: '{other}' is not a built-in data set (digits, shapes, ring); training on your own files comes with chapter 11"
            )))
        }
    };
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
        conditional: data != "ring" && !m.flag("unconditional"),
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
        data,
    };
    if data_is_ring(&config) && m.flag("conditional") {
        return Err(Error::usage(
            "--conditional needs labelled images; the ring has none",
        ));
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

fn data_is_ring(config: &TrainConfig) -> bool {
    config.data == "ring"
}

fn describe(c: &TrainConfig) -> String {
    format!(
        "{}{} {}x{}, {} steps of batch {}, k = {}, {} loss, {}",
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
