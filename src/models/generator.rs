//! Chapter 6. The generator: DCGAN (Radford et al., 2016), "an inverted CNN with
//! fractionally-strided convolution layers (not deconvolution)".
//!
//! ```text
//!   z: [N, nz] (+ one-hot label: [N, classes])     -> viewed as [N, nz (+ classes), 1, 1]
//!   ConvT(k = s0, s 1, p 0)   project and reshape   -> [N, ngf * 2^(L-1), s0, s0]     BN, ReLU
//!   ConvT(k4, s2, p1)         fractionally strided  -> [N, ngf * 2^(L-2), 2 s0, 2 s0]  BN, ReLU
//!   ...                       (each doubles h and w, halves the channels)
//!   ConvT(k4, s2, p1)         to the image          -> [N, C, s0 2^L, s0 2^L]          Tanh
//! ```
//!
//! For 64 x 64 x 3 with ngf = 64 this is PyTorch's DCGAN example layer for layer (100 -> 512 at
//! 4x4 -> 256 -> 128 -> 64 -> 3 at 64x64), and the parameter names match its `nn.Sequential`
//! (`generator.0.weight` is the first ConvT, `generator.1.weight` the first BatchNorm's gamma).
//! No convolution has a bias: the BatchNorm after it would cancel it.

use super::conditional::one_hot_join;
use super::{dcgan_batch_norm, upsampling_plan};
use crate::error::Result;
use crate::init;
use crate::layers::activation::{ReLU, Tanh};
use crate::layers::conv_transpose::ConvTranspose2d;
use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The shape of a DCGAN generator.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Length of the noise vector z.
    pub nz: usize,
    /// Width: channels of the last hidden layer (doubled at each layer towards the input).
    pub ngf: usize,
    /// Side of the square images made.
    pub image_size: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Number of classes for a class-conditional generator; 0 for an unconditional one.
    pub classes: usize,
}

/// G: noise (and a label) in, an image in [-1, 1] out.
pub struct Generator<T: Real> {
    pub config: GeneratorConfig,
    pub net: Sequential<T>,
}

impl<T: Real> Generator<T> {
    /// A generator with DCGAN's initialisation drawn from `rng`.
    pub fn new(config: GeneratorConfig, rng: &mut Rng) -> Result<Self> {
        let (s0, doublings) = upsampling_plan(config.image_size)?;
        let width = |i: usize| config.ngf << (doublings - 1 - i); // channels after layer i
        let mut net = Sequential::new("generator");
        let mut project =
            ConvTranspose2d::new(config.nz + config.classes, width(0), s0, 1, 0, false);
        init::dcgan_weight(&mut project.weight, rng);
        net = net
            .with(project)
            .with(dcgan_batch_norm(width(0), rng))
            .with(ReLU::new());
        for i in 1..doublings {
            let mut up = ConvTranspose2d::new(width(i - 1), width(i), 4, 2, 1, false);
            init::dcgan_weight(&mut up.weight, rng);
            net = net
                .with(up)
                .with(dcgan_batch_norm(width(i), rng))
                .with(ReLU::new());
        }
        let mut to_image = ConvTranspose2d::new(config.ngf, config.channels, 4, 2, 1, false);
        init::dcgan_weight(&mut to_image.weight, rng);
        net = net.with(to_image).with(Tanh::new());
        Ok(Generator { config, net })
    }

    /// The fully connected generator of 2-D points (chapter 9): `image_size` 0, `channels` 2.
    pub fn mlp_2d(nz: usize, hidden: usize, rng: &mut Rng) -> Self {
        let config = GeneratorConfig {
            nz,
            ngf: hidden,
            image_size: 0,
            channels: 2,
            classes: 0,
        };
        Generator {
            config,
            net: super::mlp::mlp_generator(nz, hidden, rng),
        }
    }

    /// z: [N, nz], labels: N class indices (conditional only) -> images [N, C, H, W] in [-1, 1]
    /// (or points [N, 2] for the 2-D generator).
    pub fn forward(&mut self, z: &Tensor<T>, labels: Option<&[usize]>) -> Tensor<T> {
        let input = one_hot_join(z, labels, self.config.classes, "Generator");
        if self.config.image_size == 0 {
            return self.net.forward(&input);
        }
        let n = input.rows();
        let input = input
            .reshape(&[n, self.config.nz + self.config.classes, 1, 1])
            .expect("same element count");
        self.net.forward(&input)
    }

    /// dL/d(images) -> dL/dz: [N, nz] (the label part of the input has no gradient to return).
    pub fn backward(&mut self, grad_images: &Tensor<T>) -> Tensor<T> {
        let grad_input = self.net.backward(grad_images);
        let (n, nz, width) = (
            grad_input.rows(),
            self.config.nz,
            self.config.nz + self.config.classes,
        );
        let g = grad_input.as_slice();
        Tensor::from_fn(&[n, nz], |k| g[(k / nz) * width + k % nz])
    }

    /// G's parameter gradients only: when the noise is not learned, nothing needs dL/dz, so
    /// the first layer skips its input gradient.
    pub fn backward_params(&mut self, grad_images: &Tensor<T>) {
        self.net.backward_params_only(grad_images);
    }
}
