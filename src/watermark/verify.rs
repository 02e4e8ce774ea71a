//! Chapter 14. Verification: does an image carry the key?
//!
//! For each image the decoder reads n bits; k of them agree with the key. Under the null
//! hypothesis "this image carries no mark" each bit agrees with probability 1/2, independently
//! (the key was drawn at random, independently of the image and the decoder), so
//!
//! ```text
//!   p-value = P(X >= k),  X ~ Binomial(n, 1/2)            (binomial.rs)
//! ```
//!
//! is the probability that an unmarked image matches at least this well by chance. The image is
//! declared marked at level alpha when p < alpha: at most a fraction alpha of unmarked images is
//! wrongly declared marked. With n = 32 and alpha = 1e-6, that takes at least 30 matching bits.

use super::binomial::match_p_value;
use super::decoder::Decoder;
use super::key::Key;
use crate::error::Result;
use crate::io::json::Json;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The verification of one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verification {
    /// Bits that agree with the key.
    pub matches: usize,
    pub bits: usize,
    /// P(at least `matches` of `bits` agree by chance).
    pub p_value: f64,
}

impl Verification {
    pub fn bit_accuracy(&self) -> f64 {
        self.matches as f64 / self.bits as f64
    }
}

/// Images verified at most this many at a time (memory stays small for any N).
const CHUNK: usize = 256;

/// Reads the key from every image of `images` [N, C, H, W]: one [`Verification`] each. A batch
/// of another image shape is an error naming both shapes.
pub fn verify<T: Real>(
    decoder: &mut Decoder<T>,
    images: &Tensor<T>,
    key: &Key,
) -> Result<Vec<Verification>> {
    decoder.check_images(images.shape(), "verify")?;
    if key.len() != decoder.config.bits {
        return Err(crate::error::Error::usage(format!(
            "the key has {} bits, the decoder reads {}",
            key.len(),
            decoder.config.bits
        )));
    }
    decoder.net.set_training(false);
    let per_image: usize = images.shape()[1..].iter().product();
    let mut results = Vec::with_capacity(images.rows());
    for chunk in images.as_slice().chunks(CHUNK * per_image) {
        let mut shape = images.shape().to_vec();
        shape[0] = chunk.len() / per_image;
        let batch = Tensor::from_vec(&shape, chunk.to_vec()).expect("whole images");
        let logits = decoder.forward(&batch);
        for i in 0..logits.rows() {
            let matches = key.matches(logits.row(i));
            results.push(Verification {
                matches,
                bits: key.len(),
                p_value: match_p_value(matches, key.len()),
            });
        }
    }
    decoder.net.set_training(true);
    Ok(results)
}

/// What a batch of verifications says at one significance level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub images: usize,
    pub bits: usize,
    /// The significance level alpha: an image is "marked" when its p-value is below it.
    pub level: f64,
    /// Images with p < level.
    pub verified: usize,
    pub mean_bit_accuracy: f64,
    pub min_bit_accuracy: f64,
    pub max_p_value: f64,
    /// The fewest matching bits that reach p < level.
    pub matches_needed: usize,
}

pub fn summarise(results: &[Verification], level: f64) -> Summary {
    let bits = results.first().map_or(0, |r| r.bits);
    let accuracies: Vec<f64> = results.iter().map(Verification::bit_accuracy).collect();
    Summary {
        images: results.len(),
        bits,
        level,
        verified: results.iter().filter(|r| r.p_value < level).count(),
        mean_bit_accuracy: accuracies.iter().sum::<f64>() / results.len().max(1) as f64,
        min_bit_accuracy: accuracies.iter().copied().fold(f64::INFINITY, f64::min),
        max_p_value: results.iter().map(|r| r.p_value).fold(0.0, f64::max),
        matches_needed: (0..=bits)
            .find(|&k| match_p_value(k, bits) < level)
            .unwrap_or(bits + 1),
    }
}

impl Summary {
    /// The verdict in words.
    pub fn verdict(&self) -> String {
        let rule = format!(
            "at level {:e} an image needs at least {} of {} bits to match (a random image matches that \
             well with probability below {:e})",
            self.level, self.matches_needed, self.bits, self.level
        );
        if self.images == 0 {
            return "no images to verify".into();
        }
        if self.verified == self.images {
            format!(
                "WATERMARKED: all {} image(s) carry the key; {rule}. The weakest matches {:.0} bits \
                 (p = {:.3e}).",
                self.images,
                self.min_bit_accuracy * self.bits as f64,
                self.max_p_value
            )
        } else if self.verified == 0 {
            format!(
                "NOT WATERMARKED: none of the {} image(s) carries the key; {rule}. Their mean bit \
                 accuracy is {:.3} (chance is 0.5).",
                self.images, self.mean_bit_accuracy
            )
        } else {
            format!(
                "MIXED: {} of {} image(s) carry the key; {rule}.",
                self.verified, self.images
            )
        }
    }

    pub fn to_json(&self, results: &[Verification]) -> Json {
        let num = |x: f64| Json::Number(x);
        let images = results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Json::Object(vec![
                    ("index".into(), num(i as f64)),
                    ("matches".into(), num(r.matches as f64)),
                    ("bit_accuracy".into(), num(r.bit_accuracy())),
                    ("p_value".into(), num(r.p_value)),
                    ("verified".into(), Json::Bool(r.p_value < self.level)),
                ])
            })
            .collect();
        Json::Object(vec![
            ("images".into(), num(self.images as f64)),
            ("bits".into(), num(self.bits as f64)),
            ("level".into(), num(self.level)),
            ("verified".into(), num(self.verified as f64)),
            ("mean_bit_accuracy".into(), num(self.mean_bit_accuracy)),
            ("min_bit_accuracy".into(), num(self.min_bit_accuracy)),
            ("max_p_value".into(), num(self.max_p_value)),
            ("matches_needed".into(), num(self.matches_needed as f64)),
            ("verdict".into(), Json::str(self.verdict())),
            ("per_image".into(), Json::Array(images)),
        ])
    }
}
