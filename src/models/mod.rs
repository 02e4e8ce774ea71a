//! Chapters 6, 7 and 10. The two players: the generator G (DCGAN) and the discriminator D (DCGAN
//! or PatchGAN), in unconditional and class-conditional form, and small fully connected versions
//! for 2-D data.

pub mod conditional;
pub mod discriminator;
pub mod generator;
pub mod mlp;

pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use generator::{Generator, GeneratorConfig};

use crate::error::{Error, Result};
use crate::init;
use crate::layers::batch_norm::BatchNorm;
use crate::rng::Rng;
use crate::scalar::Real;

/// How an image of side `size` is built by fractionally-strided convolutions: from an s0 x s0
/// map, doubled `L` times (size = s0 * 2^L).
///
/// s0 is the first size of at least 4 reached by halving (DCGAN's 4x4 for 32 and 64, 7x7 for
/// 28), except that at least two doublings are kept (8 is built 2 -> 4 -> 8).
pub fn upsampling_plan(size: usize) -> Result<(usize, usize)> {
    let (mut s0, mut doublings) = (size, 0);
    while s0 % 2 == 0 && s0 / 2 >= 4 {
        s0 /= 2;
        doublings += 1;
    }
    while doublings < 2 && s0 % 2 == 0 && s0 / 2 >= 2 {
        s0 /= 2;
        doublings += 1;
    }
    if doublings == 0 {
        return Err(Error::usage(format!(
            "the generator cannot build {size} x {size} images: it doubles an s0 x s0 map (s0 >= 2) \
             at least once, so it builds even sizes of at least 4, such as 8, 16, 28, 32 and 64"
        )));
    }
    Ok((s0, doublings))
}

/// A BatchNorm2d with DCGAN's initialisation (gamma ~ N(1, 0.02^2), beta = 0).
fn dcgan_batch_norm<T: Real>(channels: usize, rng: &mut Rng) -> BatchNorm<T> {
    let mut bn = BatchNorm::new_2d(channels);
    init::dcgan_batch_norm(&mut bn.weight, &mut bn.bias, rng);
    bn
}

#[cfg(test)]
mod tests {
    #[test]
    fn plans_match_dcgan() {
        assert_eq!(super::upsampling_plan(64).unwrap(), (4, 4));
        assert_eq!(super::upsampling_plan(32).unwrap(), (4, 3));
        assert_eq!(super::upsampling_plan(28).unwrap(), (7, 2));
        assert_eq!(super::upsampling_plan(8).unwrap(), (2, 2));
        assert_eq!(super::upsampling_plan(16).unwrap(), (4, 2));
        assert!(super::upsampling_plan(27).is_err());
        assert!(super::upsampling_plan(2).is_err());
    }
}
