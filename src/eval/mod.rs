//! Chapter 12. Which generator is better? A feature space to judge in, metrics measured in it,
//! and the statistics that say whether a difference between two generators is more than chance.
//!
//! - [`classifier`]: a small CNN trained on the real images; its penultimate layer is the
//!   feature space, its predictions give the class metrics.

pub mod classifier;

pub use classifier::{
    load_classifier, save_classifier, softmax_cross_entropy, train_classifier, Classifier,
    ClassifierConfig, ClassifierTraining,
};
