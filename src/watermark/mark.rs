//! Chapter 14. The generator learns to carry the key (the bottom half of the lecture's figure).
//!
//! The decoder D_w, trained beforehand, is frozen. G's step gets one more term:
//!
//! ```text
//!   g_loss + beta * BCE(D_w(P(G(z))), key)     the same key for every image
//! ```
//!
//! P is the image-processing layer of the watermark's training (a random perturbation per
//! image), so G learns a mark that survives the same damage the decoder learned to read
//! through. Its gradient flows through D_w and P into G: D_w's backward pass gives
//! dL/d(image), P's adjoint carries it back to G(z) (exact: noise, blur and shift are affine),
//! and the gradients D_w accumulates for its own parameters are never applied. Every image G
//! makes then carries the key; no separate step adds it, and nobody can run G without it.

use super::decoder::Decoder;
use super::key::Key;
use super::processing::ImageProcessing;
use super::store::load_decoder;
use super::train::WatermarkConfig;
use crate::error::{Error, Result};
use crate::layers::loss::{bce_with_logits, bce_with_logits_backward};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::path::Path;

/// beta * BCE(D_w(images), key) and its gradient with respect to `images` [N, C, H, W].
///
/// `decoder` is frozen: its parameter gradients are zeroed and refilled, never applied.
pub fn watermark_loss<T: Real>(
    decoder: &mut Decoder<T>,
    images: &Tensor<T>,
    key: &Key,
    beta: f64,
) -> (f64, Tensor<T>) {
    let logits = decoder.forward(images);
    let targets = key.targets::<T>(images.rows());
    let loss = beta * bce_with_logits(&logits, &targets).to_f64();
    let mut grad_logits = bce_with_logits_backward(&logits, &targets);
    grad_logits.scale(T::from_f64(beta));
    decoder.net.zero_grad();
    (loss, decoder.backward(&grad_logits))
}

/// beta * BCE(D_w(P(images)), key) and its gradient with respect to `images` [N, C, H, W]:
/// the images are damaged by `processing` (noise drawn from `rng`) before the decoder reads
/// them, and the gradient goes back through the damage.
pub fn damaged_watermark_loss<T: Real>(
    decoder: &mut Decoder<T>,
    processing: &mut ImageProcessing,
    rng: &mut Rng,
    images: &Tensor<T>,
    key: &Key,
    beta: f64,
) -> (f64, Tensor<T>) {
    let damaged = processing.forward(images, rng);
    let (loss, grad_damaged) = watermark_loss(decoder, &damaged, key, beta);
    (loss, processing.backward(&grad_damaged))
}

/// A frozen decoder with the owner's key and the weight beta: what [`crate::gan::train::Trainer`]
/// adds to G's step when training with `--watermark`.
pub struct GeneratorMark<T: Real> {
    pub decoder: Decoder<T>,
    pub key: Key,
    pub beta: f64,
    /// The damage of the watermark's training (its default noise sigma and shifts).
    pub processing: ImageProcessing,
    /// Draws the damage.
    pub rng: Rng,
}

impl<T: Real> GeneratorMark<T> {
    /// Reads the decoder at `path`, checks that it reads the generator's images (`image_size`,
    /// `channels`), and parses `key_hex` as a key of the decoder's length.
    pub fn load(
        path: &Path,
        key_hex: &str,
        beta: f64,
        image_size: usize,
        channels: usize,
    ) -> Result<Self> {
        let decoder = load_decoder::<T>(path)?;
        let c = decoder.config;
        if (c.image_size, c.channels) != (image_size, channels) {
            return Err(Error::format(
                path,
                format!(
                    "a decoder for the generator's images ({channels} channel(s), {image_size} x {image_size})"
                ),
                format!(
                    "a decoder for {} channel(s), {} x {} (train one on this data with 'gan watermark train')",
                    c.channels, c.image_size, c.image_size
                ),
            ));
        }
        let key = Key::parse(key_hex, c.bits)?;
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::usage(format!(
                "the watermark weight must be a number >= 0, found {beta}"
            )));
        }
        let defaults = WatermarkConfig::default();
        Ok(GeneratorMark {
            decoder,
            key,
            beta,
            processing: ImageProcessing::standard(defaults.noise_std, defaults.max_shift),
            rng: Rng::new(defaults.seed),
        })
    }

    /// beta * BCE(D_w(P(images)), key) and its gradient with respect to the images.
    pub fn loss(&mut self, images: &Tensor<T>) -> (f64, Tensor<T>) {
        damaged_watermark_loss(
            &mut self.decoder,
            &mut self.processing,
            &mut self.rng,
            images,
            &self.key,
            self.beta,
        )
    }
}
