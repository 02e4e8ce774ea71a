//! Chapter 14. A watermark key: n bits (32 by default), written as hexadecimal digits.
//!
//! The first hex digit holds bits 0-3, its most significant bit first, so `8000_0000` is bit 0
//! set and the other 31 clear. A key of n bits has n / 4 digits; underscores and a leading `0x`
//! are ignored.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The bits of a watermark, in the order the decoder's logits read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    bits: Vec<bool>,
}

/// The key length used when none is given.
pub const DEFAULT_BITS: usize = 32;

impl Key {
    pub fn from_bits(bits: Vec<bool>) -> Self {
        Key { bits }
    }

    /// n random bits (each 0 or 1 with probability 1/2).
    pub fn random(n: usize, rng: &mut Rng) -> Self {
        Key {
            bits: (0..n).map(|_| rng.next_u64() >> 63 == 1).collect(),
        }
    }

    /// Parses hex digits into a key of exactly `bits` bits; a key of another length is an error
    /// that says how many digits were expected.
    pub fn parse(text: &str, bits: usize) -> Result<Self> {
        let digits: String = text
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|&c| c != '_')
            .collect();
        let mut key = Vec::with_capacity(4 * digits.len());
        for c in digits.chars() {
            let value = c.to_digit(16).ok_or_else(|| {
                Error::usage(format!(
                    "the key '{text}' is not hexadecimal: '{c}' is not one of 0-9, a-f"
                ))
            })?;
            key.extend((0..4).rev().map(|b| (value >> b) & 1 == 1));
        }
        if key.len() != bits {
            return Err(Error::usage(format!(
                "the key '{text}' has {} hex digits ({} bits), but the watermark has {bits} bits: \
                 give {} hex digits",
                digits.len(),
                key.len(),
                bits.div_ceil(4)
            )));
        }
        Ok(Key { bits: key })
    }

    /// The key as hex digits (zero bits pad the last digit when n is not a multiple of 4).
    pub fn to_hex(&self) -> String {
        self.bits
            .chunks(4)
            .map(|chunk| {
                let value = (0..4).fold(0u32, |v, b| {
                    (v << 1) | u32::from(chunk.get(b).copied().unwrap_or(false))
                });
                char::from_digit(value, 16).expect("a digit below 16")
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.bits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    pub fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// The key as BCE targets repeated for a batch: [n_images, bits], 1 for a set bit, 0 otherwise.
    pub fn targets<T: Real>(&self, n_images: usize) -> Tensor<T> {
        let n = self.len();
        Tensor::from_fn(&[n_images, n], |i| {
            if self.bits[i % n] {
                T::ONE
            } else {
                T::ZERO
            }
        })
    }

    /// How many of the decoder's bits (logit > 0 reads as 1) agree with the key.
    pub fn matches<T: Real>(&self, logits: &[T]) -> usize {
        assert_eq!(
            logits.len(),
            self.len(),
            "Key::matches: {} logits for a key of {} bits",
            logits.len(),
            self.len()
        );
        logits
            .iter()
            .zip(&self.bits)
            .filter(|(&l, &b)| (l > T::ZERO) == b)
            .count()
    }
}
