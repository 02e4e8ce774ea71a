//! Chapter 9. Learning a GAN: Algorithm 1 of Goodfellow et al. (2014), "minibatch stochastic
//! gradient descent training of generative adversarial nets".
//!
//! ```text
//! for number of training iterations do
//!     for k steps do                                           (d_steps_per_g_step)
//!         sample m noise samples z ~ p_noise and m examples x' ~ p_data
//!         update D by ascending   (1/m) sum [log D(x') + log(1 - D(G(z)))]
//!     sample m noise samples z ~ p_noise
//!     update G by descending      (1/m) sum log(1 - D(G(z)))    (or ascending log D(G(z)))
//! ```
//!
//! "Optimisation is similar to block coordinate descent" (the lecture): each step moves one
//! player's parameters and leaves the other's untouched. In the D step, G's images are data: G
//! runs forward and never backward. In the G step the gradient flows *through* D (D runs
//! backward to give dL/d(image)), but D's optimiser does not step, and D's gradients are zeroed
//! before D's next step.

use super::loss::{
    d_loss_fake, d_loss_real, g_loss, grad_d_loss_fake, grad_d_loss_real, grad_g_loss,
    GeneratorLoss,
};
use super::prior::NoisePrior;
use crate::data::{Batcher, Dataset, Points};
use crate::error::{Error, Result};
use crate::layers::activation::sigmoid;
use crate::models::{Discriminator, DiscriminatorConfig, Generator, GeneratorConfig};
use crate::optim::{Adam, Optimizer, ParamRef, Sgd};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;
use crate::watermark::GeneratorMark;
use std::path::Path;

/// Which gradient-based learning rule updates each player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Adam with (beta1, beta2); DCGAN's choice.
    Adam,
    /// SGD with momentum; the GAN paper's choice.
    Sgd,
}

/// Everything that defines a training run. Its defaults are the main job: a class-conditional
/// DCGAN on the built-in digits with DCGAN's Adam settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// "digits", "shapes", "ring", or a file or directory of images (chapter 11); a file's
    /// images are padded and resized to `image_size` if they have another size.
    pub data: String,
    /// A file of labels for the images in `data` (chapter 11).
    pub labels: Option<String>,
    /// Images (or points) drawn from a built-in data set.
    pub data_size: usize,
    pub conditional: bool,
    pub image_size: usize,
    /// Training iterations (each: k D steps and one G step).
    pub steps: usize,
    /// m, the minibatch size.
    pub batch: usize,
    /// k, the discriminator steps per generator step.
    pub d_steps_per_g_step: usize,
    pub loss: GeneratorLoss,
    pub optimizer: OptimizerKind,
    pub lr_g: f64,
    pub lr_d: f64,
    /// Adam's beta1 and beta2.
    pub betas: (f64, f64),
    /// SGD's momentum.
    pub momentum: f64,
    /// PatchGAN discriminator instead of one logit per image.
    pub patch: bool,
    pub seed: u64,
    pub nz: usize,
    pub ngf: usize,
    pub ndf: usize,
    /// sigma of the prior z ~ N(0, sigma^2 I).
    pub noise_std: f64,
    /// Learn the prior's mu and sigma by reparameterisation.
    pub learn_prior: bool,
    /// Hidden width of the 2-D players (ring).
    pub hidden: usize,
    /// Chapter 14: a frozen watermark decoder (decoder.safetensors); G's step then adds
    /// `watermark_weight` * BCE(decoder(G(z)), key).
    pub watermark: Option<String>,
    /// The key G learns to carry, as hex digits (with `watermark`).
    pub key: Option<String>,
    /// beta, the weight of the watermark term.
    pub watermark_weight: f64,
    /// The share s of the undamaged reading in the watermark term: beta ((1 - s)
    /// BCE(decoder(P(G(z))), key) + s BCE(decoder(G(z)), key)).
    pub watermark_clean: f64,
    /// The watermarking network's encoder (encoder.safetensors, with `watermark`): D's real
    /// images are marked with the key by it, so that the mark is no sign of a fake.
    pub watermark_encoder: Option<String>,
    /// A checkpoint whose G, D and noise prior the run starts from (fine-tuning); the
    /// optimisers, the step count and the random streams start fresh.
    pub init: Option<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            data: "digits".into(),
            labels: None,
            data_size: 60_000,
            conditional: true,
            image_size: 28,
            steps: 1200,
            batch: 64,
            d_steps_per_g_step: 1,
            loss: GeneratorLoss::NonSaturating,
            optimizer: OptimizerKind::Adam,
            lr_g: 2e-4,
            lr_d: 2e-4,
            betas: (0.5, 0.999),
            momentum: 0.9,
            patch: false,
            seed: 1,
            nz: 100,
            ngf: 64,
            ndf: 64,
            noise_std: 1.0,
            learn_prior: false,
            hidden: 128,
            watermark: None,
            key: None,
            watermark_weight: 1.0,
            watermark_clean: 0.0,
            watermark_encoder: None,
            init: None,
        }
    }
}

/// The training set: images with labels, or 2-D points.
pub enum TrainingData {
    Images(Dataset),
    Points(Points),
}

impl TrainingData {
    pub fn len(&self) -> usize {
        match self {
            TrainingData::Images(d) => d.len(),
            TrainingData::Points(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The classes a conditional model can be asked for (0 for points).
    pub fn classes(&self) -> usize {
        match self {
            TrainingData::Images(d) => d.classes,
            TrainingData::Points(_) => 0,
        }
    }

    fn batch(&self, indices: &[usize]) -> (Tensor<f32>, Vec<usize>) {
        match self {
            TrainingData::Images(d) => d.batch(indices),
            TrainingData::Points(p) => p.batch(indices),
        }
    }
}

/// What one iteration measured (from its last D step and its G step).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    pub step: usize,
    /// d_loss_real + d_loss_fake = -(J' + J).
    pub d_loss: f64,
    pub d_loss_real: f64,
    pub d_loss_fake: f64,
    pub g_loss: f64,
    /// Mean D(x') over the real minibatch: D's belief that real images are real.
    pub d_x: f64,
    /// Mean D(G(z)) over the fake minibatch, before D's update: D's belief that fakes are real.
    pub d_g_z: f64,
    /// beta * BCE(decoder(G(z)), key) when training with a watermark (chapter 14), else 0.
    pub watermark_loss: f64,
}

/// Two players, their optimisers, the noise prior, the data and the random streams.
pub struct Trainer<T: Real> {
    pub config: TrainConfig,
    pub g: Generator<T>,
    pub d: Discriminator<T>,
    pub opt_g: Box<dyn Optimizer<T>>,
    pub opt_d: Box<dyn Optimizer<T>>,
    pub prior: NoisePrior<T>,
    pub data: TrainingData,
    pub batcher: Batcher,
    /// Noise and fake labels are drawn from this stream.
    pub rng: Rng,
    /// Iterations done.
    pub step: usize,
    /// The frozen watermark decoder and key, when G learns to carry a watermark (chapter 14).
    pub mark: Option<GeneratorMark<T>>,
}

impl<T: Real> Trainer<T> {
    /// Builds both players (seeded from `config.seed`) for `data`.
    pub fn new(config: TrainConfig, data: TrainingData) -> Result<Self> {
        if data.len() < config.batch {
            return Err(Error::usage(format!(
                "the batch size ({}) is larger than the training set ({} samples)",
                config.batch,
                data.len()
            )));
        }
        if config.batch < 2 {
            return Err(Error::usage(
                "the batch size must be at least 2 (BatchNorm needs a batch to normalise over)",
            ));
        }
        let mut init_rng = Rng::new(config.seed);
        let classes = if config.conditional {
            data.classes()
        } else {
            0
        };
        if config.conditional && classes == 0 {
            return Err(Error::usage(
                "conditional training (--conditional) needs labelled images, and this training \
                 data has none: give a label file (--labels FILE) or train unconditionally",
            ));
        }
        let (g, d) = match &data {
            TrainingData::Points(_) => (
                Generator::mlp_2d(config.nz, config.hidden, &mut init_rng),
                Discriminator::mlp_2d(config.hidden, &mut init_rng),
            ),
            TrainingData::Images(set) => {
                let (channels, h, w) = set.image_shape();
                if h != w || h != config.image_size {
                    return Err(Error::usage(format!(
                        "the data holds {h} x {w} images but --image-size is {}",
                        config.image_size
                    )));
                }
                let g = Generator::new(
                    GeneratorConfig {
                        nz: config.nz,
                        ngf: config.ngf,
                        image_size: config.image_size,
                        channels,
                        classes,
                    },
                    &mut init_rng,
                )?;
                let d = Discriminator::new(
                    DiscriminatorConfig {
                        ndf: config.ndf,
                        image_size: config.image_size,
                        channels,
                        classes,
                        patch: config.patch,
                    },
                    &mut init_rng,
                )?;
                (g, d)
            }
        };
        if config.watermark.is_none() && config.watermark_encoder.is_some() {
            return Err(Error::usage(
                "--watermark-encoder marks D's real images for a watermarked G: it needs the \
                 decoder (--watermark FILE) and the key (--key HEX) too",
            ));
        }
        let mark =
            match (&config.watermark, &config.key, &data) {
                (None, None, _) => None,
                (Some(_), None, _) | (None, Some(_), _) => return Err(Error::usage(
                    "a watermark needs both the decoder (--watermark FILE) and the key (--key HEX)",
                )),
                (Some(_), Some(_), TrainingData::Points(_)) => {
                    return Err(Error::usage("watermarks are for images, not the 2-D ring"))
                }
                (Some(path), Some(key), TrainingData::Images(set)) => {
                    let mark = GeneratorMark::load(
                        Path::new(path),
                        key,
                        config.watermark_weight,
                        config.image_size,
                        set.image_shape().0,
                    )?
                    .with_clean_share(config.watermark_clean)?;
                    Some(match &config.watermark_encoder {
                        Some(encoder) => mark.with_real_marker(Path::new(encoder))?,
                        None => mark,
                    })
                }
            };
        let make_optimizer = |lr: f64| -> Box<dyn Optimizer<T>> {
            match config.optimizer {
                OptimizerKind::Adam => Box::new(Adam::new(lr, config.betas.0, config.betas.1)),
                OptimizerKind::Sgd => Box::new(Sgd::new(lr, config.momentum)),
            }
        };
        let root = Rng::new(config.seed);
        Ok(Trainer {
            opt_g: make_optimizer(config.lr_g),
            opt_d: make_optimizer(config.lr_d),
            prior: NoisePrior::new(config.nz, config.noise_std, config.learn_prior),
            batcher: Batcher::new(data.len(), config.batch, root.fork(1).next_u64()),
            rng: root.fork(2),
            g,
            d,
            data,
            config,
            step: 0,
            mark,
        })
    }

    /// Whether the players take labels.
    pub fn classes(&self) -> usize {
        self.g.config.classes
    }

    /// One iteration of Algorithm 1: k discriminator steps, then one generator step.
    pub fn train_step(&mut self) -> StepStats {
        let mut stats = StepStats::default();
        for _ in 0..self.config.d_steps_per_g_step {
            self.discriminator_step(&mut stats);
        }
        self.generator_step(&mut stats);
        self.step += 1;
        stats.step = self.step;
        stats
    }

    /// Update D by ascending its stochastic gradient of J' + J (descending d_loss = -(J' + J)).
    /// Public so that a test can take one step alone; [`Trainer::train_step`] is the loop.
    pub fn discriminator_step(&mut self, stats: &mut StepStats) {
        let m = self.config.batch;
        let (mut real, real_labels) = self.real_minibatch();
        if let Some(marker) = self
            .mark
            .as_mut()
            .and_then(|mark| mark.real_marker.as_mut())
        {
            // Chapter 14 (--watermark-encoder): the real images carry the owner's mark too, put
            // there by the frozen encoder, so that D cannot learn the mark as a sign of a fake.
            real = marker.mark(&real);
        }
        let (z, _) = self.prior.sample(&mut self.rng, m);
        let fake_labels = self.fake_labels(m);
        // G is fixed here: its images are just data for D.
        let fake = self.g.forward(&z, fake_labels.as_deref());

        self.d.net.zero_grad();
        // Both minibatches are data to D: only its parameter gradients are needed.
        let real_logits = self.d.forward(&real, real_labels.as_deref());
        self.d.backward_params(&grad_d_loss_real(&real_logits));
        let fake_logits = self.d.forward(&fake, fake_labels.as_deref());
        self.d.backward_params(&grad_d_loss_fake(&fake_logits));
        let mut params: Vec<ParamRef<T>> = self
            .d
            .net
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        self.opt_d.step(&mut params);

        stats.d_loss_real = d_loss_real(&real_logits).to_f64();
        stats.d_loss_fake = d_loss_fake(&fake_logits).to_f64();
        stats.d_loss = stats.d_loss_real + stats.d_loss_fake;
        stats.d_x = mean_probability(&real_logits);
        stats.d_g_z = mean_probability(&fake_logits);
    }

    /// Update G by descending its loss, with the gradient flowing back through a fixed D.
    /// Public so that a test can take one step alone; [`Trainer::train_step`] is the loop.
    pub fn generator_step(&mut self, stats: &mut StepStats) {
        let m = self.config.batch;
        let (z, eps) = self.prior.sample(&mut self.rng, m);
        let labels = self.fake_labels(m);
        let fake = self.g.forward(&z, labels.as_deref());
        let logits = self.d.forward(&fake, labels.as_deref());
        stats.g_loss = g_loss(self.config.loss, &logits).to_f64();
        // D is fixed here: its backward gives dL/d(image) and leaves its own gradients alone.
        let mut grad_fake = self
            .d
            .backward_frozen(&grad_g_loss(self.config.loss, &logits));
        if let Some(mark) = &mut self.mark {
            // Chapter 14: + beta * BCE(decoder(G(z)), key), through the frozen decoder into G.
            let (loss, grad_images) = mark.loss(&fake);
            grad_fake.axpy(T::ONE, &grad_images);
            stats.watermark_loss = loss;
        }
        self.g.net.zero_grad();
        self.prior.zero_grad();
        let grad_z = if self.prior.learnable {
            Some(self.g.backward(&grad_fake))
        } else {
            self.g.backward_params(&grad_fake);
            None
        };
        let mut params: Vec<ParamRef<T>> = self
            .g
            .net
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        if let Some(grad_z) = grad_z {
            self.prior.backward(&grad_z, &eps);
            let prior = &mut self.prior;
            params.push(ParamRef {
                value: &mut prior.mu,
                grad: &prior.grad_mu,
            });
            params.push(ParamRef {
                value: &mut prior.sigma,
                grad: &prior.grad_sigma,
            });
        }
        self.opt_g.step(&mut params);
    }

    /// m real examples (and their labels when conditional), as full minibatches: an epoch's
    /// short last batch is skipped, because BatchNorm should not see a batch of 1.
    fn real_minibatch(&mut self) -> (Tensor<T>, Option<Vec<usize>>) {
        let mut indices = self.batcher.next_batch();
        while indices.len() < self.config.batch {
            indices = self.batcher.next_batch();
        }
        let (x, labels) = self.data.batch(&indices);
        (x.cast(), (self.classes() > 0).then_some(labels))
    }

    /// Labels for the fakes: uniform over the classes (None when unconditional).
    fn fake_labels(&mut self, m: usize) -> Option<Vec<usize>> {
        let classes = self.classes();
        (classes > 0).then(|| (0..m).map(|_| self.rng.below(classes)).collect())
    }

    /// G's images (or points) for standard normal `eps` [n, nz] (z = mu + sigma eps) and labels,
    /// in evaluation mode (BatchNorm uses its running statistics, as PyTorch's `model.eval()`),
    /// then back in training mode.
    pub fn sample(&mut self, eps: &Tensor<T>, labels: Option<&[usize]>) -> Tensor<T> {
        self.g.net.set_training(false);
        let x = self.g.forward(&self.prior.reparameterise(eps), labels);
        self.g.net.set_training(true);
        x
    }
}

/// Mean sigmoid(logit): the average probability of "real".
fn mean_probability<T: Real>(logits: &Tensor<T>) -> f64 {
    logits
        .as_slice()
        .iter()
        .map(|&l| sigmoid(l).to_f64())
        .sum::<f64>()
        / logits.len().max(1) as f64
}
