//! Chapter 6. Initialisation as in DCGAN (Radford et al., 2016): "all weights were initialized
//! from a zero-centered Normal distribution with standard deviation 0.02". PyTorch's DCGAN example
//! adds BatchNorm scales gamma ~ N(1, 0.02) and zero shifts; biases start at zero.
//!
//! Every draw comes from one seeded [`Rng`], so a seed fixes the initial network.

use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The DCGAN standard deviation.
pub const DCGAN_STD: f64 = 0.02;

/// Fills a convolution, transposed-convolution or linear weight with N(0, 0.02^2).
pub fn dcgan_weight<T: Real>(weight: &mut Tensor<T>, rng: &mut Rng) {
    rng.fill_normal(weight.as_mut_slice(), 0.0, DCGAN_STD);
}

/// BatchNorm: gamma ~ N(1, 0.02^2), beta = 0.
pub fn dcgan_batch_norm<T: Real>(gamma: &mut Tensor<T>, beta: &mut Tensor<T>, rng: &mut Rng) {
    rng.fill_normal(gamma.as_mut_slice(), 1.0, DCGAN_STD);
    beta.fill(T::ZERO);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_scaled() {
        let mut w = Tensor::<f64>::zeros(&[64, 3, 4, 4]);
        dcgan_weight(&mut w, &mut Rng::new(1));
        let mut again = Tensor::<f64>::zeros(&[64, 3, 4, 4]);
        dcgan_weight(&mut again, &mut Rng::new(1));
        assert_eq!(w, again);
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let std = (w.dot(&w) / n - mean * mean).sqrt();
        assert!(mean.abs() < 3.0 * DCGAN_STD / n.sqrt(), "mean {mean}");
        assert!((std - DCGAN_STD).abs() < 0.1 * DCGAN_STD, "std {std}");
        let (mut gamma, mut beta) = (
            Tensor::<f32>::zeros(&[512]),
            Tensor::<f32>::full(&[512], 5.0),
        );
        dcgan_batch_norm(&mut gamma, &mut beta, &mut Rng::new(2));
        assert!((gamma.mean() - 1.0).abs() < 0.01 && beta.max_abs() == 0.0);
    }
}
