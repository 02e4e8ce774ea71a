//! Chapter 14. Training the watermarking network (the top half of the lecture's figure).
//!
//! For a minibatch of training images x and a random key k per image:
//!
//! ```text
//!   residual r = E(x, k)                    [N, C, H, W]
//!   x_w        = clamp(x + r, -1, 1)        the watermarked image, in the range of images
//!   y          = P(x_w)                     the image-processing layer (a random perturbation)
//!   loss       = BCE(D_w(y), k)                         the mark read after damage
//!              + direct_weight * BCE(D_w(x_w), k)       the mark read as it is
//!              + lambda * MSE(x_w, x)                   the mark stays faint
//!              + clean_weight * BCE(D_w(x), 1/2)        no mark, no answer
//! ```
//!
//! The two BCE terms make the bits readable. The first alone sees an undamaged mark only when
//! P happens to pick "none", yet a generator's sample is read exactly as it comes out: the second
//! term makes that case the one the decoder reads best. The clamp keeps the marked image where
//! images live: a generator's tanh output never leaves (-1, 1), and a saved image is clipped, so
//! a mark drawn below the black of a digit's background could never be carried by G (its
//! gradient is 0 there, and the encoder learns to draw within the range). The MSE term keeps the
//! mark invisible. The last term teaches the decoder to answer "don't know" (every logit near 0)
//! on images without a mark, so that an unmarked image's bits are decided by small accidents of
//! the image, not by one fixed pattern that a particular key might happen to resemble. Encoder
//! and decoder are trained together with Adam; the keys are fresh random bits for every image of
//! every step, so the network learns to hide any key, not one.

use super::decoder::{Decoder, DecoderConfig};
use super::encoder::Encoder;
use super::key::Key;
use super::processing::{ImageProcessing, Perturbation};
use crate::data::{Batcher, Dataset};
use crate::error::{Error, Result};
use crate::layers::loss::{bce_with_logits, bce_with_logits_backward};
use crate::optim::{Adam, Optimizer, ParamRef};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Everything that defines a watermarking network and its training.
#[derive(Clone, Debug, PartialEq)]
pub struct WatermarkConfig {
    /// n, the key length.
    pub bits: usize,
    /// The encoder's width.
    pub hidden: usize,
    /// The decoder's width.
    pub width: usize,
    /// The largest change of one pixel (images live in [-1, 1]).
    pub strength: f64,
    /// lambda, the weight of MSE(watermarked, original).
    pub lambda: f64,
    /// A curriculum in two phases of this many steps. First, lambda = 0: the decoder learns to
    /// read a strong mark. Then lambda rises linearly to its value. With the full lambda from the start, the cheapest move is
    /// to shrink the residual to nothing before the decoder reads anything, and training stalls
    /// at chance (the chapter shows the run).
    pub warmup: usize,
    /// The weight of the "no mark, no answer" term on clean images.
    pub clean_weight: f64,
    /// The weight of BCE(D_w(x_w), k): the mark read without the image-processing layer.
    pub direct_weight: f64,
    pub steps: usize,
    pub batch: usize,
    /// Adam's learning rate (betas 0.9, 0.999).
    pub lr: f64,
    pub seed: u64,
    /// The image-processing layer: noise of this sigma, blur, shifts up to `max_shift` pixels and
    /// 8-bit quantisation (none of them when `perturb` is false).
    pub perturb: bool,
    pub noise_std: f64,
    pub max_shift: i64,
}

impl Default for WatermarkConfig {
    fn default() -> Self {
        WatermarkConfig {
            bits: super::key::DEFAULT_BITS,
            hidden: 16,
            width: 16,
            strength: 0.2,
            lambda: 20.0,
            warmup: 400,
            clean_weight: 1.0,
            direct_weight: 1.0,
            steps: 1500,
            batch: 32,
            lr: 1e-3,
            seed: 1,
            perturb: true,
            noise_std: 0.05,
            max_shift: 2,
        }
    }
}

/// What one training step measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WatermarkStats {
    pub step: usize,
    /// The whole loss.
    pub loss: f64,
    /// BCE(D_w(P(x_w)), k).
    pub bce: f64,
    /// MSE(x_w, x) = mean r^2.
    pub mse: f64,
    /// BCE(D_w(x), 1/2) on the clean images.
    pub clean_bce: f64,
    /// BCE(D_w(x_w), k): the marked images read without damage.
    pub direct_bce: f64,
    /// The fraction of bits read right after the image-processing layer.
    pub bit_accuracy: f64,
    /// The fraction of bits read right from the undamaged marked images.
    pub direct_accuracy: f64,
}

/// The encoder, the decoder, their optimisers and the data.
pub struct WatermarkTrainer<T: Real> {
    pub config: WatermarkConfig,
    pub encoder: Encoder<T>,
    pub decoder: Decoder<T>,
    pub processing: ImageProcessing,
    opt_encoder: Adam<T>,
    opt_decoder: Adam<T>,
    images: Dataset,
    batcher: Batcher,
    /// Keys and perturbations are drawn from this stream.
    pub rng: Rng,
    pub step: usize,
}

impl<T: Real> WatermarkTrainer<T> {
    /// Both networks, seeded from `config.seed`, for the images of `data`.
    pub fn new(config: WatermarkConfig, data: Dataset) -> Result<Self> {
        let (channels, h, w) = data.image_shape();
        if h != w {
            return Err(Error::usage(format!(
                "the watermarking network works on square images; these are {h} x {w}"
            )));
        }
        if config.batch == 0 || data.len() < config.batch {
            return Err(Error::usage(format!(
                "the batch size ({}) must be between 1 and the number of images ({})",
                config.batch,
                data.len()
            )));
        }
        let mut init = Rng::new(config.seed);
        let encoder = Encoder::new(
            channels,
            h,
            config.bits,
            config.hidden,
            config.strength,
            &mut init,
        );
        let decoder = Decoder::new(
            DecoderConfig {
                image_size: h,
                channels,
                bits: config.bits,
                width: config.width,
            },
            &mut init,
        )?;
        let processing = if config.perturb {
            ImageProcessing::standard(config.noise_std, config.max_shift)
        } else {
            ImageProcessing::new(vec![Perturbation::Identity])
        };
        let root = Rng::new(config.seed);
        Ok(WatermarkTrainer {
            opt_encoder: Adam::new(config.lr, 0.9, 0.999),
            opt_decoder: Adam::new(config.lr, 0.9, 0.999),
            batcher: Batcher::new(data.len(), config.batch, root.fork(1).next_u64()),
            rng: root.fork(2),
            images: data,
            encoder,
            decoder,
            processing,
            config,
            step: 0,
        })
    }

    /// One step: a minibatch, a random key per image, the loss, both gradients, both Adam steps.
    pub fn train_step(&mut self) -> WatermarkStats {
        let mut indices = self.batcher.next_batch();
        while indices.len() < self.config.batch {
            indices = self.batcher.next_batch();
        }
        let images: Tensor<T> = self.images.batch(&indices).0.cast();
        let keys = random_keys(&mut self.rng, indices.len(), self.config.bits);
        let mut stats = self.forward_backward(&images, &keys);
        let mut params: Vec<ParamRef<T>> = self
            .encoder
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        self.opt_encoder.step(&mut params);
        let mut params: Vec<ParamRef<T>> = self
            .decoder
            .net
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        self.opt_decoder.step(&mut params);
        self.step += 1;
        stats.step = self.step;
        stats
    }

    /// The loss at `images` [N, C, H, W] with `keys` [N, n] (0/1), leaving its gradient in every
    /// parameter of the encoder and the decoder (zeroed first). Public for the gradient check.
    pub fn forward_backward(&mut self, images: &Tensor<T>, keys: &Tensor<T>) -> WatermarkStats {
        let c = &self.config;
        // The curriculum: 0 in the first phase, rising to 1 over the second.
        let ramp = if c.warmup == 0 {
            1.0
        } else {
            (self.step as f64 / c.warmup as f64 - 1.0).clamp(0.0, 1.0)
        };
        let (lambda, clean_weight) = (c.lambda * ramp, c.clean_weight);
        self.encoder.zero_grad();
        self.decoder.net.zero_grad();

        // The clean images: the decoder should not commit to any bit.
        let mut clean_bce = 0.0;
        if clean_weight > 0.0 {
            let clean_logits = self.decoder.forward(images);
            clean_bce = bce_with_logits(&clean_logits, T::from_f64(0.5)).to_f64();
            let mut grad = bce_with_logits_backward(&clean_logits, T::from_f64(0.5));
            grad.scale(T::from_f64(clean_weight));
            self.decoder.backward(&grad);
        }

        // The marked images, clamped to the range of images: [-1, 1].
        let residual = self.encoder.forward(images, keys);
        let mut marked = images.clone();
        marked.axpy(T::ONE, &residual);
        let inside = marked.map(|v| if v.abs() <= T::ONE { T::ONE } else { T::ZERO });
        let marked = marked.map(|v| v.max(-T::ONE).min(T::ONE));
        // The change each pixel actually got: x_w - x.
        let change = marked.zip_map(images, |a, b| a - b);
        let mse = change.dot(&change) / change.len() as f64;

        // Read as they are.
        let mut direct_bce = 0.0;
        let mut grad_marked = Tensor::zeros(marked.shape());
        let direct_logits = self.decoder.forward(&marked);
        if c.direct_weight > 0.0 {
            direct_bce = bce_with_logits(&direct_logits, keys).to_f64();
            let mut grad = bce_with_logits_backward(&direct_logits, keys);
            grad.scale(T::from_f64(c.direct_weight));
            grad_marked = self.decoder.backward(&grad);
        }

        // Read through the image-processing layer.
        let perturbed = self.processing.forward(&marked, &mut self.rng);
        let logits = self.decoder.forward(&perturbed);
        let bce = bce_with_logits(&logits, keys).to_f64();
        let grad_perturbed = self
            .decoder
            .backward(&bce_with_logits_backward(&logits, keys));
        grad_marked.axpy(T::ONE, &self.processing.backward(&grad_perturbed));
        // The MSE term's own gradient, d(lambda mean (x_w - x)^2)/d(x_w) = 2 lambda (x_w - x) / count.
        grad_marked.axpy(T::from_f64(2.0 * lambda / change.len() as f64), &change);
        // x_w = clamp(x + r): the gradient reaches r where the clamp did not bite (x is data).
        let grad_residual = grad_marked.zip_map(&inside, |g, m| g * m);
        self.encoder.backward(&grad_residual);

        WatermarkStats {
            step: self.step,
            loss: bce + c.direct_weight * direct_bce + lambda * mse + clean_weight * clean_bce,
            bce,
            mse,
            clean_bce,
            direct_bce,
            bit_accuracy: bit_accuracy(&logits, keys),
            direct_accuracy: bit_accuracy(&direct_logits, keys),
        }
    }
}

/// The fraction of logits [N, n] whose sign (> 0 reads as 1) agrees with the keys [N, n] of 0/1.
fn bit_accuracy<T: Real>(logits: &Tensor<T>, keys: &Tensor<T>) -> f64 {
    let right = logits
        .as_slice()
        .iter()
        .zip(keys.as_slice())
        .filter(|(&l, &k)| (l > T::ZERO) == (k > T::from_f64(0.5)))
        .count();
    right as f64 / logits.len().max(1) as f64
}

/// A fresh random key for each of `n` images, as BCE targets [n, bits] of 0/1.
pub fn random_keys<T: Real>(rng: &mut Rng, n: usize, bits: usize) -> Tensor<T> {
    let mut keys = Vec::with_capacity(n * bits);
    for _ in 0..n {
        keys.extend(
            Key::random(bits, rng)
                .bits()
                .iter()
                .map(|&b| if b { T::ONE } else { T::ZERO }),
        );
    }
    Tensor::from_vec(&[n, bits], keys).expect("n keys of `bits` bits")
}
