//! Chapter 14. The decoder of the watermarking network: it reads n bits back from an image.
//!
//! ```text
//!   images: [N, C, H, W]
//!   Conv(k3, s1, p1) -> width,      LeakyReLU(0.2)    -> [N, width, H, W]
//!   Conv(k4, s2, p1) -> 2 width,    LeakyReLU(0.2)    -> [N, 2 width, H/2, W/2]
//!   Conv(k4, s2, p1) -> 2 width,    LeakyReLU(0.2)    -> [N, 2 width, H/4, W/4]
//!   Flatten, Linear -> n                               -> logits [N, n]   (logit > 0 reads as 1)
//! ```
//!
//! No BatchNorm: once trained, the decoder is frozen and judges one image at a time, so its
//! answer must not depend on the other images of a batch (nor on a training/evaluation mode).

use super::encoder::he_normal;
use crate::error::{Error, Result};
use crate::layers::activation::{LeakyReLU, Reshape};
use crate::layers::conv::{conv2d_output_size, Conv2d};
use crate::layers::linear::Linear;
use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// What a decoder reads: images of this size and channels, keys of this many bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderConfig {
    pub image_size: usize,
    pub channels: usize,
    pub bits: usize,
    pub width: usize,
}

/// The decoder D_w: image in, one logit per key bit out.
pub struct Decoder<T: Real> {
    pub config: DecoderConfig,
    pub net: Sequential<T>,
}

const SLOPE: f64 = 0.2;

impl<T: Real> Decoder<T> {
    pub fn new(config: DecoderConfig, rng: &mut Rng) -> Result<Self> {
        let DecoderConfig {
            image_size,
            channels,
            bits,
            width,
        } = config;
        if image_size < 4 || bits == 0 || width == 0 || channels == 0 {
            return Err(Error::usage(format!(
                "a watermark decoder needs images of at least 4 x 4, at least one bit and width, \
                 found {config:?}"
            )));
        }
        let side = conv2d_output_size(conv2d_output_size(image_size, 4, 2, 1), 4, 2, 1);
        let mut convs = [
            Conv2d::new(channels, width, 3, 1, 1, true),
            Conv2d::new(width, 2 * width, 4, 2, 1, true),
            Conv2d::new(2 * width, 2 * width, 4, 2, 1, true),
        ];
        for conv in &mut convs {
            he_normal(&mut conv.weight, rng);
        }
        let mut read = Linear::new(2 * width * side * side, bits);
        he_normal(&mut read.weight, rng);
        read.weight.scale(T::from_f64(0.5));
        let mut net = Sequential::new("decoder");
        for conv in convs {
            net = net.with(conv).with(LeakyReLU::new(SLOPE));
        }
        net = net.with(Reshape::flatten()).with(read);
        Ok(Decoder { config, net })
    }

    /// images: [N, C, H, W] -> logits [N, bits]. Panics on another image shape; see
    /// [`Decoder::check_images`] for the error a user should see.
    pub fn forward(&mut self, images: &Tensor<T>) -> Tensor<T> {
        let c = &self.config;
        let s = images.shape();
        assert!(
            s.len() == 4 && s[1..] == [c.channels, c.image_size, c.image_size],
            "Decoder: images [N, {}, {}, {}] expected, found {s:?}",
            c.channels,
            c.image_size,
            c.image_size
        );
        self.net.forward(images)
    }

    /// dL/d(logits) -> dL/d(images), accumulating the parameters' gradients (a frozen decoder's
    /// are simply never applied).
    pub fn backward(&mut self, grad_logits: &Tensor<T>) -> Tensor<T> {
        self.net.backward(grad_logits)
    }

    /// A clear error unless `shape` is a batch of the images this decoder reads.
    pub fn check_images(&self, shape: &[usize], what: &str) -> Result<()> {
        let c = &self.config;
        if shape.len() == 4 && shape[1..] == [c.channels, c.image_size, c.image_size] {
            return Ok(());
        }
        Err(Error::shape_text(
            format!("{what}: images for this watermark decoder"),
            format!(
                "[N, {}, {}, {}] ({} channel(s), {} x {})",
                c.channels, c.image_size, c.image_size, c.channels, c.image_size, c.image_size
            ),
            format!("{shape:?}"),
        ))
    }
}
