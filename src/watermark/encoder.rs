//! Chapter 14. The encoder of the watermarking network: it hides a key in an image as a small
//! residual (Fei et al., 2022, after HiDDeN, Zhu et al., 2018).
//!
//! ```text
//!   images: [N, C, H, W], keys: [N, n] (bits 0/1, read as -1/+1)
//!   key planes: Linear(n -> K H W), reshape      -> [N, K, H, W]      (K = KEY_PLANES)
//!   join with the image                          -> [N, C + K, H, W]
//!   Conv(k3, s1, p1) -> hidden, ReLU             -> [N, hidden, H, W]
//!   Conv(k3, s1, p1) -> hidden, ReLU             -> [N, hidden, H, W]
//!   Conv(k3, s1, p1) -> C, Tanh                  -> [N, C, H, W]
//!   residual = strength * tanh(...)              every pixel moves by less than `strength`
//!   watermarked = image + residual               (not clamped: the MSE term keeps it small)
//! ```
//!
//! The key planes are learned: each bit gets its own pattern over the image (a "carrier", as in
//! spread-spectrum watermarking), and the residual is a sum of carriers with the signs of the
//! bits. Spreading each bit over many pixels is what lets the mark survive noise. Planes that
//! were constant over the image (each bit one grey level) would leave the convolutions nothing
//! to draw with on a flat background, such as the black around a digit. The encoder also sees
//! the image, so it can shape the mark to the picture.

use crate::layers::activation::{ReLU, Reshape, Tanh};
use crate::layers::conv::Conv2d;
use crate::layers::linear::Linear;
use crate::layers::sequential::{NamedParam, Sequential};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// E: image and key in, residual out.
pub struct Encoder<T: Real> {
    pub channels: usize,
    pub image_size: usize,
    pub bits: usize,
    pub hidden: usize,
    /// The largest change of one pixel (the residual is strength * tanh).
    pub strength: f64,
    /// key [N, n] -> key planes [N, K, H, W].
    pub key_net: Sequential<T>,
    /// image and key planes [N, C + K, H, W] -> [N, C, H, W] in (-1, 1).
    pub net: Sequential<T>,
}

/// K, the number of learned key planes.
pub const KEY_PLANES: usize = 4;

impl<T: Real> Encoder<T> {
    /// An encoder for images of side `image_size`.
    pub fn new(
        channels: usize,
        image_size: usize,
        bits: usize,
        hidden: usize,
        strength: f64,
        rng: &mut Rng,
    ) -> Self {
        let planes = KEY_PLANES * image_size * image_size;
        let mut spread = Linear::new(bits, planes);
        // Unit-variance planes from +-1 inputs.
        rng.fill_normal(
            spread.weight.as_mut_slice(),
            0.0,
            (1.0 / bits as f64).sqrt(),
        );
        let key_net = Sequential::new("key_planes")
            .with(spread)
            .with(Reshape::new(&[KEY_PLANES, image_size, image_size]));
        let mut net = Sequential::new("encoder");
        let mut convs = [
            Conv2d::new(channels + KEY_PLANES, hidden, 3, 1, 1, true),
            Conv2d::new(hidden, hidden, 3, 1, 1, true),
            Conv2d::new(hidden, channels, 3, 1, 1, true),
        ];
        // The residual starts strong (about half of `strength`): a decoder can only begin to
        // learn from a mark that survives the image-processing layer (a residual much smaller
        // than the noise or than one step of 8-bit quantisation would not); the MSE term makes
        // it faint later (train.rs).
        for conv in &mut convs {
            he_normal(&mut conv.weight, rng);
        }
        let [c0, c1, c2] = convs;
        net = net
            .with(c0)
            .with(ReLU::new())
            .with(c1)
            .with(ReLU::new())
            .with(c2)
            .with(Tanh::new());
        Encoder {
            channels,
            image_size,
            bits,
            hidden,
            strength,
            key_net,
            net,
        }
    }

    /// images: [N, C, H, W], keys: [N, n] of 0/1 -> residual [N, C, H, W].
    pub fn forward(&mut self, images: &Tensor<T>, keys: &Tensor<T>) -> Tensor<T> {
        let signs = keys.map(|b| T::from_f64(2.0) * b - T::ONE);
        let planes = self.key_net.forward(&signs);
        let input = join_channels(images, &planes);
        let mut residual = self.net.forward(&input);
        residual.scale(T::from_f64(self.strength));
        residual
    }

    /// dL/d(residual) -> dL/d(images) through the encoder alone (the watermarked image's direct
    /// path, image + residual, is the caller's); accumulates the parameters' gradients, those of
    /// the key planes included.
    pub fn backward(&mut self, grad_residual: &Tensor<T>) -> Tensor<T> {
        let mut grad = grad_residual.clone();
        grad.scale(T::from_f64(self.strength));
        let grad_input = self.net.backward(&grad);
        let (grad_images, grad_planes) = split_channels(&grad_input, self.channels);
        // The key itself is data: its gradient is not needed.
        self.key_net.backward(&grad_planes);
        grad_images
    }

    /// Every parameter of both parts, for an optimiser.
    pub fn named_params(&mut self) -> Vec<NamedParam<'_, T>> {
        let mut params = self.key_net.named_params();
        params.extend(self.net.named_params());
        params
    }

    pub fn zero_grad(&mut self) {
        self.key_net.zero_grad();
        self.net.zero_grad();
    }
}

/// Kaiming (He) normal initialisation for a layer followed by ReLU: std = sqrt(2 / fan_in).
pub(crate) fn he_normal<T: Real>(weight: &mut Tensor<T>, rng: &mut Rng) {
    let fan_in: usize = weight.shape()[1..].iter().product();
    rng.fill_normal(weight.as_mut_slice(), 0.0, (2.0 / fan_in as f64).sqrt());
}

/// a: [N, Ca, H, W], b: [N, Cb, H, W] -> [N, Ca + Cb, H, W].
fn join_channels<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    let (sa, sb) = (a.shape(), b.shape());
    assert!(
        sa.len() == 4 && sb.len() == 4 && sa[0] == sb[0] && sa[2..] == sb[2..],
        "Encoder: images [N, C, H, W] and key planes [N, K, H, W] expected, found {sa:?} and {sb:?}"
    );
    let n = sa[0];
    let (per_a, per_b) = (a.len() / n.max(1), b.len() / n.max(1));
    let mut out = Vec::with_capacity(a.len() + b.len());
    for i in 0..n {
        out.extend_from_slice(&a.as_slice()[i * per_a..(i + 1) * per_a]);
        out.extend_from_slice(&b.as_slice()[i * per_b..(i + 1) * per_b]);
    }
    Tensor::from_vec(&[n, sa[1] + sb[1], sa[2], sa[3]], out).expect("sizes counted above")
}

/// [N, C + K, H, W] -> ([N, C, H, W], [N, K, H, W]): the inverse of [`join_channels`].
fn split_channels<T: Real>(joined: &Tensor<T>, channels: usize) -> (Tensor<T>, Tensor<T>) {
    let s = joined.shape();
    let (n, hw) = (s[0], s[2] * s[3]);
    let (per_a, per_b) = (channels * hw, (s[1] - channels) * hw);
    let (mut a, mut b) = (Vec::with_capacity(n * per_a), Vec::with_capacity(n * per_b));
    for image in joined.as_slice().chunks(per_a + per_b) {
        a.extend_from_slice(&image[..per_a]);
        b.extend_from_slice(&image[per_a..]);
    }
    (
        Tensor::from_vec(&[n, channels, s[2], s[3]], a).expect("whole images"),
        Tensor::from_vec(&[n, s[1] - channels, s[2], s[3]], b).expect("whole images"),
    )
}
