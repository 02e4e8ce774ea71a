//! Chapter 7. The discriminator: a CNN that "takes in an image and classifies whether it is real
//! (label 1) or fake (label 0)", DCGAN's mirror of the generator.
//!
//! ```text
//!   x: [N, C (+ classes), H, W]
//!   Conv(k4, s2, p1)                      -> [N, ndf, H/2, W/2]                LeakyReLU(0.2)
//!   Conv(k4, s2, p1)                      -> [N, 2 ndf, H/4, W/4]         BN, LeakyReLU(0.2)
//!   ...                                   (DCGAN: L halvings, down to s0 x s0;
//!                                          PatchGAN: only while the map is larger than 8 x 8)
//!   DCGAN:    Conv(k = s0, s1, p0)        -> [N, 1, 1, 1]       one logit per image
//!   PatchGAN: Conv(k4, s1, p1)            -> [N, 1, m-1, m-1]   one logit per patch (m = the map's side)
//! ```
//!
//! The PatchGAN form (Isola et al., 2017; the lecture's figure is from Demir and Unal, 2018)
//! "looks at each patch of the image and tries to predict whether it is real or fake": each of
//! its s0 x s0 logits depends only on a window of the image, its receptive field
//! ([`Discriminator::patch_size`]), and the loss averages over all of them. Like pix2pix's
//! 70 x 70 PatchGAN, it stops halving early and ends in a stride-1 k4 convolution, so that a
//! patch is a part of the image (46 x 46 of a 64 x 64 image, 22 x 22 of a 28 x 28 one) and
//! neighbouring logits judge overlapping but different windows.

use super::conditional::{label_planes_join, label_planes_split_grad};
use super::{dcgan_batch_norm, upsampling_plan};
use crate::error::Result;
use crate::init;
use crate::layers::activation::LeakyReLU;
use crate::layers::conv::Conv2d;
use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The shape of a DCGAN / PatchGAN discriminator.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscriminatorConfig {
    /// Width: channels of the first layer (doubled at each layer).
    pub ndf: usize,
    pub image_size: usize,
    pub channels: usize,
    /// Number of classes for a class-conditional discriminator; 0 for an unconditional one.
    pub classes: usize,
    /// One logit per patch (PatchGAN) instead of one per image.
    pub patch: bool,
}

/// D: an image (and a label) in, logits out: [N, 1, 1, 1], or [N, 1, s0, s0] for PatchGAN.
pub struct Discriminator<T: Real> {
    pub config: DiscriminatorConfig,
    pub net: Sequential<T>,
}

/// LeakyReLU's slope for negative inputs, as in DCGAN.
const SLOPE: f64 = 0.2;

impl<T: Real> Discriminator<T> {
    pub fn new(config: DiscriminatorConfig, rng: &mut Rng) -> Result<Self> {
        let (s0, _) = upsampling_plan(config.image_size)?;
        let halvings = Self::halvings(&config);
        let width = |i: usize| config.ndf << i;
        let mut net = Sequential::new("discriminator");
        let mut first = Conv2d::new(config.channels + config.classes, width(0), 4, 2, 1, false);
        init::dcgan_weight(&mut first.weight, rng);
        net = net.with(first).with(LeakyReLU::new(SLOPE));
        for i in 1..halvings {
            let mut down = Conv2d::new(width(i - 1), width(i), 4, 2, 1, false);
            init::dcgan_weight(&mut down.weight, rng);
            net = net
                .with(down)
                .with(dcgan_batch_norm(width(i), rng))
                .with(LeakyReLU::new(SLOPE));
        }
        let mut judge = if config.patch {
            Conv2d::new(width(halvings - 1), 1, 4, 1, 1, false)
        } else {
            Conv2d::new(width(halvings - 1), 1, s0, 1, 0, false)
        };
        init::dcgan_weight(&mut judge.weight, rng);
        net = net.with(judge);
        Ok(Discriminator { config, net })
    }

    /// The fully connected discriminator of 2-D points (chapter 9).
    pub fn mlp_2d(hidden: usize, rng: &mut Rng) -> Self {
        let config = DiscriminatorConfig {
            ndf: hidden,
            image_size: 0,
            channels: 2,
            classes: 0,
            patch: false,
        };
        Discriminator {
            config,
            net: super::mlp::mlp_discriminator(hidden, rng),
        }
    }

    /// images: [N, C, H, W], labels (conditional only) -> logits [N, 1, h, w].
    pub fn forward(&mut self, images: &Tensor<T>, labels: Option<&[usize]>) -> Tensor<T> {
        let input = label_planes_join(images, labels, self.config.classes, "Discriminator");
        self.net.forward(&input)
    }

    /// dL/d(logits) -> dL/d(images) (the label planes get no gradient to return).
    pub fn backward(&mut self, grad_logits: &Tensor<T>) -> Tensor<T> {
        let grad_input = self.net.backward(grad_logits);
        label_planes_split_grad(&grad_input, self.config.channels)
    }

    /// dL/d(logits) -> dL/d(images) through a frozen D (G's step): D's own parameter gradients
    /// are not computed, since its optimiser does not step.
    pub fn backward_frozen(&mut self, grad_logits: &Tensor<T>) -> Tensor<T> {
        let grad_input = self.net.backward_input_only(grad_logits);
        label_planes_split_grad(&grad_input, self.config.channels)
    }

    /// D's parameter gradients only (D's step): the images are data, so the first layer skips
    /// its input gradient.
    pub fn backward_params(&mut self, grad_logits: &Tensor<T>) {
        self.net.backward_params_only(grad_logits);
    }

    /// The side of the square window of the image that one output logit sees (its receptive
    /// field): walking back from one output pixel, a layer with kernel k and stride s widens the
    /// window from r to (r - 1) s + k (the padding shifts it, never widens it).
    pub fn patch_size(&self) -> usize {
        let (s0, _) = upsampling_plan(self.config.image_size).expect("checked in new");
        let last_kernel = if self.config.patch { 4 } else { s0 };
        (0..Self::halvings(&self.config)).fold(last_kernel, |r, _| (r - 1) * 2 + 4)
    }

    /// How many k4 s2 p1 layers halve the image: down to s0 x s0 for DCGAN (the mirror of the
    /// generator); for PatchGAN only while the map is larger than 8 x 8 (at least once).
    pub fn halvings(config: &DiscriminatorConfig) -> usize {
        let (_, doublings) = upsampling_plan(config.image_size).expect("a buildable size");
        if !config.patch {
            return doublings;
        }
        let (mut map, mut halvings) = (config.image_size, 0);
        while halvings == 0 || (map > 8 && halvings < doublings) {
            map /= 2;
            halvings += 1;
        }
        halvings
    }
}
