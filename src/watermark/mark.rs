//! Chapter 14. The generator learns to carry the key (the bottom half of the lecture's figure).
//!
//! The decoder D_w, trained beforehand, is frozen. G's step gets one more term:
//!
//! ```text
//!   g_loss + beta * BCE(D_w(G(z)), key)        the same key for every image
//! ```
//!
//! Its gradient flows through D_w into G: D_w's backward pass gives dL/d(image), and the
//! gradients it accumulates for its own parameters are never applied. Every image G makes then
//! carries the key; no separate step adds it, and nobody can run G without it.

use super::decoder::Decoder;
use super::key::Key;
use super::store::load_decoder;
use crate::error::{Error, Result};
use crate::layers::loss::{bce_with_logits, bce_with_logits_backward};
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

/// A frozen decoder with the owner's key and the weight beta: what [`crate::gan::train::Trainer`]
/// adds to G's step when training with `--watermark`.
pub struct GeneratorMark<T: Real> {
    pub decoder: Decoder<T>,
    pub key: Key,
    pub beta: f64,
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
        Ok(GeneratorMark { decoder, key, beta })
    }

    /// beta * BCE(D_w(images), key) and its gradient with respect to the images.
    pub fn loss(&mut self, images: &Tensor<T>) -> (f64, Tensor<T>) {
        watermark_loss(&mut self.decoder, images, &self.key, self.beta)
    }
}
