//! Chapter 12. Every metric of the chapter for one generator on one held-out set: what `gan eval`,
//! `gan restarts` and `gan compare` print.
//!
//! The held-out set D_test = {(x_i, y_i, eps_i)}: real images x_i the generator never trained on,
//! their labels y_i, and one noise vector eps_i per item, drawn from a fixed seed. A generator's
//! "answer" on item i is the sample G(mu + sigma eps_i, y_i) (asked for class y_i when it is
//! conditional). Two generators evaluated on the same EvalSet are therefore paired item by item:
//! same real image, same requested class, same noise draw, same classifier.

use super::classes::{class_spread, conditional_accuracy};
use super::classifier::Classifier;
use super::frechet::{fit_gaussian, frechet_distance, Gaussian};
use super::memorisation::memorisation;
use super::precision_recall::{precision_recall, DEFAULT_K};
use crate::data::Dataset;
use crate::gan::prior::NoisePrior;
use crate::models::Generator;
use crate::rng::{noise, Rng};
use crate::tensor::Tensor;

/// Everything a generator is judged against.
pub struct EvalSet {
    pub classifier: Classifier<f32>,
    /// The held-out real images and labels (never seen by the generator).
    pub test: Dataset,
    /// Their features: [n, features].
    pub test_features: Tensor<f32>,
    /// Their Gaussian fit.
    pub test_gaussian: Gaussian,
    /// Training images for the memorisation check, flattened: [m, C H W].
    pub train_pixels: Tensor<f32>,
    /// The seed of the noise eps_i.
    pub noise_seed: u64,
    /// k of the k-NN manifolds.
    pub k: usize,
}

impl EvalSet {
    /// Computes the held-out features once. `train` may be a subset of the training images.
    pub fn new(
        mut classifier: Classifier<f32>,
        test: Dataset,
        train: &Dataset,
        noise_seed: u64,
    ) -> Self {
        let test_features = classifier.features(&test.images);
        let test_gaussian = fit_gaussian(&test_features);
        EvalSet {
            classifier,
            train_pixels: flatten(&train.images),
            test,
            test_features,
            test_gaussian,
            noise_seed,
            k: DEFAULT_K,
        }
    }

    pub fn len(&self) -> usize {
        self.test.len()
    }

    pub fn is_empty(&self) -> bool {
        self.test.is_empty()
    }

    /// The generator's answers on every item: images [n, C, H, W] (evaluation mode), drawn in
    /// chunks from eps_i and, for a conditional generator, the labels y_i.
    pub fn sample(&self, g: &mut Generator<f32>, prior: &NoisePrior<f32>) -> Tensor<f32> {
        let n = self.len();
        let eps = noise::<f32>(&mut Rng::new(self.noise_seed), n, prior.nz(), 1.0);
        let conditional = g.config.classes > 0;
        g.net.set_training(false);
        let mut out = Vec::new();
        let mut shape = Vec::new();
        const CHUNK: usize = 256;
        for start in (0..n).step_by(CHUNK) {
            let end = n.min(start + CHUNK);
            let e = Tensor::from_vec(
                &[end - start, prior.nz()],
                eps.as_slice()[start * prior.nz()..end * prior.nz()].to_vec(),
            )
            .expect("whole rows");
            let labels = &self.test.labels[start..end];
            let images = g.forward(&prior.reparameterise(&e), conditional.then_some(labels));
            shape = images.shape().to_vec();
            out.extend_from_slice(images.as_slice());
        }
        shape[0] = n;
        Tensor::from_vec(&shape, out).expect("n images")
    }

    /// Every metric of `images` (item i answering item i of the held-out set).
    pub fn evaluate(&mut self, images: &Tensor<f32>, conditional: bool) -> Evaluation {
        let n = self.len();
        assert_eq!(
            images.rows(),
            n,
            "EvalSet::evaluate: {} images for {n} held-out items",
            images.rows()
        );
        let features = self.classifier.features(images);
        let predicted = self.classifier.predict(images);
        let fid = frechet_distance(&self.test_gaussian, &fit_gaussian(&features));
        let spread = class_spread(&predicted, self.test.classes.max(2));
        let pr = precision_recall(&self.test_features, &features, self.k);
        let memo = memorisation(
            &flatten(images),
            &flatten(&self.test.images),
            &self.train_pixels,
        );
        let correct: Vec<f64> = predicted
            .iter()
            .zip(&self.test.labels)
            .map(|(p, y)| f64::from(u8::from(p == y)))
            .collect();
        let mut metrics = vec![("fid", fid)];
        if conditional {
            metrics.push((
                "accuracy",
                conditional_accuracy(&predicted, &self.test.labels),
            ));
        }
        metrics.extend([
            ("coverage", spread.coverage),
            ("entropy_bits", spread.entropy_bits),
            ("precision", pr.precision),
            ("recall", pr.recall),
            ("memorisation_ratio", memo.ratio),
            ("closer_than_heldout", memo.closer_than_heldout),
        ]);
        let indicator = |v: &[bool]| v.iter().map(|&b| f64::from(u8::from(b))).collect();
        Evaluation {
            metrics,
            correct,
            fake_in_real: indicator(&pr.fake_in_real),
            real_in_fake: indicator(&pr.real_in_fake),
            features,
            predicted,
            class_counts: spread.counts,
        }
    }
}

/// The metrics of one generator, and the per-item results the paired bootstrap resamples.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// (name, value), in a fixed order; "accuracy" only for conditional generators.
    pub metrics: Vec<(&'static str, f64)>,
    /// Per item: 1 if the classifier gave the sample the class it was asked for.
    pub correct: Vec<f64>,
    /// Per item: 1 if the sample lies in the real k-NN manifold (precision's indicator).
    pub fake_in_real: Vec<f64>,
    /// Per item: 1 if the real image lies in the generated manifold (recall's indicator).
    pub real_in_fake: Vec<f64>,
    /// The samples' features: [n, features].
    pub features: Tensor<f32>,
    pub predicted: Vec<usize>,
    pub class_counts: Vec<usize>,
}

impl Evaluation {
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Whether a larger value of a metric is better.
pub fn higher_is_better(metric: &str) -> bool {
    !matches!(metric, "fid" | "closer_than_heldout")
}

/// The rows of `features` at `indices`: [indices.len(), d].
pub fn gather_rows(features: &Tensor<f32>, indices: &[usize]) -> Tensor<f32> {
    let d = features.cols();
    let mut out = Vec::with_capacity(indices.len() * d);
    for &i in indices {
        out.extend_from_slice(features.row(i));
    }
    Tensor::from_vec(&[indices.len(), d], out).expect("whole rows")
}

/// [N, C, H, W] -> [N, C H W].
pub fn flatten(images: &Tensor<f32>) -> Tensor<f32> {
    let n = images.shape()[0];
    let per = images.len() / n.max(1);
    images
        .clone()
        .reshape(&[n, per])
        .expect("same number of values")
}
