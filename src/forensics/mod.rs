//! Chapter 14. Forensics without a watermark: is an image fake (detection), which generator
//! made it (model attribution), and which training images is it closest to (image attribution).
//!
//! | file | what it holds |
//! |---|---|
//! | [`data`] | real images and generators' samples, labelled; a seeded held-out split |
//! | [`nearest`] | k nearest neighbours (squared Euclidean), with a brute-force reference |
//! | [`roc`] | the ROC curve and its area, as the Mann-Whitney statistic |
//! | [`confusion`] | the confusion matrix, as text and as an SVG heat map |
//! | [`classify`] | the detector and the attributor: chapter 12's classifier with 2 or K classes |
//! | [`discriminator`] | the GAN's own D as a detector |
//! | [`image_attribution`] | nearest training images in pixel and feature space, side by side |

pub mod classify;
pub mod confusion;
pub mod data;
pub mod discriminator;
pub mod image_attribution;
pub mod nearest;
pub mod roc;
