//! Chapter 14. The image-processing layer between encoder and decoder: during training, each
//! watermarked image is perturbed as it might be after it leaves the generator, so that the
//! decoder learns to read the mark anyway.
//!
//! ```text
//!   perturbation      forward                                    backward (gradient)
//!   Identity          y = x                                      exact
//!   Noise(sigma)      y = x + sigma eps,   eps ~ N(0, 1)         exact: dy/dx = I
//!   Blur              y = [1 2 1]^T [1 2 1] / 16 * x             exact: the adjoint (scatter)
//!   Shift(dy, dx)     y[i, j] = x[i - dy, j - dx]                exact: the adjoint (scatter)
//!   Quantise          y = round((x + 1) 127.5) / 127.5 - 1      straight-through: dy/dx := I
//! ```
//!
//! Noise, blur and shift are affine in x, so their gradients are exact. Blur and shift read
//! pixels outside the image from the nearest edge pixel (replicate padding, as image editors
//! do), so they are both "sums of taps": y[i, j] = sum_t w_t x[clamp(i + a_t), clamp(j + b_t)],
//! and their adjoint adds w_t g[i, j] back into the pixel each tap read. Quantisation to 8 bits
//! (what saving a PNG does) is a staircase: its true derivative is 0 almost everywhere, which
//! would stop all learning, so its gradient is passed straight through as if it were the
//! identity. That is honest here because the staircase never moves a pixel by more than 1/255.

use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// One way of damaging an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Perturbation {
    Identity,
    /// Additive Gaussian noise of this standard deviation (images live in [-1, 1]).
    Noise(f64),
    /// The 3 x 3 binomial blur.
    Blur,
    /// Moves the picture down by dy and right by dx pixels (negative: up, left).
    Shift(i64, i64),
    /// Rounding to 256 levels, as when saved to an 8-bit PNG.
    Quantise,
}

impl Perturbation {
    pub fn name(&self) -> String {
        match self {
            Perturbation::Identity => "none".into(),
            Perturbation::Noise(sigma) => format!("noise sigma {sigma}"),
            Perturbation::Blur => "blur 3x3".into(),
            Perturbation::Shift(dy, dx) => format!("shift ({dy}, {dx})"),
            Perturbation::Quantise => "8-bit quantisation".into(),
        }
    }

    /// images [N, C, H, W] -> perturbed images of the same shape (noise drawn from `rng`).
    pub fn apply<T: Real>(&self, images: &Tensor<T>, rng: &mut Rng) -> Tensor<T> {
        let mut out = images.clone();
        let (per_image, c, h, w) = dims(images);
        for image in out.as_mut_slice().chunks_mut(per_image) {
            self.apply_one(image, c, h, w, rng);
        }
        out
    }

    /// Perturbs one image [C, H, W] in place.
    fn apply_one<T: Real>(&self, x: &mut [T], c: usize, h: usize, w: usize, rng: &mut Rng) {
        match *self {
            Perturbation::Identity => {}
            Perturbation::Noise(sigma) => {
                for v in x.iter_mut() {
                    *v += T::from_f64(sigma * rng.gaussian());
                }
            }
            Perturbation::Quantise => {
                for v in x.iter_mut() {
                    let level = ((v.to_f64().clamp(-1.0, 1.0) + 1.0) * 127.5).round();
                    *v = T::from_f64(level / 127.5 - 1.0);
                }
            }
            Perturbation::Blur | Perturbation::Shift(..) => {
                let y = taps_forward(x, c, h, w, &self.taps());
                x.copy_from_slice(&y);
            }
        }
    }

    /// dL/dy -> dL/dx for one image [C, H, W], in place (see the table above).
    fn backward_one<T: Real>(&self, g: &mut [T], c: usize, h: usize, w: usize) {
        if let Perturbation::Blur | Perturbation::Shift(..) = self {
            let grad_x = taps_backward(g, c, h, w, &self.taps());
            g.copy_from_slice(&grad_x);
        }
        // Identity and noise: dy/dx = I. Quantise: straight-through, treated as I.
    }

    /// The taps (row offset, column offset, weight) of a blur or a shift.
    fn taps(&self) -> Vec<(i64, i64, f64)> {
        match *self {
            Perturbation::Blur => {
                let w = [1.0, 2.0, 1.0];
                (0..9)
                    .map(|t| {
                        (
                            t / 3 - 1,
                            t % 3 - 1,
                            w[t as usize / 3] * w[t as usize % 3] / 16.0,
                        )
                    })
                    .collect()
            }
            // y[i, j] = x[i - dy, j - dx]
            Perturbation::Shift(dy, dx) => vec![(-dy, -dx, 1.0)],
            _ => Vec::new(),
        }
    }
}

/// The image-processing layer of training: a random perturbation per image, remembered for the
/// backward pass.
pub struct ImageProcessing {
    /// The perturbations to choose from (include Identity to keep clean examples).
    pub choices: Vec<Perturbation>,
    /// How often each is chosen, relative to the others (the same length as `choices`).
    pub weights: Vec<f64>,
    chosen: Vec<Perturbation>,
}

impl ImageProcessing {
    /// Each of `choices` equally often.
    pub fn new(choices: Vec<Perturbation>) -> Self {
        let weights = vec![1.0; choices.len()];
        Self::weighted(choices, weights)
    }

    /// `choices[i]` with probability `weights[i] / sum(weights)`.
    pub fn weighted(choices: Vec<Perturbation>, weights: Vec<f64>) -> Self {
        assert!(
            !choices.is_empty() && choices.len() == weights.len(),
            "ImageProcessing: {} perturbations with {} weights",
            choices.len(),
            weights.len()
        );
        assert!(
            weights.iter().all(|w| w.is_finite() && *w >= 0.0) && weights.iter().sum::<f64>() > 0.0,
            "ImageProcessing: weights must be >= 0 and not all 0, found {weights:?}"
        );
        ImageProcessing {
            choices,
            weights,
            chosen: Vec::new(),
        }
    }

    /// The training mix, five kinds equally often: clean, noise (sigma), blur, 8-bit
    /// quantisation, and a shift of up to `max_shift` pixels (one of the shifts, uniformly).
    /// Giving every shift the weight of a kind would make 24 of 28 training images shifted
    /// (for `max_shift` 2), and the decoder would then read noisy and blurred marks poorly.
    pub fn standard(sigma: f64, max_shift: i64) -> Self {
        let mut choices = vec![
            Perturbation::Identity,
            Perturbation::Noise(sigma),
            Perturbation::Blur,
            Perturbation::Quantise,
        ];
        for dy in -max_shift..=max_shift {
            for dx in -max_shift..=max_shift {
                if (dy, dx) != (0, 0) {
                    choices.push(Perturbation::Shift(dy, dx));
                }
            }
        }
        let shifts = (choices.len() - 4) as f64;
        let weights = (0..choices.len())
            .map(|i| if i < 4 { 1.0 } else { 1.0 / shifts })
            .collect();
        Self::weighted(choices, weights)
    }

    /// One perturbation, drawn by weight.
    fn draw(&self, rng: &mut Rng) -> Perturbation {
        let total: f64 = self.weights.iter().sum();
        let mut u = rng.uniform() * total;
        for (p, w) in self.choices.iter().zip(&self.weights) {
            if u < *w {
                return *p;
            }
            u -= w;
        }
        // Rounding can leave u just above the last weight: the last choice with any weight.
        let last = self
            .weights
            .iter()
            .rposition(|w| *w > 0.0)
            .expect("a weight > 0");
        self.choices[last]
    }

    /// images [N, C, H, W] -> each image perturbed by a perturbation drawn for it.
    pub fn forward<T: Real>(&mut self, images: &Tensor<T>, rng: &mut Rng) -> Tensor<T> {
        let (per_image, c, h, w) = dims(images);
        let mut out = images.clone();
        self.chosen.clear();
        for image in out.as_mut_slice().chunks_mut(per_image) {
            let p = self.draw(rng);
            p.apply_one(image, c, h, w, rng);
            self.chosen.push(p);
        }
        out
    }

    /// The perturbation each image of the last forward pass got.
    pub fn chosen(&self) -> &[Perturbation] {
        &self.chosen
    }

    /// dL/d(perturbed) -> dL/d(images), image by image with the perturbation each one got.
    pub fn backward<T: Real>(&self, grad_output: &Tensor<T>) -> Tensor<T> {
        let (per_image, c, h, w) = dims(grad_output);
        assert_eq!(
            grad_output.rows(),
            self.chosen.len(),
            "ImageProcessing::backward: {} images of gradient after a forward of {}",
            grad_output.rows(),
            self.chosen.len()
        );
        let mut grad = grad_output.clone();
        for (g, p) in grad.as_mut_slice().chunks_mut(per_image).zip(&self.chosen) {
            p.backward_one(g, c, h, w);
        }
        grad
    }
}

fn dims<T: Real>(images: &Tensor<T>) -> (usize, usize, usize, usize) {
    let s = images.shape();
    assert!(
        s.len() == 4,
        "image processing: images [N, C, H, W] expected, found {s:?}"
    );
    (s[1] * s[2] * s[3], s[1], s[2], s[3])
}

fn clamp_index(i: usize, offset: i64, len: usize) -> usize {
    (i as i64 + offset).clamp(0, len as i64 - 1) as usize
}

/// y[ch, i, j] = sum_t w_t x[ch, clamp(i + a_t), clamp(j + b_t)] for one image [C, H, W].
fn taps_forward<T: Real>(
    x: &[T],
    c: usize,
    h: usize,
    w: usize,
    taps: &[(i64, i64, f64)],
) -> Vec<T> {
    let mut y = vec![T::ZERO; x.len()];
    for ch in 0..c {
        let plane = ch * h * w;
        for i in 0..h {
            for j in 0..w {
                let mut sum = T::ZERO;
                for &(a, b, weight) in taps {
                    let (si, sj) = (clamp_index(i, a, h), clamp_index(j, b, w));
                    sum += T::from_f64(weight) * x[plane + si * w + sj];
                }
                y[plane + i * w + j] = sum;
            }
        }
    }
    y
}

/// The adjoint of [`taps_forward`]: grad_x[clamp(i + a_t), clamp(j + b_t)] += w_t g[i, j].
fn taps_backward<T: Real>(
    g: &[T],
    c: usize,
    h: usize,
    w: usize,
    taps: &[(i64, i64, f64)],
) -> Vec<T> {
    let mut grad_x = vec![T::ZERO; g.len()];
    for ch in 0..c {
        let plane = ch * h * w;
        for i in 0..h {
            for j in 0..w {
                for &(a, b, weight) in taps {
                    let (si, sj) = (clamp_index(i, a, h), clamp_index(j, b, w));
                    grad_x[plane + si * w + sj] += T::from_f64(weight) * g[plane + i * w + j];
                }
            }
        }
    }
    grad_x
}
