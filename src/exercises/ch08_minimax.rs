//! Chapter 8 exercises: the minimax generator gradient, and the optimal discriminator
//! (chapters/08-the-minimax-game.md, "Exercises").
//!
//! Fill in both functions, then run
//! `cargo test --release --features exercises --test ch08_minimax -- exercise_`.
// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 8.1: d(g_loss)/d(logit) for the minimax generator loss
/// g_loss = (1/count) sum log(1 - D(G(z))), D = sigmoid(logit), over every logit of
/// `fake_logits` (any shape: [N, 1, 1, 1], or a PatchGAN grid [N, 1, h, w]).
pub fn grad_g_loss_minimax<T: Real>(fake_logits: &Tensor<T>) -> Tensor<T> {
    todo!(
        "chain rule on one logit l: d/dl log(1 - sigmoid(l)) = -sigmoid'(l) / (1 - sigmoid(l)), \
         and sigmoid' = sigmoid (1 - sigmoid). Simplify, then divide by the number of logits \
         (the loss is a mean). `crate::layers::activation::sigmoid` is stable for any l"
    )
}

/// Exercise 8.2: the discriminator that maximises the value V(D, G) for a fixed G, at a point x
/// where the data has density `p_data` and the generator `p_g`. Where both are 0 any answer is
/// optimal; return 1/2 there.
pub fn optimal_discriminator(p_data: f64, p_g: f64) -> f64 {
    todo!(
        "at each x, D(x) = y is free: maximise f(y) = p_data log y + p_g log(1 - y) over y in \
         [0, 1]. Set f'(y) = 0 and solve for y"
    )
}
