//! Chapter 8. The minimax game, as losses on the discriminator's logits.
//!
//! D outputs a logit l; D(x) = sigmoid(l) is its probability that x is real. The lecture's
//! objective, for a real image x' and a fake x = G(z):
//!
//! ```text
//!   J' = log D(x')              J = log(1 - D(G(z)))
//!   D maximises J + J'          G minimises J
//! ```
//!
//! Everything is written as a loss to *minimise*, through binary cross-entropy on logits
//! (chapter 5), which is exact for any logit:
//!
//! ```text
//!   d_loss_real = -J' = BCE(l_real, 1)        d_loss_fake = -J = BCE(l_fake, 0)
//!   g_loss (minimax)        =  J = -BCE(l_fake, 0)     gradient -sigmoid(l)      / count
//!   g_loss (non-saturating) = -log D(G(z)) = BCE(l_fake, 1)   gradient sigmoid(l) - 1 / count
//! ```
//!
//! Early in training D rejects fakes confidently (l << 0, D(G(z)) near 0). There the minimax
//! gradient -sigmoid(l) vanishes while the non-saturating one stays near -1 / count: the reason
//! the GAN paper recommends the latter in practice (chapter 8 measures it).

use crate::layers::loss::{bce_with_logits, bce_with_logits_backward};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Which loss the generator minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorLoss {
    /// log(1 - D(G(z))), the lecture's and the paper's minimax objective.
    Minimax,
    /// -log D(G(z)), the paper's practical variant: the same fixed point, strong early gradients.
    NonSaturating,
}

impl GeneratorLoss {
    pub fn name(self) -> &'static str {
        match self {
            GeneratorLoss::Minimax => "minimax",
            GeneratorLoss::NonSaturating => "non-saturating",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "minimax" => Some(GeneratorLoss::Minimax),
            "non-saturating" | "nonsaturating" | "ns" => Some(GeneratorLoss::NonSaturating),
            _ => None,
        }
    }
}

/// -J' = -mean log D(x'): how badly D misses the real images.
pub fn d_loss_real<T: Real>(real_logits: &Tensor<T>) -> T {
    bce_with_logits(real_logits, T::ONE)
}

/// d(d_loss_real)/d(real_logits) = (sigmoid(l) - 1) / count.
pub fn grad_d_loss_real<T: Real>(real_logits: &Tensor<T>) -> Tensor<T> {
    bce_with_logits_backward(real_logits, T::ONE)
}

/// -J = -mean log(1 - D(G(z))): how badly D misses the fakes.
pub fn d_loss_fake<T: Real>(fake_logits: &Tensor<T>) -> T {
    bce_with_logits(fake_logits, T::ZERO)
}

/// d(d_loss_fake)/d(fake_logits) = sigmoid(l) / count.
pub fn grad_d_loss_fake<T: Real>(fake_logits: &Tensor<T>) -> Tensor<T> {
    bce_with_logits_backward(fake_logits, T::ZERO)
}

/// The generator's loss on D's logits for its fakes.
pub fn g_loss<T: Real>(kind: GeneratorLoss, fake_logits: &Tensor<T>) -> T {
    match kind {
        GeneratorLoss::Minimax => -bce_with_logits(fake_logits, T::ZERO),
        GeneratorLoss::NonSaturating => bce_with_logits(fake_logits, T::ONE),
    }
}

/// d(g_loss)/d(fake_logits).
pub fn grad_g_loss<T: Real>(kind: GeneratorLoss, fake_logits: &Tensor<T>) -> Tensor<T> {
    match kind {
        GeneratorLoss::Minimax => bce_with_logits_backward(fake_logits, T::ZERO).map(|g| -g),
        GeneratorLoss::NonSaturating => bce_with_logits_backward(fake_logits, T::ONE),
    }
}
