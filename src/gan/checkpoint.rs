//! Chapters 9 and 11. A training run saved in one safetensors file, so that `gan sample` can use
//! the generator, PyTorch can load it, and a run can continue exactly where it stopped.
//!
//! ```text
//!   generator.<i>.<name>        G's parameters and BatchNorm buffers, PyTorch's names
//!   discriminator.<i>.<name>    D's likewise
//!   prior.mu, prior.sigma       the noise prior z = mu + sigma eps
//!   optimizer_g.<j>.<slot>      G's optimiser state per parameter j (exp_avg, exp_avg_sq, or
//!   optimizer_d.<j>.<slot>      momentum_buffer), and D's
//!   state.*                     step counts and random-generator states (I64)
//!   __metadata__                format, step, and the whole configuration as JSON
//! ```
//!
//! Everything is stored in f32 (the training precision), so a resumed run continues bit for bit.

use super::loss::GeneratorLoss;
use super::prior::NoisePrior;
use super::train::{OptimizerKind, TrainConfig, Trainer};
use crate::data::BatcherState;
use crate::error::{Error, Result};
use crate::io::json::Json;
use crate::io::safetensors::{SafeTensors, StoredTensor};
use crate::layers::sequential::Sequential;
use crate::models::{Generator, GeneratorConfig};
use crate::optim::OptimizerState;
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::path::Path;

/// The value of the "format" metadata key.
pub const FORMAT: &str = "gan-checkpoint-1";

impl TrainConfig {
    /// The configuration as a JSON object (stored in every checkpoint).
    pub fn to_json(&self) -> Json {
        let num = |x: f64| Json::Number(x);
        let int = |x: usize| Json::Number(x as f64);
        Json::Object(vec![
            ("data".into(), Json::str(&self.data)),
            (
                "labels".into(),
                self.labels.as_ref().map_or(Json::Null, Json::str),
            ),
            ("data_size".into(), int(self.data_size)),
            ("conditional".into(), Json::Bool(self.conditional)),
            ("image_size".into(), int(self.image_size)),
            ("steps".into(), int(self.steps)),
            ("batch".into(), int(self.batch)),
            ("d_steps_per_g_step".into(), int(self.d_steps_per_g_step)),
            ("loss".into(), Json::str(self.loss.name())),
            (
                "optimizer".into(),
                Json::str(if self.optimizer == OptimizerKind::Adam {
                    "adam"
                } else {
                    "sgd"
                }),
            ),
            ("lr_g".into(), num(self.lr_g)),
            ("lr_d".into(), num(self.lr_d)),
            ("beta1".into(), num(self.betas.0)),
            ("beta2".into(), num(self.betas.1)),
            ("momentum".into(), num(self.momentum)),
            ("patch".into(), Json::Bool(self.patch)),
            // A seed may exceed 2^53, which a JSON number cannot hold exactly.
            ("seed".into(), Json::str(self.seed.to_string())),
            ("nz".into(), int(self.nz)),
            ("ngf".into(), int(self.ngf)),
            ("ndf".into(), int(self.ndf)),
            ("noise_std".into(), num(self.noise_std)),
            ("learn_prior".into(), Json::Bool(self.learn_prior)),
            ("hidden".into(), int(self.hidden)),
            // Chapter 14, so that a resumed run keeps its watermark.
            ("watermark".into(), optional(&self.watermark)),
            ("key".into(), optional(&self.key)),
            ("watermark_weight".into(), num(self.watermark_weight)),
            ("watermark_clean".into(), num(self.watermark_clean)),
            (
                "watermark_encoder".into(),
                optional(&self.watermark_encoder),
            ),
            ("init".into(), optional(&self.init)),
        ])
    }

    /// Reads a configuration written by [`TrainConfig::to_json`]; `what` names the source in errors.
    pub fn from_json(json: &Json, what: &str) -> Result<Self> {
        let field = |key: &str| {
            json.get(key)
                .ok_or_else(|| Error::msg(format!("{what}: the configuration has no '{key}'")))
        };
        let bad = |key: &str, expected: &str| {
            Error::msg(format!(
                "{what}: configuration '{key}' should be {expected}"
            ))
        };
        let int = |key: &str| -> Result<usize> {
            field(key)?
                .as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| bad(key, "a whole number"))
        };
        let num =
            |key: &str| -> Result<f64> { field(key)?.as_f64().ok_or_else(|| bad(key, "a number")) };
        let flag = |key: &str| -> Result<bool> {
            match field(key)? {
                Json::Bool(b) => Ok(*b),
                _ => Err(bad(key, "true or false")),
            }
        };
        let text = |key: &str| -> Result<String> {
            field(key)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(key, "a string"))
        };
        // Absent from older checkpoints (labels: chapter 11; watermark, key, init, watermark_encoder:
        // chapter 14).
        let optional_text = |key: &str| -> Result<Option<String>> {
            match json.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(value) => Ok(Some(
                    value
                        .as_str()
                        .ok_or_else(|| bad(key, "a string or null"))?
                        .to_string(),
                )),
            }
        };
        Ok(TrainConfig {
            data: text("data")?,
            labels: optional_text("labels")?,
            data_size: int("data_size")?,
            conditional: flag("conditional")?,
            image_size: int("image_size")?,
            steps: int("steps")?,
            batch: int("batch")?,
            d_steps_per_g_step: int("d_steps_per_g_step")?,
            loss: GeneratorLoss::parse(&text("loss")?)
                .ok_or_else(|| bad("loss", "minimax or non-saturating"))?,
            optimizer: match text("optimizer")?.as_str() {
                "adam" => OptimizerKind::Adam,
                "sgd" => OptimizerKind::Sgd,
                _ => return Err(bad("optimizer", "adam or sgd")),
            },
            lr_g: num("lr_g")?,
            lr_d: num("lr_d")?,
            betas: (num("beta1")?, num("beta2")?),
            momentum: num("momentum")?,
            patch: flag("patch")?,
            seed: text("seed")?
                .parse()
                .map_err(|_| bad("seed", "a whole number"))?,
            nz: int("nz")?,
            ngf: int("ngf")?,
            ndf: int("ndf")?,
            noise_std: num("noise_std")?,
            learn_prior: flag("learn_prior")?,
            hidden: int("hidden")?,
            watermark: optional_text("watermark")?,
            key: optional_text("key")?,
            watermark_weight: match json.get("watermark_weight") {
                None => 1.0,
                Some(_) => num("watermark_weight")?,
            },
            watermark_clean: match json.get("watermark_clean") {
                None => 0.0,
                Some(_) => num("watermark_clean")?,
            },
            watermark_encoder: optional_text("watermark_encoder")?,
            init: optional_text("init")?,
        })
    }
}

fn optional(text: &Option<String>) -> Json {
    text.as_ref().map_or(Json::Null, Json::str)
}

/// Saves everything needed to sample from, export, or resume the run, atomically.
pub fn save(trainer: &mut Trainer<f32>, path: &Path) -> Result<()> {
    let mut st = SafeTensors::default();
    st.metadata.push(("format".into(), FORMAT.into()));
    st.metadata.push(("step".into(), trainer.step.to_string()));
    st.metadata
        .push(("config".into(), trainer.config.to_json().to_text()));
    st.metadata
        .push(("classes".into(), trainer.g.config.classes.to_string()));
    st.metadata
        .push(("channels".into(), trainer.g.config.channels.to_string()));
    st.metadata
        .push(("generator".into(), trainer.g.net.describe()));
    for net in [&mut trainer.g.net, &mut trainer.d.net] {
        push_network(&mut st, net);
    }
    st.push("prior.mu", StoredTensor::from_tensor(&trainer.prior.mu));
    st.push(
        "prior.sigma",
        StoredTensor::from_tensor(&trainer.prior.sigma),
    );
    push_optimizer(&mut st, "optimizer_g", &trainer.opt_g.state());
    push_optimizer(&mut st, "optimizer_d", &trainer.opt_d.state());
    st.push(
        "state.step",
        StoredTensor::from_i64(&[1], &[trainer.step as i64]),
    );
    push_rng(&mut st, "state.rng", &trainer.rng);
    if let Some(mark) = &trainer.mark {
        // Chapter 14: the stream that draws the damage in G's watermark term.
        push_rng(&mut st, "state.watermark_rng", &mark.rng);
    }
    let b = trainer.batcher.state();
    let batcher = [
        b.n as i64,
        b.batch as i64,
        b.epoch as i64,
        b.position as i64,
    ];
    st.push("state.batcher", StoredTensor::from_i64(&[4], &batcher));
    st.push(
        "state.batcher_rng",
        StoredTensor::from_i64(&[4], &b.rng.map(|w| w as i64)),
    );
    st.save(path)
}

fn push_network(st: &mut SafeTensors, net: &mut Sequential<f32>) {
    for p in net.named_params() {
        st.push(p.name, StoredTensor::from_tensor(p.value));
    }
    for (name, buffer) in net.named_buffers() {
        st.push(name, StoredTensor::from_tensor(buffer));
    }
}

fn push_optimizer(st: &mut SafeTensors, prefix: &str, state: &OptimizerState<f32>) {
    st.push(
        format!("{prefix}.step"),
        StoredTensor::from_i64(&[1], &[state.step as i64]),
    );
    for (j, slots) in state.slots.iter().enumerate() {
        for (slot, t) in slots {
            st.push(format!("{prefix}.{j}.{slot}"), StoredTensor::from_tensor(t));
        }
    }
}

fn push_rng(st: &mut SafeTensors, name: &str, rng: &Rng) {
    st.push(
        name,
        StoredTensor::from_i64(&[4], &rng.state().map(|w| w as i64)),
    );
    let cached: Vec<f64> = rng.cached_gaussian().into_iter().collect();
    st.push(
        format!("{name}_cached_gaussian"),
        StoredTensor::from_tensor(&Tensor::from_vec(&[cached.len()], cached).expect("shape")),
    );
}

/// A checkpoint read back: its configuration, step and tensors.
pub struct Checkpoint {
    pub config: TrainConfig,
    pub step: usize,
    /// Classes of the conditional generator (0 if unconditional) and image channels.
    pub classes: usize,
    pub channels: usize,
    pub tensors: SafeTensors,
    path: std::path::PathBuf,
}

impl Checkpoint {
    pub fn load(path: &Path) -> Result<Self> {
        let tensors = SafeTensors::load(path)?;
        let what = path.display().to_string();
        if tensors.meta("format") != Some(FORMAT) {
            return Err(Error::format(
                path,
                format!("a checkpoint of this program (format '{FORMAT}')"),
                format!("format {:?}", tensors.meta("format")),
            ));
        }
        let config_text = tensors
            .meta("config")
            .ok_or_else(|| Error::format(path, "a 'config' entry", "none"))?;
        let config_json = Json::parse(config_text)
            .map_err(|e| Error::format(path, "a JSON configuration", e.to_string()))?;
        let config = TrainConfig::from_json(&config_json, &what)?;
        let step = tensors
            .meta("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::format(path, "a 'step' entry", "none"))?;
        let number = |key: &str| {
            tensors
                .meta(key)
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| Error::format(path, format!("a '{key}' entry"), "none"))
        };
        Ok(Checkpoint {
            config,
            step,
            classes: number("classes")?,
            channels: number("channels")?,
            tensors,
            path: path.to_path_buf(),
        })
    }

    /// Copies the stored values into every parameter and buffer of `net`; the names and shapes
    /// must all match (a checkpoint of another configuration is refused, naming the first misfit).
    pub fn restore_network(&self, net: &mut Sequential<f32>) -> Result<()> {
        for p in net.named_params() {
            self.restore_tensor(&p.name, p.value)?;
        }
        for (name, buffer) in net.named_buffers() {
            self.restore_tensor(&name, buffer)?;
        }
        Ok(())
    }

    fn restore_tensor(&self, name: &str, into: &mut Tensor<f32>) -> Result<()> {
        let stored = self.tensors.get(name).ok_or_else(|| {
            Error::format(
                &self.path,
                format!("a tensor '{name}' (is this checkpoint from another configuration?)"),
                "none",
            )
        })?;
        let t = stored.to_tensor::<f32>(name)?;
        if t.shape() != into.shape() {
            return Err(Error::format(
                &self.path,
                format!("'{name}' of shape {:?}", into.shape()),
                format!("shape {:?}", t.shape()),
            ));
        }
        *into = t;
        Ok(())
    }

    /// The generator, in evaluation mode, and its noise prior.
    pub fn generator(&self) -> Result<(Generator<f32>, NoisePrior<f32>)> {
        let (c, classes, channels) = (&self.config, self.classes, self.channels);
        let mut g = if c.data == "ring" {
            Generator::mlp_2d(c.nz, c.hidden, &mut Rng::new(0))
        } else {
            Generator::new(
                GeneratorConfig {
                    nz: c.nz,
                    ngf: c.ngf,
                    image_size: c.image_size,
                    channels,
                    classes,
                },
                &mut Rng::new(0),
            )?
        };
        self.restore_network(&mut g.net)?;
        g.net.set_training(false);
        let mut prior = NoisePrior::new(c.nz, c.noise_std, c.learn_prior);
        self.restore_tensor("prior.mu", &mut prior.mu)?;
        self.restore_tensor("prior.sigma", &mut prior.sigma)?;
        Ok((g, prior))
    }

    fn i64s(&self, name: &str, len: usize) -> Result<Vec<i64>> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::format(&self.path, format!("a tensor '{name}'"), "none"))?;
        let v = t.to_i64(name)?;
        if v.len() != len {
            return Err(Error::format(
                &self.path,
                format!("{len} values in '{name}'"),
                format!("{}", v.len()),
            ));
        }
        Ok(v)
    }

    /// Starts `trainer` from this checkpoint's players for fine-tuning (`--init`, chapter 14):
    /// G, D (with BatchNorm's running statistics) and the noise prior. The optimisers, the step
    /// count and the random streams stay fresh. The players must have the same shape.
    pub fn restore_players(&self, trainer: &mut Trainer<f32>) -> Result<()> {
        let (mine, theirs) = (&trainer.config, &self.config);
        let shape = |c: &TrainConfig| (c.image_size, c.nz, c.ngf, c.ndf, c.patch, c.hidden);
        if shape(mine) != shape(theirs)
            || (trainer.g.config.classes, trainer.g.config.channels)
                != (self.classes, self.channels)
        {
            return Err(Error::format(
                &self.path,
                format!(
                    "players of this run's shape (image size {}, nz {}, ngf {}, ndf {}, patch {}, {} classes, {} channel(s))",
                    mine.image_size, mine.nz, mine.ngf, mine.ndf, mine.patch,
                    trainer.g.config.classes, trainer.g.config.channels
                ),
                format!(
                    "image size {}, nz {}, ngf {}, ndf {}, patch {}, {} classes, {} channel(s): give the same flags as its run",
                    theirs.image_size, theirs.nz, theirs.ngf, theirs.ndf, theirs.patch,
                    self.classes, self.channels
                ),
            ));
        }
        self.restore_network(&mut trainer.g.net)?;
        self.restore_network(&mut trainer.d.net)?;
        self.restore_tensor("prior.mu", &mut trainer.prior.mu)?;
        self.restore_tensor("prior.sigma", &mut trainer.prior.sigma)
    }

    /// Puts every saved value back into `trainer` (built from the same configuration).
    pub fn restore_trainer(&self, trainer: &mut Trainer<f32>) -> Result<()> {
        self.restore_network(&mut trainer.g.net)?;
        self.restore_network(&mut trainer.d.net)?;
        self.restore_tensor("prior.mu", &mut trainer.prior.mu)?;
        self.restore_tensor("prior.sigma", &mut trainer.prior.sigma)?;
        trainer
            .opt_g
            .load_state(self.optimizer_state("optimizer_g")?)?;
        trainer
            .opt_d
            .load_state(self.optimizer_state("optimizer_d")?)?;
        trainer.step = self.i64s("state.step", 1)?[0] as usize;
        trainer.rng = self.rng("state.rng")?;
        if let Some(mark) = &mut trainer.mark {
            // Absent from checkpoints written before it was saved: the stream starts afresh.
            if self.tensors.get("state.watermark_rng").is_some() {
                mark.rng = self.rng("state.watermark_rng")?;
            }
        }
        let b = self.i64s("state.batcher", 4)?;
        let words = self.i64s("state.batcher_rng", 4)?;
        trainer.batcher = crate::data::Batcher::from_state(&BatcherState {
            n: b[0] as usize,
            batch: b[1] as usize,
            epoch: b[2] as u64,
            position: b[3] as usize,
            rng: [
                words[0] as u64,
                words[1] as u64,
                words[2] as u64,
                words[3] as u64,
            ],
        })?;
        Ok(())
    }

    /// The optimiser state under `prefix`: per parameter j, whichever slots were saved.
    fn optimizer_state(&self, prefix: &str) -> Result<OptimizerState<f32>> {
        let step = self.i64s(&format!("{prefix}.step"), 1)?[0] as u64;
        let mut slots = Vec::new();
        for j in 0.. {
            let mut slot = Vec::new();
            for name in ["exp_avg", "exp_avg_sq", "momentum_buffer"] {
                if let Some(t) = self.tensors.get(&format!("{prefix}.{j}.{name}")) {
                    slot.push((name, t.to_tensor::<f32>(name)?));
                }
            }
            if slot.is_empty() {
                break;
            }
            slots.push(slot);
        }
        Ok(OptimizerState { step, slots })
    }

    fn rng(&self, name: &str) -> Result<Rng> {
        let w = self.i64s(name, 4)?;
        let cached = self
            .tensors
            .get(&format!("{name}_cached_gaussian"))
            .map(|t| t.to_tensor::<f64>(name))
            .transpose()?
            .and_then(|t| t.as_slice().first().copied());
        Rng::from_state([w[0] as u64, w[1] as u64, w[2] as u64, w[3] as u64], cached)
    }
}
