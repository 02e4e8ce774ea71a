//! Chapter 12. Which generator is better? A feature space to judge in, metrics measured in it,
//! and the statistics that say whether a difference between two generators is more than chance.
//!
//! | module | what it holds |
//! |---|---|
//! | [`classifier`] | a small CNN trained on the real images: features, logits, predictions |
//! | [`eigen`] | cyclic Jacobi for symmetric matrices; the symmetric square root |
//! | [`frechet`] | Gaussian fits and the Fréchet distance (the FID formula) |
//! | [`classes`] | conditional accuracy; class coverage and entropy |
//! | [`precision_recall`] | k-NN manifolds, precision and recall |
//! | [`memorisation`] | nearest-training-image distances of samples and held-out images |
//! | [`bootstrap`] | the paired bootstrap test, the exact sign-flip test, bootstrap intervals |
//! | [`summary`] | random restarts: mean, standard deviation, Student-t interval |
//! | [`report`] | everything above for one generator on one held-out set |

pub mod bootstrap;
pub mod classes;
pub mod classifier;
pub mod eigen;
pub mod frechet;
pub mod memorisation;
pub mod precision_recall;
pub mod report;
pub mod summary;

pub use classifier::{
    load_classifier, save_classifier, softmax_cross_entropy, train_classifier, Classifier,
    ClassifierConfig, ClassifierTraining,
};
