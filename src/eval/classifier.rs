//! Chapter 12. A feature space to judge generators in: a small CNN classifier trained on the real
//! labelled images of a data set.
//!
//! FID was defined with Inception-v3's features; we have no ImageNet network, so we train our own
//! judge on the same real images the GAN saw. Its penultimate activations (`features` numbers per
//! image) are the space the Fréchet distance, precision and recall are measured in, and its
//! predicted classes give conditional accuracy and class coverage.
//!
//! ```text
//!   x: [N, C, H, W]
//!   0  Conv(k3, s1, p1, bias)    -> [N, w, H, W]                LeakyReLU(0.2)
//!   2  Conv(k4, s2, p1)          -> [N, 2w, H/2, W/2]      BN,  LeakyReLU(0.2)
//!   5  Conv(k4, s2, p1)          -> [N, 2w, H/4, W/4]      BN,  LeakyReLU(0.2)
//!   8  Flatten                   -> [N, 2w (H/4) (W/4)]
//!   9  Linear                    -> [N, features]               LeakyReLU(0.2)   <- the features
//!   11 Linear                    -> [N, classes]                                  <- the logits
//! ```
//!
//! Weights start from He's normal initialisation (std = sqrt(2 / fan_in)), which suits a
//! classifier with rectifiers better than DCGAN's fixed 0.02. The classifier is saved in one
//! safetensors file with its configuration in the metadata, so `gan eval` can reuse it.

use crate::data::Batcher;
use crate::error::{Error, Result};
use crate::io::json::Json;
use crate::io::safetensors::{SafeTensors, StoredTensor};
use crate::layers::activation::{LeakyReLU, Reshape};
use crate::layers::batch_norm::BatchNorm;
use crate::layers::conv::Conv2d;
use crate::layers::linear::Linear;
use crate::layers::sequential::{NamedParam, Sequential};
use crate::optim::{Adam, Optimizer, ParamRef};
use crate::rng::Rng;
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::path::Path;

/// A saved file's metadata: (key, value) pairs in file order.
pub type Metadata = Vec<(String, String)>;

/// The value of the "format" metadata key of a saved classifier.
pub const FORMAT: &str = "gan-classifier-1";

/// Images per chunk in the evaluation-mode passes (bounds the memory of big sets).
const CHUNK: usize = 256;

/// LeakyReLU's slope for negative inputs.
const SLOPE: f64 = 0.2;

/// The shape of the classifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassifierConfig {
    pub channels: usize,
    pub image_size: usize,
    pub classes: usize,
    /// Channels of the first convolution (the next two have twice as many).
    pub width: usize,
    /// The dimension of the feature space (the penultimate layer).
    pub features: usize,
}

impl ClassifierConfig {
    /// Width 32 and 128 features.
    pub fn new(channels: usize, image_size: usize, classes: usize) -> Self {
        ClassifierConfig {
            channels,
            image_size,
            classes,
            width: 32,
            features: 128,
        }
    }

    /// The side of the map after the two halvings.
    fn final_side(&self) -> usize {
        self.image_size / 4
    }

    fn check(&self) -> Result<()> {
        let ok = self.channels > 0
            && self.image_size >= 4
            && self.classes >= 2
            && self.width > 0
            && self.features > 0;
        if ok {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "classifier: expected at least 1 channel, images of at least 4 x 4, at least 2 \
                 classes, and a positive width and feature count; found {self:?}"
            )))
        }
    }
}

/// The judge: images in, logits (and features) out.
pub struct Classifier<T: Real> {
    pub config: ClassifierConfig,
    /// The layers listed in the module comment; the last one is the output Linear.
    net: Sequential<T>,
    training: bool,
}

impl<T: Real> Classifier<T> {
    /// A freshly initialised classifier (panics on an impossible configuration; see
    /// [`train_classifier`] for the checked path).
    pub fn new(config: ClassifierConfig, rng: &mut Rng) -> Self {
        config
            .check()
            .unwrap_or_else(|e| panic!("Classifier::new: {e}"));
        let (c, w, f) = (config.channels, config.width, config.features);
        let side = config.final_side();
        let mut conv0 = Conv2d::new(c, w, 3, 1, 1, true);
        he_normal(&mut conv0.weight, c * 9, rng);
        let mut conv1 = Conv2d::new(w, 2 * w, 4, 2, 1, false);
        he_normal(&mut conv1.weight, w * 16, rng);
        let mut conv2 = Conv2d::new(2 * w, 2 * w, 4, 2, 1, false);
        he_normal(&mut conv2.weight, 2 * w * 16, rng);
        let flat = 2 * w * side * side;
        let mut fc = Linear::new(flat, f);
        he_normal(&mut fc.weight, flat, rng);
        let mut out = Linear::new(f, config.classes);
        // The output layer has no rectifier after it: Glorot-like 1/sqrt(fan_in).
        rng.fill_normal(out.weight.as_mut_slice(), 0.0, (1.0 / f as f64).sqrt());
        let net = Sequential::new("classifier")
            .with(conv0)
            .with(LeakyReLU::new(SLOPE))
            .with(conv1)
            .with(BatchNorm::new_2d(2 * w))
            .with(LeakyReLU::new(SLOPE))
            .with(conv2)
            .with(BatchNorm::new_2d(2 * w))
            .with(LeakyReLU::new(SLOPE))
            .with(Reshape::flatten())
            .with(fc)
            .with(LeakyReLU::new(SLOPE))
            .with(out);
        Classifier {
            config,
            net,
            training: true,
        }
    }

    /// images: [N, C, H, W] -> logits [N, classes]. In training mode keeps what backward needs.
    pub fn forward(&mut self, images: &Tensor<T>) -> Tensor<T> {
        self.check_images(images);
        self.net.forward(images)
    }

    /// dL/d(logits) [N, classes] -> dL/d(images) [N, C, H, W]; ACCUMULATES parameter gradients.
    pub fn backward(&mut self, grad_logits: &Tensor<T>) -> Tensor<T> {
        self.net.backward(grad_logits)
    }

    /// The penultimate activations [N, features], in evaluation mode, chunk by chunk.
    pub fn features(&mut self, images: &Tensor<T>) -> Tensor<T> {
        let last = self.net.len() - 1;
        self.in_eval_chunks(images, self.config.features, |net, x| {
            net.layers_mut()[..last]
                .iter_mut()
                .fold(x.clone(), |h, layer| layer.forward(&h))
        })
    }

    /// The logits [N, classes], in evaluation mode, chunk by chunk.
    pub fn logits(&mut self, images: &Tensor<T>) -> Tensor<T> {
        self.in_eval_chunks(images, self.config.classes, |net, x| net.forward(x))
    }

    /// The most likely class of each image.
    pub fn predict(&mut self, images: &Tensor<T>) -> Vec<usize> {
        self.logits(images).argmax_rows()
    }

    pub fn set_training(&mut self, training: bool) {
        self.training = training;
        self.net.set_training(training);
    }

    pub fn zero_grad(&mut self) {
        self.net.zero_grad();
    }

    /// Every parameter, named as in PyTorch's `nn.Sequential` (`classifier.0.weight`, ...).
    pub fn named_params(&mut self) -> Vec<NamedParam<'_, T>> {
        self.net.named_params()
    }

    /// Every buffer (BatchNorm running statistics), with its full name.
    pub fn named_buffers(&mut self) -> Vec<(String, &mut Tensor<T>)> {
        self.net.named_buffers()
    }

    /// The layers, one per line.
    pub fn describe(&self) -> String {
        self.net.describe()
    }

    /// The network itself, for gradient checks over all its parameters.
    pub fn net_mut(&mut self) -> &mut Sequential<T> {
        &mut self.net
    }

    fn check_images(&self, images: &Tensor<T>) {
        let c = &self.config;
        let s = images.shape();
        assert!(
            s.len() == 4 && s[1] == c.channels && s[2] == c.image_size && s[3] == c.image_size,
            "Classifier: expected images [N, {}, {}, {}], found {s:?}",
            c.channels,
            c.image_size,
            c.image_size
        );
    }

    /// Runs `pass` on chunks of `images` in evaluation mode and stacks the [n, width] results;
    /// the previous mode is restored afterwards.
    fn in_eval_chunks(
        &mut self,
        images: &Tensor<T>,
        width: usize,
        pass: impl Fn(&mut Sequential<T>, &Tensor<T>) -> Tensor<T>,
    ) -> Tensor<T> {
        self.check_images(images);
        let was_training = self.training;
        self.net.set_training(false);
        let n = images.shape()[0];
        let mut out = Vec::with_capacity(n * width);
        for start in (0..n).step_by(CHUNK) {
            let end = n.min(start + CHUNK);
            let chunk = images.rows_range(start..end);
            out.extend_from_slice(pass(&mut self.net, &chunk).as_slice());
        }
        self.net.set_training(was_training);
        Tensor::from_vec(&[n, width], out).expect("n rows of width values")
    }
}

/// He's normal initialisation: N(0, 2 / fan_in).
fn he_normal<T: Real>(weight: &mut Tensor<T>, fan_in: usize, rng: &mut Rng) {
    rng.fill_normal(weight.as_mut_slice(), 0.0, (2.0 / fan_in as f64).sqrt());
}

/// The mean cross-entropy of softmax(logits) against `labels`, and its gradient w.r.t. the logits.
///
/// ```text
///   loss     = (1/N) sum_i [ logsumexp(l_i) - l_i[y_i] ]
///   grad l_i = (softmax(l_i) - onehot(y_i)) / N
/// ```
///
/// The maximum of each row is subtracted before exponentiating, so no logit overflows.
/// logits: [N, K], labels: N values in 0..K.
pub fn softmax_cross_entropy<T: Real>(logits: &Tensor<T>, labels: &[usize]) -> (f64, Tensor<T>) {
    let (n, k) = (logits.rows(), logits.cols());
    assert!(
        labels.len() == n && labels.iter().all(|&y| y < k),
        "softmax_cross_entropy: expected {n} labels in 0..{k} for logits {:?}, found {} labels \
         (largest {:?})",
        logits.shape(),
        labels.len(),
        labels.iter().max()
    );
    let mut grad = Tensor::zeros(&[n, k]);
    let mut total = 0.0;
    let scale = 1.0 / n.max(1) as f64;
    for (i, &y) in labels.iter().enumerate() {
        let row: Vec<f64> = logits.row(i).iter().map(|x| x.to_f64()).collect();
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|&x| (x - max).exp()).sum();
        total += max + sum.ln() - row[y];
        for (j, g) in grad.row_mut(i).iter_mut().enumerate() {
            let p = (row[j] - max).exp() / sum;
            let target = if j == y { 1.0 } else { 0.0 };
            *g = T::from_f64((p - target) * scale);
        }
    }
    (total * scale, grad)
}

/// How to train the classifier: `steps` Adam steps (betas 0.9, 0.999) on minibatches of `batch`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifierTraining {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        ClassifierTraining {
            steps: 600,
            batch: 64,
            lr: 1e-3,
            seed: 1,
        }
    }
}

/// Trains a classifier on `images` [N, C, H, W] with `labels`; calls `progress(step, loss)` after
/// every step. Returns it in evaluation mode.
pub fn train_classifier(
    images: &Tensor<f32>,
    labels: &[usize],
    config: ClassifierConfig,
    training: &ClassifierTraining,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<Classifier<f32>> {
    config.check()?;
    let s = images.shape();
    let expected = [
        labels.len(),
        config.channels,
        config.image_size,
        config.image_size,
    ];
    if s != expected {
        return Err(Error::shape(
            "train_classifier: images (one per label)",
            expected,
            s,
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= config.classes) {
        return Err(Error::msg(format!(
            "train_classifier: label {bad} is not below the {} classes",
            config.classes
        )));
    }
    if labels.len() < 2 || training.batch < 2 {
        return Err(Error::msg(format!(
            "train_classifier: BatchNorm needs at least 2 images and a batch of at least 2; \
             found {} images, batch {}",
            labels.len(),
            training.batch
        )));
    }
    let mut rng = Rng::new(training.seed);
    let mut classifier = Classifier::<f32>::new(config, &mut rng);
    let mut opt = Adam::<f32>::new(training.lr, 0.9, 0.999);
    let mut batcher = Batcher::new(labels.len(), training.batch, training.seed ^ 0x5eed);
    let per_image = images.len() / labels.len();
    for step in 1..=training.steps {
        let mut indices = batcher.next_batch();
        if indices.len() < 2 {
            // BatchNorm cannot normalise a batch of one: take the next epoch's first batch.
            indices = batcher.next_batch();
        }
        let mut data = Vec::with_capacity(indices.len() * per_image);
        let mut batch_labels = Vec::with_capacity(indices.len());
        for &i in &indices {
            data.extend_from_slice(&images.as_slice()[i * per_image..(i + 1) * per_image]);
            batch_labels.push(labels[i]);
        }
        let mut shape = s.to_vec();
        shape[0] = indices.len();
        let x = Tensor::from_vec(&shape, data)?;
        classifier.set_training(true);
        classifier.zero_grad();
        let logits = classifier.forward(&x);
        let (loss, grad_logits) = softmax_cross_entropy(&logits, &batch_labels);
        if !loss.is_finite() {
            return Err(Error::msg(format!(
                "train_classifier: the loss is not finite at step {step}; try a smaller lr \
                 (now {})",
                training.lr
            )));
        }
        classifier.backward(&grad_logits);
        let mut params: Vec<ParamRef<'_, f32>> = classifier
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        opt.step(&mut params);
        progress(step, loss);
    }
    classifier.set_training(false);
    Ok(classifier)
}

/// The fraction of `images` the classifier labels correctly.
pub fn accuracy(classifier: &mut Classifier<f32>, images: &Tensor<f32>, labels: &[usize]) -> f64 {
    let predicted = classifier.predict(images);
    let right = predicted.iter().zip(labels).filter(|(p, y)| p == y).count();
    right as f64 / labels.len().max(1) as f64
}

/// Saves the classifier (parameters, BatchNorm buffers, configuration) atomically.
pub fn save_classifier(c: &mut Classifier<f32>, path: &Path) -> Result<()> {
    save_classifier_with(c, path, &[])
}

/// [`save_classifier`] with extra metadata entries (e.g. which data it was trained on).
pub fn save_classifier_with(
    c: &mut Classifier<f32>,
    path: &Path,
    extra: &[(&str, &str)],
) -> Result<()> {
    let mut st = SafeTensors::default();
    st.metadata.push(("format".into(), FORMAT.into()));
    st.metadata
        .push(("config".into(), config_to_json(&c.config).to_text()));
    for (k, v) in extra {
        st.metadata.push((k.to_string(), v.to_string()));
    }
    for p in c.net.named_params() {
        st.push(p.name, StoredTensor::from_tensor(p.value));
    }
    for (name, buffer) in c.net.named_buffers() {
        st.push(name, StoredTensor::from_tensor(buffer));
    }
    st.save(path)
}

/// Reads a classifier written by [`save_classifier`], in evaluation mode.
pub fn load_classifier(path: &Path) -> Result<Classifier<f32>> {
    load_classifier_with(path).map(|(c, _)| c)
}

/// [`load_classifier`], also returning the file's metadata.
pub fn load_classifier_with(path: &Path) -> Result<(Classifier<f32>, Metadata)> {
    let st = SafeTensors::load(path)?;
    if st.meta("format") != Some(FORMAT) {
        return Err(Error::format(
            path,
            format!("a classifier of this program (format '{FORMAT}')"),
            format!("format {:?}", st.meta("format")),
        ));
    }
    let text = st
        .meta("config")
        .ok_or_else(|| Error::format(path, "a 'config' metadata entry", "none"))?;
    let json = Json::parse(text)
        .map_err(|e| Error::format(path, "a JSON classifier configuration", e.to_string()))?;
    let config = config_from_json(&json).ok_or_else(|| {
        Error::format(path, "channels, image_size, classes, width, features", text)
    })?;
    config
        .check()
        .map_err(|e| Error::format(path, "a buildable classifier configuration", e.to_string()))?;
    let mut c = Classifier::<f32>::new(config, &mut Rng::new(0));
    let restore = |name: &str, into: &mut Tensor<f32>| -> Result<()> {
        let stored = st
            .get(name)
            .ok_or_else(|| Error::format(path, format!("a tensor '{name}'"), "none"))?;
        let t = stored.to_tensor::<f32>(name)?;
        if t.shape() != into.shape() {
            return Err(Error::format(
                path,
                format!("'{name}' of shape {:?}", into.shape()),
                format!("shape {:?}", t.shape()),
            ));
        }
        *into = t;
        Ok(())
    };
    for p in c.net.named_params() {
        restore(&p.name, p.value)?;
    }
    for (name, buffer) in c.net.named_buffers() {
        restore(&name, buffer)?;
    }
    c.set_training(false);
    Ok((c, st.metadata))
}

fn config_to_json(c: &ClassifierConfig) -> Json {
    let int = |x: usize| Json::Number(x as f64);
    Json::Object(vec![
        ("channels".into(), int(c.channels)),
        ("image_size".into(), int(c.image_size)),
        ("classes".into(), int(c.classes)),
        ("width".into(), int(c.width)),
        ("features".into(), int(c.features)),
    ])
}

fn config_from_json(json: &Json) -> Option<ClassifierConfig> {
    let int = |key: &str| json.get(key)?.as_u64().map(|x| x as usize);
    Some(ClassifierConfig {
        channels: int("channels")?,
        image_size: int("image_size")?,
        classes: int("classes")?,
        width: int("width")?,
        features: int("features")?,
    })
}
