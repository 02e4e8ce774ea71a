//! Chapter 14. The GAN's own discriminator as a fake detector.
//!
//! D was trained to say "real" (logit > 0) to real images and "fake" to G's samples, so it is a
//! detector that came for free. But it was trained against a moving target: at the end of a
//! well-balanced game G's samples sit where D is least sure (D(G(z)) near 1/2). How well it
//! separates held-out fakes is measured in the chapter's example, beside a detector trained on
//! purpose.
//!
//! P(fake) = 1 - sigmoid(logit), averaged over PatchGAN's patches. A class-conditional D reads
//! the label planes too, so it needs each image's class (for samples: the class asked for).

use crate::error::{Error, Result};
use crate::gan::checkpoint::Checkpoint;
use crate::models::{Discriminator, DiscriminatorConfig};
use crate::rng::Rng;
use crate::tensor::Tensor;
use std::path::Path;

/// The discriminator of a `gan train` checkpoint, in evaluation mode.
pub fn discriminator_from_checkpoint(path: &Path) -> Result<Discriminator<f32>> {
    let ckpt = Checkpoint::load(path)?;
    let c = &ckpt.config;
    if c.data == "ring" {
        return Err(Error::usage(format!(
            "{}: a discriminator of 2-D points (the ring), not of images",
            path.display()
        )));
    }
    let mut d = Discriminator::new(
        DiscriminatorConfig {
            ndf: c.ndf,
            image_size: c.image_size,
            channels: ckpt.channels,
            classes: ckpt.classes,
            patch: c.patch,
        },
        &mut Rng::new(0),
    )?;
    ckpt.restore_network(&mut d.net)?;
    d.net.set_training(false);
    Ok(d)
}

/// P(fake) of each image by D: `images [N, C, H, W]`, `labels` (conditional D only) -> N scores.
pub fn discriminator_p_fake(
    d: &mut Discriminator<f32>,
    images: &Tensor<f32>,
    labels: &[usize],
) -> Vec<f64> {
    const CHUNK: usize = 256;
    let n = images.shape()[0];
    let conditional = d.config.classes > 0;
    let mut scores = Vec::with_capacity(n);
    for start in (0..n).step_by(CHUNK) {
        let end = n.min(start + CHUNK);
        let chunk = images.rows_range(start..end);
        let logits = d.forward(&chunk, conditional.then_some(&labels[start..end]));
        let per_row = logits.len() / (end - start);
        for row in logits.as_slice().chunks(per_row) {
            let p_real: f64 = row
                .iter()
                .map(|&l| 1.0 / (1.0 + (-(l as f64)).exp()))
                .sum::<f64>()
                / per_row as f64;
            scores.push(1.0 - p_real);
        }
    }
    scores
}
