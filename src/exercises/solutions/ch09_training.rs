//! Chapter 9 exercises, worked solutions.

use crate::gan::loss::{d_loss_fake, d_loss_real, grad_d_loss_fake, grad_d_loss_real};
use crate::models::Discriminator;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 9.1: the value function of the game, from D's probabilities,
///
/// ```text
///   V(D, G) = (1/m') sum_i log D(x'_i)  +  (1/m) sum_j log(1 - D(G(z_j)))
/// ```
///
/// - `d_real`: D(x') for each real example of a minibatch, each in (0, 1].
/// - `d_fake`: D(G(z)) for each fake, each in [0, 1).
///
/// D ascends V, G descends it. (The library never forms these probabilities: it works on logits,
/// where V = -(d_loss_real + d_loss_fake) is exact even when D is very sure.)
pub fn value_function(d_real: &[f64], d_fake: &[f64]) -> f64 {
    let mean = |values: &[f64], f: fn(f64) -> f64| {
        values.iter().map(|&p| f(p)).sum::<f64>() / values.len() as f64
    };
    // ln(1 - p) as ln_1p(-p): accurate when D(G(z)) is tiny, as it is early in training.
    mean(d_real, f64::ln) + mean(d_fake, |p| (-p).ln_1p())
}

/// Exercise 9.2: one discriminator step of Algorithm 1, by hand, with plain SGD.
///
/// - `d`: the discriminator (unconditional: pass `None` as the labels).
/// - `real`: a minibatch of real examples x'; `fake`: a minibatch of G's output, already made
///   (in the D step, G's images are just data).
///
/// Descend d_loss = d_loss_real + d_loss_fake (that is, ascend V): every parameter moves by
/// `-lr * grad`. Returns d_loss as it was BEFORE the step.
pub fn discriminator_sgd_step<T: Real>(
    d: &mut Discriminator<T>,
    real: &Tensor<T>,
    fake: &Tensor<T>,
    lr: f64,
) -> f64 {
    // Layers ADD into their gradients, so start from zero: otherwise the last step's gradient
    // (or the one a G step left in D) would be applied again.
    d.net.zero_grad();
    let real_logits = d.forward(real, None);
    d.backward(&grad_d_loss_real(&real_logits));
    let fake_logits = d.forward(fake, None);
    d.backward(&grad_d_loss_fake(&fake_logits));
    for p in d.net.named_params() {
        p.value.axpy(T::from_f64(-lr), p.grad);
    }
    (d_loss_real(&real_logits) + d_loss_fake(&fake_logits)).to_f64()
}
