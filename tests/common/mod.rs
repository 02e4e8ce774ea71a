//! Helpers shared by the integration tests.
// Each test file uses only some of them.
#![allow(dead_code)]

use gan::{Real, Tensor};

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast, seedable generator, enough for
/// test data. Every seed gives a different, reproducible stream.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f64 {
        // The top 53 bits give a uniform double in [0, 1).
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// A tensor of the given shape with entries uniform in [-1, 1).
    pub fn tensor<T: Real>(&mut self, shape: &[usize]) -> Tensor<T> {
        Tensor::from_fn(shape, |_| T::from_f64(self.uniform()))
    }
}

/// max |a - b| / max(1, max |b|): the error of `a` measured on the scale of `b`.
pub fn scaled_error<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> f64 {
    a.max_abs_diff(b).to_f64() / b.max_abs().to_f64().max(1.0)
}

/// <a, b> compared with <c, d>: their difference relative to the sizes of the products summed.
pub fn adjoint_gap(a: &Tensor<f64>, b: &Tensor<f64>, c: &Tensor<f64>, d: &Tensor<f64>) -> f64 {
    let scale = |x: &Tensor<f64>, y: &Tensor<f64>| -> f64 {
        x.as_slice()
            .iter()
            .zip(y.as_slice())
            .map(|(p, q)| (p * q).abs())
            .sum()
    };
    (a.dot(b) - c.dot(d)).abs() / scale(a, b).max(scale(c, d)).max(1e-300)
}
