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
//!
//! Two options (chapter 14, "Measured"):
//!
//! ```text
//!   clean share s     beta * ((1 - s) BCE(D_w(P(G(z))), key) + s BCE(D_w(G(z)), key))
//!   RealMarker        D's real minibatch x becomes clamp(x + E(x, key), -1, 1), marked by the
//!                     frozen encoder E, so that the mark is no longer a sign of a fake
//! ```

use super::decoder::Decoder;
use super::encoder::Encoder;
use super::key::Key;
use super::processing::ImageProcessing;
use super::store::{load_decoder, load_encoder};
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

/// beta * ((1 - s) BCE(D_w(P(images)), key) + s BCE(D_w(images), key)) and its gradient with
/// respect to `images`: the damaged reading of [`damaged_watermark_loss`] beside the undamaged
/// one of [`watermark_loss`], with the share `clean_share` = s in [0, 1] for the undamaged one.
/// A share of 0 is the damaged term alone (and draws the same damage).
pub fn mixed_watermark_loss<T: Real>(
    decoder: &mut Decoder<T>,
    processing: &mut ImageProcessing,
    rng: &mut Rng,
    images: &Tensor<T>,
    key: &Key,
    beta: f64,
    clean_share: f64,
) -> (f64, Tensor<T>) {
    let (mut loss, mut grad_images) = damaged_watermark_loss(
        decoder,
        processing,
        rng,
        images,
        key,
        beta * (1.0 - clean_share),
    );
    if clean_share > 0.0 {
        let (clean_loss, grad_clean) = watermark_loss(decoder, images, key, beta * clean_share);
        loss += clean_loss;
        grad_images.axpy(T::ONE, &grad_clean);
    }
    (loss, grad_images)
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
    /// s, the share of the undamaged reading in the term (0: damaged only).
    pub clean_share: f64,
    /// With `--watermark-encoder`: marks D's real images (see [`RealMarker`]).
    pub real_marker: Option<RealMarker<T>>,
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
            clean_share: 0.0,
            real_marker: None,
        })
    }

    /// Sets s, the share of the undamaged reading in the term (a number in [0, 1]).
    pub fn with_clean_share(mut self, share: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&share) {
            return Err(Error::usage(format!(
                "the clean share of the watermark term must be a number in [0, 1], found {share}"
            )));
        }
        self.clean_share = share;
        Ok(self)
    }

    /// Reads the encoder at `path` (the encoder.safetensors beside the decoder) to mark D's real
    /// images with this mark's key; it must mark the images this decoder reads.
    pub fn with_real_marker(mut self, path: &Path) -> Result<Self> {
        let c = self.decoder.config;
        self.real_marker = Some(RealMarker::load(
            path,
            self.key.clone(),
            c.image_size,
            c.channels,
        )?);
        Ok(self)
    }

    /// beta * ((1 - s) BCE(D_w(P(images)), key) + s BCE(D_w(images), key)) and its gradient with
    /// respect to the images.
    pub fn loss(&mut self, images: &Tensor<T>) -> (f64, Tensor<T>) {
        mixed_watermark_loss(
            &mut self.decoder,
            &mut self.processing,
            &mut self.rng,
            images,
            &self.key,
            self.beta,
            self.clean_share,
        )
    }
}

/// The frozen encoder of the watermarking network with the owner's key. The GAN's discriminator
/// sees G's marked fakes; if its real images carry no mark, the mark itself tells them apart,
/// and G pays for the mark in realism. Marked real images take that clue away, and the game
/// then pulls G's mark toward the encoder's faint one.
pub struct RealMarker<T: Real> {
    pub encoder: Encoder<T>,
    pub key: Key,
}

impl<T: Real> RealMarker<T> {
    /// Reads the encoder at `path` and checks that it marks `channels` x `image_size` x
    /// `image_size` images with keys of `key.len()` bits.
    pub fn load(path: &Path, key: Key, image_size: usize, channels: usize) -> Result<Self> {
        let encoder = load_encoder::<T>(path)?;
        let found = (encoder.channels, encoder.image_size, encoder.bits);
        if found != (channels, image_size, key.len()) {
            return Err(Error::format(
                path,
                format!(
                    "the encoder beside the decoder: {channels} channel(s), {image_size} x \
                     {image_size}, {} bits",
                    key.len()
                ),
                format!(
                    "an encoder for {} channel(s), {} x {}, {} bits",
                    found.0, found.1, found.1, found.2
                ),
            ));
        }
        Ok(RealMarker { encoder, key })
    }

    /// images [N, C, H, W] -> clamp(images + E(images, key), -1, 1), exactly as the watermarking
    /// network marks them (train.rs). Nothing is learned here, so no gradient is kept.
    pub fn mark(&mut self, images: &Tensor<T>) -> Tensor<T> {
        let keys = self.key.targets::<T>(images.rows());
        let residual = self.encoder.forward(images, &keys);
        images.zip_map(&residual, |x, r| (x + r).max(-T::ONE).min(T::ONE))
    }
}
