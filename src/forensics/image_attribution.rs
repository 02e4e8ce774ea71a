//! Chapter 14. Image attribution: which training images did a generated image come from?
//!
//! The honest answer of a GAN is "all of them, a little": G's weights are a sum of gradient
//! steps over every minibatch, and no step is kept apart. What can be measured is resemblance:
//! the k training images nearest to a sample, in pixel space (squared Euclidean distance
//! between the pixels) and in the classifier's feature space (the same distance between its
//! penultimate activations, which cares about what is drawn rather than where each pixel is).
//!
//! The same search gives the memorisation check of chapter 12
//! ([`crate::eval::memorisation::memorisation`]): if G copied its training images, a sample's
//! nearest training image would be much closer than a held-out real image's nearest training
//! image, and then, and only then, the nearest neighbour is the source.

use super::nearest::{nearest, Neighbours};
use crate::error::{Error, Result};
use crate::eval::classifier::Classifier;
use crate::tensor::Tensor;

/// The k nearest training images of each query, in pixel space and in feature space.
#[derive(Clone, Debug)]
pub struct ImageAttribution {
    pub pixel: Vec<Neighbours>,
    pub feature: Vec<Neighbours>,
}

/// `train: [N, C, H, W]`, `queries: [Q, C, H, W]` -> the k nearest of each query in both spaces.
/// The classifier must read images of this shape.
pub fn attribute_images(
    train: &Tensor<f32>,
    queries: &Tensor<f32>,
    k: usize,
    classifier: &mut Classifier<f32>,
) -> Result<ImageAttribution> {
    let pixel = nearest(train, queries, k)?;
    let c = &classifier.config;
    let expected = [c.channels, c.image_size, c.image_size];
    if queries.shape()[1..] != expected {
        return Err(Error::shape_text(
            "image attribution: the classifier reads other images than these",
            format!("[N, {}, {}, {}]", expected[0], expected[1], expected[2]),
            format!("{:?}", queries.shape()),
        ));
    }
    let feature = nearest(
        &classifier.features(train),
        &classifier.features(queries),
        k,
    )?;
    Ok(ImageAttribution { pixel, feature })
}

/// One row per query: the query, a gap, its k nearest in pixel space, a gap, its k nearest in
/// feature space. Returns `[Q (2k + 3), C, H, W]` for `io::png::image_grid` with `2k + 3` per row;
/// the gaps are white.
pub fn side_by_side(
    train: &Tensor<f32>,
    queries: &Tensor<f32>,
    found: &ImageAttribution,
) -> Tensor<f32> {
    let s = queries.shape();
    let size: usize = s[1..].iter().product();
    let k = found.pixel.first().map_or(0, |n| n.indices.len());
    let per_row = 2 * k + 3;
    let image = |t: &Tensor<f32>, i: usize| t.as_slice()[i * size..(i + 1) * size].to_vec();
    let gap = vec![1.0f32; size];
    let mut data = Vec::with_capacity(s[0] * per_row * size);
    for q in 0..s[0] {
        data.extend(image(queries, q));
        data.extend_from_slice(&gap);
        for &i in &found.pixel[q].indices {
            data.extend(image(train, i));
        }
        data.extend_from_slice(&gap);
        for &i in &found.feature[q].indices {
            data.extend(image(train, i));
        }
    }
    let mut shape = s.to_vec();
    shape[0] *= per_row;
    Tensor::from_vec(&shape, data).expect("whole images")
}
