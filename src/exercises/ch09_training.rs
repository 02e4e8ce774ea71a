//! Chapter 9 exercises.
//!
//! Run `cargo test --release --features exercises --test ch09_training -- exercise_` until all
//! pass. The worked solutions are in `solutions/ch09_training.rs` (read them afterwards).

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
    let _ = (d_real, d_fake);
    todo!(
        "the mean of ln D(x') over d_real plus the mean of ln(1 - D(G(z))) over d_fake; each mean \
         divides by its own length (chapters/09-learning-a-gan.md, 'Algorithm 1')"
    )
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
    let _ = (d, real, fake, lr);
    todo!(
        "d.net.zero_grad(); forward the real batch (d.forward(real, None)) and backward \
         gan::loss::grad_d_loss_real of its logits; the same for the fake batch with \
         grad_d_loss_fake (gradients add up); then for p in d.net.named_params(): \
         p.value.axpy(T::from_f64(-lr), p.grad). Return (d_loss_real + d_loss_fake).to_f64()"
    )
}
