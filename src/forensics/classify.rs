//! Chapter 14. Detection and model attribution are one task with different classes: the
//! chapter 12 classifier, trained on [`Labelled`] images, with
//!
//! ```text
//!   detection:    2 classes, real (0) and fake (1); the score of an image is P(fake)
//!   attribution:  K classes, one per generator; the answer is the most likely generator
//! ```
//!
//! A trained model is saved as the classifier's safetensors file, with the task and the class
//! names in its metadata, so that `gan detect` and `gan attribute` refuse each other's files.

use super::confusion::ConfusionMatrix;
use super::data::{check_images, Labelled};
use super::roc::{accuracy_at, auc};
use crate::error::{Error, Result};
use crate::eval::classifier::{
    load_classifier_with, save_classifier_with, train_classifier, Classifier, ClassifierConfig,
    ClassifierTraining,
};
use crate::io::json::Json;
use crate::tensor::Tensor;
use std::path::Path;

/// What a forensic model answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Real or fake?
    Detect,
    /// Which generator?
    Attribute,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Detect => "detect",
            Task::Attribute => "attribute",
        }
    }
}

/// A classifier that answers a [`Task`], and the names of its classes.
pub struct ForensicModel {
    pub task: Task,
    pub names: Vec<String>,
    pub classifier: Classifier<f32>,
}

/// How a model did on held-out images.
#[derive(Clone, Debug)]
pub struct HeldOut {
    /// Fraction classified right (for detection: P(fake) >= 1/2 called fake).
    pub accuracy: f64,
    /// Detection: the ROC AUC of P(fake). Attribution: the mean over generators of the
    /// one-against-the-rest AUC of P(generator).
    pub auc: f64,
    pub confusion: ConfusionMatrix,
}

impl HeldOut {
    pub fn to_json(&self) -> Json {
        let counts = (0..self.confusion.classes())
            .map(|t| {
                Json::Array(
                    (0..self.confusion.classes())
                        .map(|p| Json::Number(self.confusion.get(t, p) as f64))
                        .collect(),
                )
            })
            .collect();
        Json::Object(vec![
            ("accuracy".into(), Json::Number(self.accuracy)),
            ("auc".into(), Json::Number(self.auc)),
            (
                "classes".into(),
                Json::Array(self.confusion.names.iter().map(Json::str).collect()),
            ),
            ("confusion".into(), Json::Array(counts)),
        ])
    }
}

/// Row-wise softmax of logits [N, K], in f64.
pub fn softmax_rows(logits: &Tensor<f32>) -> Vec<Vec<f64>> {
    (0..logits.rows())
        .map(|i| {
            let row = logits.row(i);
            let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
            let e: Vec<f64> = row.iter().map(|&x| (x as f64 - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.iter().map(|x| x / sum).collect()
        })
        .collect()
}

/// The one-against-the-rest AUC of every class, averaged ("macro" AUC). For two classes it is
/// the AUC of P(class 1).
pub fn mean_auc(probabilities: &[Vec<f64>], labels: &[usize], classes: usize) -> Result<f64> {
    if classes == 2 {
        let scores: Vec<f64> = probabilities.iter().map(|p| p[1]).collect();
        let positives: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        return auc(&scores, &positives);
    }
    let mut total = 0.0;
    for k in 0..classes {
        let scores: Vec<f64> = probabilities.iter().map(|p| p[k]).collect();
        let positives: Vec<bool> = labels.iter().map(|&l| l == k).collect();
        total += auc(&scores, &positives)?;
    }
    Ok(total / classes as f64)
}

impl ForensicModel {
    /// Trains the classifier on `train` (its classes are the task's). `width` and `features`
    /// size the classifier (chapter 12's defaults are 32 and 128).
    pub fn train(
        task: Task,
        train: &Labelled,
        width: usize,
        features: usize,
        training: &ClassifierTraining,
        progress: &mut dyn FnMut(usize, f64),
    ) -> Result<Self> {
        let s = train.images.shape();
        let mut config = ClassifierConfig::new(s[1], s[2], train.names.len());
        config.width = width;
        config.features = features;
        let classifier =
            train_classifier(&train.images, &train.labels, config, training, progress)?;
        Ok(ForensicModel {
            task,
            names: train.names.clone(),
            classifier,
        })
    }

    /// `(C, H, W)` of the images it reads.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        let c = &self.classifier.config;
        (c.channels, c.image_size, c.image_size)
    }

    /// Class probabilities of each image: `images [N, C, H, W] -> N rows of K`.
    /// Images of another shape than the model's are a clear error.
    pub fn probabilities(&mut self, images: &Tensor<f32>) -> Result<Vec<Vec<f64>>> {
        check_images(
            images,
            self.image_shape(),
            &format!("the images given to this {} model", self.task.name()),
        )?;
        Ok(softmax_rows(&self.classifier.logits(images)))
    }

    /// Accuracy, AUC and confusion matrix on held-out images.
    pub fn evaluate(&mut self, test: &Labelled) -> Result<HeldOut> {
        let p = self.probabilities(&test.images)?;
        let predicted: Vec<usize> = p
            .iter()
            .map(|row| (0..row.len()).fold(0, |best, k| if row[k] > row[best] { k } else { best }))
            .collect();
        let confusion = ConfusionMatrix::new(&self.names, &test.labels, &predicted)?;
        let accuracy = if self.names.len() == 2 {
            let scores: Vec<f64> = p.iter().map(|row| row[1]).collect();
            let positives: Vec<bool> = test.labels.iter().map(|&l| l == 1).collect();
            accuracy_at(&scores, &positives, 0.5)
        } else {
            confusion.accuracy()
        };
        Ok(HeldOut {
            accuracy,
            auc: mean_auc(&p, &test.labels, self.names.len())?,
            confusion,
        })
    }

    /// Saves the classifier with the task and class names in its metadata.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        let names = Json::Array(self.names.iter().map(Json::str).collect()).to_text();
        save_classifier_with(
            &mut self.classifier,
            path,
            &[("task", self.task.name()), ("class_names", &names)],
        )
    }

    /// Reads a model saved by [`ForensicModel::save`] for `task`; another task's file, or a
    /// plain classifier, is refused with what it is.
    pub fn load(path: &Path, task: Task) -> Result<Self> {
        let (classifier, meta) = load_classifier_with(path)?;
        let get = |key: &str| meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        if get("task") != Some(task.name()) {
            let hint = match get("task") {
                Some(other) => format!("a model of 'gan {other} train'"),
                None => "a classifier without a forensic task (not written by 'gan detect train' or 'gan attribute train')".into(),
            };
            return Err(Error::format(
                path,
                format!("a model written by 'gan {} train'", task.name()),
                hint,
            ));
        }
        let names: Vec<String> = get("class_names")
            .and_then(|text| Json::parse(text).ok())
            .and_then(|json| {
                json.as_array()?
                    .iter()
                    .map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .filter(|n: &Vec<String>| n.len() == classifier.config.classes)
            .ok_or_else(|| {
                Error::format(
                    path,
                    format!("{} class names", classifier.config.classes),
                    format!("{:?}", get("class_names")),
                )
            })?;
        Ok(ForensicModel {
            task,
            names,
            classifier,
        })
    }
}
