//! Chapters 9 and 10. `ring`: a mixture of Gaussians centred on a circle, the 2-D toy on which
//! GAN papers show mode collapse (eight modes, radius 2, standard deviation 0.02).
//!
//! A generator that collapses puts all its samples on one or a few modes. [`Ring::mode_coverage`]
//! measures it the usual way: a sample is *high quality* if it lies within 3 standard deviations
//! of its nearest mode; a mode is *hit* if it received at least [`HIT_SHARE`] of its fair share
//! (n / modes) of high-quality samples.

use super::balanced_labels;
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;

/// A mode counts as hit when it has at least this fraction of its fair share (n / modes) of
/// high-quality samples: 1/5, as in PacGAN's "20 of the 100 expected" rule.
pub const HIT_SHARE: f64 = 0.2;
/// A sample within this many standard deviations of its nearest mode is high quality.
pub const QUALITY_STDS: f64 = 3.0;

/// Points in the plane with the mode each was drawn from.
#[derive(Clone, Debug)]
pub struct Points {
    /// `[N, 2]`: one (x, y) per row.
    pub x: Tensor<f32>,
    /// `labels[i]` is the mode point i was drawn from.
    pub labels: Vec<usize>,
}

impl Points {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The points and labels at `indices`, in that order: `[indices.len(), 2]`.
    pub fn batch(&self, indices: &[usize]) -> (Tensor<f32>, Vec<usize>) {
        let mut data = Vec::with_capacity(2 * indices.len());
        for &i in indices {
            data.extend_from_slice(self.x.row(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        (
            Tensor::from_vec(&[indices.len(), 2], data).expect("two numbers per point"),
            labels,
        )
    }
}

/// A ring of `modes` Gaussians, centre k at angle 2 pi k / modes on a circle of `radius`, each
/// with standard deviation `std` in both coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ring {
    pub modes: usize,
    pub radius: f64,
    pub std: f64,
}

impl Default for Ring {
    /// The usual toy: eight modes, radius 2, std 0.02.
    fn default() -> Self {
        Ring {
            modes: 8,
            radius: 2.0,
            std: 0.02,
        }
    }
}

impl Ring {
    /// The centres of the modes, mode k at angle 2 pi k / modes (counter-clockwise from +x).
    pub fn centres(&self) -> Vec<[f64; 2]> {
        (0..self.modes)
            .map(|k| {
                let angle = std::f64::consts::TAU * k as f64 / self.modes as f64;
                let (sin, cos) = angle.sin_cos();
                [self.radius * cos, self.radius * sin]
            })
            .collect()
    }

    /// `n` points, each mode `n / modes` times (in random order): centre + std * N(0, I).
    pub fn sample(&self, n: usize, seed: u64) -> Points {
        assert!(self.modes > 0, "Ring::sample: expected at least one mode");
        let root = Rng::new(seed);
        let labels = balanced_labels(n, self.modes, &mut root.fork(0));
        let mut rng = root.fork(1);
        let centres = self.centres();
        let mut data = Vec::with_capacity(2 * n);
        for &mode in &labels {
            let (gx, gy) = rng.gaussian_pair();
            let c = centres[mode];
            data.push((c[0] + self.std * gx) as f32);
            data.push((c[1] + self.std * gy) as f32);
        }
        Points {
            x: Tensor::from_vec(&[n, 2], data).expect("two numbers per point"),
            labels,
        }
    }

    /// The mode nearest to `p` and the distance to it.
    pub fn nearest_mode(&self, p: [f64; 2]) -> (usize, f64) {
        nearest(&self.centres(), p)
    }

    /// `(modes_hit, fraction_high_quality)` for samples `x: [N, 2]` (see the module docs).
    pub fn mode_coverage<T: Real>(&self, x: &Tensor<T>) -> (usize, f64) {
        x.assert_shape("Ring::mode_coverage samples", &[x.rows(), 2]);
        let n = x.rows();
        if n == 0 {
            return (0, 0.0);
        }
        let centres = self.centres();
        let mut high_quality = vec![0usize; self.modes];
        for i in 0..n {
            let p = [x.at(i, 0).to_f64(), x.at(i, 1).to_f64()];
            let (k, d) = nearest(&centres, p);
            if d <= QUALITY_STDS * self.std {
                high_quality[k] += 1;
            }
        }
        let fair_share = n as f64 / self.modes as f64;
        let hit = high_quality
            .iter()
            .filter(|&&c| c as f64 >= HIT_SHARE * fair_share)
            .count();
        (hit, high_quality.iter().sum::<usize>() as f64 / n as f64)
    }
}

fn nearest(centres: &[[f64; 2]], p: [f64; 2]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (k, c) in centres.iter().enumerate() {
        let d = ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt();
        if d < best.1 {
            best = (k, d);
        }
    }
    best
}

/// `n` points from the usual ring (8 modes, radius 2, std 0.02), labelled by mode.
pub fn ring(n: usize, seed: u64) -> Points {
    Ring::default().sample(n, seed)
}

/// The eight centres of the usual ring.
pub fn ring_modes() -> Vec<[f64; 2]> {
    Ring::default().centres()
}

/// [`Ring::mode_coverage`] on the usual ring (8 modes, radius 2) with standard deviation `std`:
/// `(modes_hit, fraction_high_quality)`.
pub fn mode_coverage<T: Real>(x: &Tensor<T>, std: f64) -> (usize, f64) {
    Ring {
        std,
        ..Ring::default()
    }
    .mode_coverage(x)
}
