//! Chapter 14. The data of detection and attribution: images with a class each.
//!
//! Detection:    real images (class 0, "real") against samples of one or more generators
//!               (class 1, "fake"), as many of each.
//! Attribution:  samples of generator 0, 1, ..., K-1, class = which generator made them.
//!
//! Samples are drawn in evaluation mode (BatchNorm's running statistics, as `gan sample`) from a
//! seed; a class-conditional generator is asked for every class equally often. A seeded split
//! then holds out part of every class, so that the classifier is scored on images it never saw.

use crate::data::{files, Dataset};
use crate::error::{Error, Result};
use crate::gan::checkpoint::Checkpoint;
use crate::gan::prior::NoisePrior;
use crate::models::Generator;
use crate::rng::{noise, Rng};
use crate::tensor::Tensor;
use std::path::Path;

/// Images `[N, C, H, W]` in [-1, 1], a class per image, and the classes' names.
#[derive(Clone, Debug)]
pub struct Labelled {
    pub images: Tensor<f32>,
    pub labels: Vec<usize>,
    pub names: Vec<String>,
}

/// `(C, H, W)` of one image of an `[N, C, H, W]` tensor.
pub fn image_shape(images: &Tensor<f32>) -> (usize, usize, usize) {
    match images.shape() {
        &[_, c, h, w] => (c, h, w),
        other => panic!("image_shape: expected [N, C, H, W], found {other:?}"),
    }
}

/// A user's images must be `[N, C, H, W]` with the shape a model was trained on.
pub fn check_images(
    images: &Tensor<f32>,
    expected: (usize, usize, usize),
    what: &str,
) -> Result<()> {
    let (c, h, w) = expected;
    match images.shape() {
        &[_, ic, ih, iw] if (ic, ih, iw) == expected => Ok(()),
        found => Err(Error::shape_text(
            what,
            format!("images [N, {c}, {h}, {w}]"),
            format!("{found:?}"),
        )),
    }
}

impl Labelled {
    /// Joins groups of images, giving every image of `groups[k]` the class `k`.
    /// All groups must hold images of one shape.
    pub fn from_groups(groups: Vec<Tensor<f32>>, names: Vec<String>) -> Result<Self> {
        assert_eq!(groups.len(), names.len(), "one name per group");
        let first = image_shape(&groups[0]);
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for (k, (group, name)) in groups.iter().zip(&names).enumerate() {
            let shape = image_shape(group);
            if shape != first {
                return Err(Error::shape_text(
                    format!("the images of '{name}' differ from those of '{}'", names[0]),
                    format!("{:?}", [first.0, first.1, first.2]),
                    format!("{:?}", [shape.0, shape.1, shape.2]),
                ));
            }
            data.extend_from_slice(group.as_slice());
            labels.extend(std::iter::repeat_n(k, group.shape()[0]));
        }
        let (c, h, w) = first;
        Ok(Labelled {
            images: Tensor::from_vec(&[labels.len(), c, h, w], data)?,
            labels,
            names,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images at `indices`, in that order.
    pub fn pick(&self, indices: &[usize]) -> Labelled {
        let (c, h, w) = image_shape(&self.images);
        let size = c * h * w;
        let all = self.images.as_slice();
        let mut data = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            data.extend_from_slice(&all[i * size..(i + 1) * size]);
        }
        Labelled {
            images: Tensor::from_vec(&[indices.len(), c, h, w], data).expect("whole images"),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            names: self.names.clone(),
        }
    }

    /// `(train, held_out)`: `test_fraction` of every class held out, chosen by `seed`, and both
    /// parts shuffled (so that minibatches mix the classes).
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Labelled, Labelled) {
        let mut rng = Rng::new(seed);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for class in 0..self.names.len() {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] == class)
                .collect();
            rng.shuffle(&mut members);
            let n_test = (members.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&members[..n_test]);
            train.extend_from_slice(&members[n_test..]);
        }
        rng.shuffle(&mut train);
        rng.shuffle(&mut test);
        (self.pick(&train), self.pick(&test))
    }
}

/// A trained generator, ready to sample: G in evaluation mode, its prior, and its classes.
pub struct Source {
    pub g: Generator<f32>,
    pub prior: NoisePrior<f32>,
    /// 0 for an unconditional generator.
    pub classes: usize,
    /// The file it came from, for messages.
    pub name: String,
}

impl Source {
    /// The generator of a `gan train` checkpoint (an image generator, not the 2-D ring).
    pub fn from_checkpoint(path: &Path) -> Result<Source> {
        let ckpt = Checkpoint::load(path)?;
        if ckpt.config.data == "ring" {
            return Err(Error::usage(format!(
                "{}: a generator of 2-D points (the ring); detection and attribution need images",
                path.display()
            )));
        }
        let (g, prior) = ckpt.generator()?;
        Ok(Source {
            g,
            prior,
            classes: ckpt.classes,
            name: path.display().to_string(),
        })
    }

    /// `(C, H, W)` of the images it makes.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        let c = &self.g.config;
        (c.channels, c.image_size, c.image_size)
    }

    /// `n` samples drawn from `seed`, and the class each was asked for (every class equally
    /// often for a conditional generator; all 0 otherwise). Made in chunks to bound memory.
    /// `-> images [n, C, H, W]`.
    pub fn sample(&mut self, n: usize, seed: u64) -> (Tensor<f32>, Vec<usize>) {
        const CHUNK: usize = 256;
        let mut rng = Rng::new(seed);
        let classes = self.classes;
        let labels: Vec<usize> = (0..n).map(|i| i % classes.max(1)).collect();
        let (c, h, w) = self.image_shape();
        let mut data = Vec::with_capacity(n * c * h * w);
        for start in (0..n).step_by(CHUNK) {
            let m = CHUNK.min(n - start);
            let eps = noise::<f32>(&mut rng, m, self.prior.nz(), 1.0);
            let z = self.prior.reparameterise(&eps);
            let chunk_labels = &labels[start..start + m];
            let images = self.g.forward(&z, (classes > 0).then_some(chunk_labels));
            data.extend_from_slice(images.as_slice());
        }
        let images = Tensor::from_vec(&[n, c, h, w], data).expect("n whole images");
        (images, labels)
    }
}

/// Real images as `gan train --data` reads them: a built-in name ("digits", "shapes"; `n`
/// images drawn from `seed`) or a file (with optional labels; its first `n` images), resized to
/// `size` when it is given and differs.
pub fn load_real(
    data: &str,
    labels: Option<&Path>,
    n: usize,
    seed: u64,
    size: Option<usize>,
) -> Result<(Dataset, Vec<String>)> {
    let (mut dataset, notes) = if crate::data::BUILTIN.contains(&data) {
        if labels.is_some() {
            return Err(Error::usage(format!(
                "--labels applies to image files, not to the built-in data set '{data}'"
            )));
        }
        (Dataset::builtin(data, n, seed)?, Vec::new())
    } else if Path::new(data).exists() {
        let loaded = match size {
            Some(s) => files::load_at_size(Path::new(data), labels, s)?,
            None => files::load_images(Path::new(data), labels)?,
        };
        let mut set = loaded.dataset;
        let extra = set.len().saturating_sub(n);
        if extra > 0 {
            set = set.split(extra).0;
        }
        (set, loaded.notes)
    } else {
        return Err(Error::usage(format!(
            "'{data}' is neither a built-in data set ({}) nor a file that exists",
            crate::data::BUILTIN.join(", ")
        )));
    };
    if let Some(s) = size {
        let (_, h, w) = dataset.image_shape();
        if (h, w) != (s, s) {
            dataset = files::resize_square(&dataset, s)?;
        }
    }
    Ok((dataset, notes))
}

/// The detection set: `n` real images (class 0) and `n` samples (class 1) split evenly over the
/// generators (sample seeds `seed + 1`, `seed + 2`, ...). Every generator must make images of
/// the real images' shape.
pub fn detection_set(real: &Dataset, sources: &mut [Source], seed: u64) -> Result<Labelled> {
    if sources.is_empty() || real.is_empty() {
        return Err(Error::usage(
            "detection needs real images and at least one generator",
        ));
    }
    let n = real.len();
    let expected = real.image_shape();
    let mut fakes = Vec::new();
    let k = sources.len();
    for (i, source) in sources.iter_mut().enumerate() {
        check_source(source, expected, "the real images")?;
        let share = n / k + usize::from(i < n % k);
        fakes.push(source.sample(share, seed + 1 + i as u64).0);
    }
    let fake = Labelled::from_groups(fakes, vec!["fake".into(); k])?;
    Labelled::from_groups(
        vec![real.images.clone(), fake.images],
        vec!["real".into(), "fake".into()],
    )
}

/// The attribution set: `n_each` samples of every generator, class k = generator k.
pub fn attribution_set(
    sources: &mut [Source],
    names: Vec<String>,
    n_each: usize,
    seed: u64,
) -> Result<Labelled> {
    if sources.len() < 2 || names.len() != sources.len() {
        return Err(Error::usage(format!(
            "attribution needs at least 2 generators, one name each; found {} generators and {} names",
            sources.len(),
            names.len()
        )));
    }
    let expected = sources[0].image_shape();
    let first = sources[0].name.clone();
    let mut groups = Vec::new();
    for (i, source) in sources.iter_mut().enumerate() {
        check_source(source, expected, &format!("those of {first}"))?;
        groups.push(source.sample(n_each, seed + 1 + i as u64).0);
    }
    Labelled::from_groups(groups, names)
}

fn check_source(source: &Source, expected: (usize, usize, usize), other: &str) -> Result<()> {
    let found = source.image_shape();
    if found != expected {
        let (c, h, w) = expected;
        return Err(Error::shape_text(
            format!("{} makes images of another size than {other}", source.name),
            format!("[{c}, {h}, {w}]"),
            format!("[{}, {}, {}]", found.0, found.1, found.2),
        ));
    }
    Ok(())
}
