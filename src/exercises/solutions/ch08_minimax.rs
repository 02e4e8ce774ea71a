//! Chapter 8 exercises, worked solutions: the minimax generator gradient, and the optimal
//! discriminator.

use crate::layers::activation::sigmoid;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// Exercise 8.1: d(g_loss)/d(logit) for the minimax generator loss
/// g_loss = (1/count) sum log(1 - D(G(z))), D = sigmoid(logit), over every logit of
/// `fake_logits` (any shape: [N, 1, 1, 1], or a PatchGAN grid [N, 1, h, w]).
///
/// With s = sigmoid(l) and s' = s (1 - s): d/dl log(1 - s) = -s' / (1 - s) = -s. The mean
/// divides by the count. When D rejects a fake confidently (s near 0) this gradient vanishes:
/// the saturation of chapter 8.
pub fn grad_g_loss_minimax<T: Real>(fake_logits: &Tensor<T>) -> Tensor<T> {
    let count = T::from_usize(fake_logits.len().max(1));
    fake_logits.map(|l| -sigmoid(l) / count)
}

/// Exercise 8.2: the discriminator that maximises the value V(D, G) for a fixed G, at a point x
/// where the data has density `p_data` and the generator `p_g`. Where both are 0 any answer is
/// optimal; return 1/2 there.
///
/// f(y) = a log y + b log(1 - y) has f'(y) = a / y - b / (1 - y) = 0 at y = a / (a + b), and
/// f'' < 0, so that is the maximum: D*(x) = p_data(x) / (p_data(x) + p_g(x)).
pub fn optimal_discriminator(p_data: f64, p_g: f64) -> f64 {
    if p_data + p_g == 0.0 {
        0.5
    } else {
        p_data / (p_data + p_g)
    }
}
