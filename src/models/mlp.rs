//! Chapter 9. Small fully connected players for 2-D data, to watch a GAN train in pictures
//! (the ring of eight Gaussians), where every sample is a point one can plot.
//!
//! ```text
//!   G: z [N, nz] -> Linear(nz, h) ReLU -> Linear(h, h) ReLU -> Linear(h, 2)        -> points [N, 2]
//!   D: x [N, 2]  -> Linear(2, h) LeakyReLU -> Linear(h, h) LeakyReLU -> Linear(h, 1) -> logits [N, 1]
//! ```

use crate::layers::activation::{LeakyReLU, ReLU};
use crate::layers::linear::Linear;
use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::scalar::Real;

/// A linear layer with PyTorch's default initialisation: weights and biases uniform on
/// (-1/sqrt(in), 1/sqrt(in)), which suits small fully connected nets better than N(0, 0.02).
fn linear<T: Real>(inputs: usize, outputs: usize, rng: &mut Rng) -> Linear<T> {
    let mut layer = Linear::new(inputs, outputs);
    let bound = 1.0 / (inputs as f64).sqrt();
    for w in layer
        .weight
        .as_mut_slice()
        .iter_mut()
        .chain(layer.bias.as_mut_slice())
    {
        *w = T::from_f64(rng.uniform_range(-bound, bound));
    }
    layer
}

/// The 2-D generator: noise of length `nz` to a point in the plane.
pub fn mlp_generator<T: Real>(nz: usize, hidden: usize, rng: &mut Rng) -> Sequential<T> {
    Sequential::new("generator")
        .with(linear(nz, hidden, rng))
        .with(ReLU::new())
        .with(linear(hidden, hidden, rng))
        .with(ReLU::new())
        .with(linear(hidden, 2, rng))
}

/// The 2-D discriminator: a point in the plane to one logit.
pub fn mlp_discriminator<T: Real>(hidden: usize, rng: &mut Rng) -> Sequential<T> {
    Sequential::new("discriminator")
        .with(linear(2, hidden, rng))
        .with(LeakyReLU::new(0.2))
        .with(linear(hidden, hidden, rng))
        .with(LeakyReLU::new(0.2))
        .with(linear(hidden, 1, rng))
}
