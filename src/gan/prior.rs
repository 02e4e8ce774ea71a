//! Chapter 8. The noise prior p_noise(z), and the lecture's question: "How do we backpropagate
//! through G if there is a stochastic Gaussian distribution involved?"
//!
//! Usually p_noise = N(0, sigma^2 I) with sigma fixed, and nothing needs a gradient: z is an
//! input. If the prior itself is to be learned, the answer is the reparameterisation: draw the
//! randomness first, eps ~ N(0, I), and make z a deterministic, differentiable function of the
//! parameters,
//!
//! ```text
//!   z = mu + sigma * eps          dL/dmu = sum over the batch of dL/dz
//!                                 dL/dsigma = sum over the batch of dL/dz * eps
//! ```
//!
//! so the gradient flows from G's input into mu and sigma, while eps, like a data point, needs
//! none.

use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// z = mu + sigma * eps, per coordinate; learnable or fixed.
pub struct NoisePrior<T: Real> {
    /// [nz], initially 0.
    pub mu: Tensor<T>,
    /// [nz], initially `noise_std`.
    pub sigma: Tensor<T>,
    pub grad_mu: Tensor<T>,
    pub grad_sigma: Tensor<T>,
    /// Whether mu and sigma are trained with the generator.
    pub learnable: bool,
}

impl<T: Real> NoisePrior<T> {
    /// N(0, noise_std^2 I) in `nz` dimensions.
    pub fn new(nz: usize, noise_std: f64, learnable: bool) -> Self {
        NoisePrior {
            mu: Tensor::zeros(&[nz]),
            sigma: Tensor::full(&[nz], T::from_f64(noise_std)),
            grad_mu: Tensor::zeros(&[nz]),
            grad_sigma: Tensor::zeros(&[nz]),
            learnable,
        }
    }

    pub fn nz(&self) -> usize {
        self.mu.len()
    }

    /// z = mu + sigma * eps for a batch of `n`; returns (z, eps), both [n, nz]. The eps are drawn
    /// by Box-Muller (chapter 1), so a seed fixes them.
    pub fn sample(&self, rng: &mut Rng, n: usize) -> (Tensor<T>, Tensor<T>) {
        let eps = crate::rng::noise::<T>(rng, n, self.nz(), 1.0);
        (self.reparameterise(&eps), eps)
    }

    /// z = mu + sigma * eps for given eps [n, nz].
    pub fn reparameterise(&self, eps: &Tensor<T>) -> Tensor<T> {
        let nz = self.nz();
        let (mu, sigma) = (self.mu.as_slice(), self.sigma.as_slice());
        let e = eps.as_slice();
        Tensor::from_fn(eps.shape(), |k| mu[k % nz] + sigma[k % nz] * e[k])
    }

    /// Adds dL/dmu and dL/dsigma, given dL/dz and the eps that made z.
    pub fn backward(&mut self, grad_z: &Tensor<T>, eps: &Tensor<T>) {
        let nz = self.nz();
        for (k, (&g, &e)) in grad_z.as_slice().iter().zip(eps.as_slice()).enumerate() {
            self.grad_mu[k % nz] += g;
            self.grad_sigma[k % nz] += g * e;
        }
    }

    pub fn zero_grad(&mut self) {
        self.grad_mu.fill(T::ZERO);
        self.grad_sigma.fill(T::ZERO);
    }
}
