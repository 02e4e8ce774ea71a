//! Chapter 10. The built-in data sets, drawn by the program itself (nothing is downloaded).
//!
//! - [`digits()`]: handwritten-looking digits 0-9, 28 x 28 grey, MNIST's format (white on black).
//! - [`shapes()`]: circles, squares and triangles in colour on varied backgrounds, 32 x 32 RGB.
//! - [`ring()`]: eight Gaussians on a circle, the 2-D toy on which chapter 9 watches modes collapse.
//!
//! Images are `[N, C, H, W]` tensors with values in [-1, 1], the range of the generator's tanh
//! output, and come with their class labels for the class-conditional GAN.
//!
//! **Reproducible.** A data set is a function of `(n, seed)` alone. The labels are drawn first
//! (exactly balanced: image i's label is `perm[i] % classes` for a seeded random permutation),
//! then image i is drawn from its own generator `Rng::new(seed).fork(1).fork(i)`. The images are
//! rendered in parallel, and since no image depends on another or on which thread drew it, the
//! result is bitwise the same for any thread count. The drawing itself uses only integer random
//! bits and the IEEE-exact operations `+ - * / sqrt` (a rotation comes from the tangent of the
//! half angle, never from `sin`/`cos`; the blur is a binomial filter, not `exp`), so `digits`
//! and `shapes` are bitwise the same on every machine. The ring's Gaussians use Box-Muller,
//! whose `ln`, `sin` and `cos` from the platform's maths library may differ in the last bit.
//!
//! **Minibatches.** [`Batcher`] walks the data in shuffled epochs; its whole state is three
//! numbers and a generator state, so a resumed training run draws the same batches.

pub mod digits;
pub mod files; // ch. 11: your own images (.npy, IDX, CIFAR-10) read into a Dataset
mod font;
pub mod ring;
pub mod shapes;

pub use digits::digits;
pub use ring::{mode_coverage, ring, ring_modes, Points, Ring};
pub use shapes::shapes;

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The names [`Dataset::builtin`] knows.
pub const BUILTIN: [&str; 2] = ["digits", "shapes"];

/// A labelled set of images.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// `[N, C, H, W]`, every value in [-1, 1] (background -1 for `digits`).
    pub images: Tensor<f32>,
    /// `labels[i]` is the class of image i, in `0..classes`.
    pub labels: Vec<usize>,
    pub classes: usize,
    /// A name per class, for plots and reports.
    pub class_names: Vec<String>,
    /// The data set's name ("digits", "shapes", ...).
    pub name: String,
}

impl Dataset {
    /// `n` images of the built-in data set `name` ("digits" or "shapes"), drawn from `seed`.
    ///
    /// ```
    /// let data = gan::data::Dataset::builtin("digits", 20, 7).unwrap();
    /// assert_eq!(data.images.shape(), &[20, 1, 28, 28]);
    /// let err = gan::data::Dataset::builtin("mnist", 20, 7).unwrap_err();
    /// assert!(err.to_string().contains("digits, shapes"));
    /// ```
    pub fn builtin(name: &str, n: usize, seed: u64) -> Result<Dataset> {
        match name {
            "digits" => Ok(digits(n, seed)),
            "shapes" => Ok(shapes(n, seed)),
            _ => {
                let hint = if name == "ring" {
                    " (ring is a set of 2-D points, not images: see data::ring)"
                } else {
                    ""
                };
                Err(Error::usage(format!(
                    "unknown data set {name:?}: the built-in image data sets are {}{hint}",
                    BUILTIN.join(", ")
                )))
            }
        }
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `(C, H, W)` of one image.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        let s = self.images.shape();
        (s[1], s[2], s[3])
    }

    /// The images and labels at `indices`, in that order: a minibatch.
    /// `images: [N, C, H, W] -> [indices.len(), C, H, W]`.
    pub fn batch(&self, indices: &[usize]) -> (Tensor<f32>, Vec<usize>) {
        let (c, h, w) = self.image_shape();
        let size = c * h * w;
        let all = self.images.as_slice();
        let mut data = Vec::with_capacity(indices.len() * size);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            assert!(
                i < self.len(),
                "Dataset::batch: index {i} out of range for {} images",
                self.len()
            );
            data.extend_from_slice(&all[i * size..(i + 1) * size]);
            labels.push(self.labels[i]);
        }
        let images = Tensor::from_vec(&[indices.len(), c, h, w], data)
            .expect("the batch has indices.len() whole images");
        (images, labels)
    }

    /// Splits off the last `n_test` images as a test set: `(train, test)`. The images were drawn
    /// independently in a shuffled class order, so both parts are fair samples.
    pub fn split(self, n_test: usize) -> (Dataset, Dataset) {
        assert!(
            n_test <= self.len(),
            "Dataset::split: asked for {n_test} test images out of {}",
            self.len()
        );
        let (c, h, w) = self.image_shape();
        let n_train = self.len() - n_test;
        let mut train_data = self.images.into_vec();
        let test_data = train_data.split_off(n_train * c * h * w);
        let mut train_labels = self.labels;
        let test_labels = train_labels.split_off(n_train);
        let part = |data, labels, n| Dataset {
            images: Tensor::from_vec(&[n, c, h, w], data).expect("whole images"),
            labels,
            classes: self.classes,
            class_names: self.class_names.clone(),
            name: self.name.clone(),
        };
        (
            part(train_data, train_labels, n_train),
            part(test_data, test_labels, n_test),
        )
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        // Unlabelled data (classes = 0, every label 0) has no classes to count.
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }
}

/// `n` labels in `0..classes`, each class `n / classes` times (the first `n % classes` classes
/// once more), in a random order: `perm[i] % classes` for a random permutation `perm`.
pub(crate) fn balanced_labels(n: usize, classes: usize, rng: &mut Rng) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut perm);
    perm.iter().map(|p| p % classes).collect()
}

/// Writes `n` items in parallel: `draw(i, item)` fills `out[i * size..(i + 1) * size]`. Items are
/// handed out in chunks (one task each); which thread draws an item never changes it.
pub(crate) fn draw_in_parallel(
    out: &mut [f32],
    size: usize,
    draw: impl Fn(usize, &mut [f32]) + Sync,
) {
    const CHUNK: usize = 128;
    let n = out.len() / size;
    let ptr = crate::parallel::SharedMut(out.as_mut_ptr());
    crate::parallel::for_each_task(n.div_ceil(CHUNK), |task| {
        for i in task * CHUNK..n.min((task + 1) * CHUNK) {
            // SAFETY: item i is in exactly one chunk, so out[i * size..(i + 1) * size] is written
            // by one task only; `out` outlives `for_each_task`, which waits for every task.
            let item = unsafe { std::slice::from_raw_parts_mut(ptr.get().add(i * size), size) };
            draw(i, item);
        }
    });
}

/// Minibatches of indices in shuffled epochs (Fisher-Yates, [`Rng::shuffle`]).
///
/// Each epoch visits every index in `0..n` exactly once, in a fresh random order, in batches of
/// `batch`; the last batch of an epoch is shorter when `batch` does not divide `n` (as PyTorch's
/// `DataLoader` with `drop_last=False`). The epoch's order is drawn from the generator when the
/// epoch starts, so [`Batcher::state`] (epoch, position, and the generator state the order came
/// from) is all it takes to resume exactly.
#[derive(Clone, Debug)]
pub struct Batcher {
    batch: usize,
    epoch: u64,
    position: usize,
    /// The generator state the current epoch's order was drawn from.
    epoch_rng: [u64; 4],
    order: Vec<usize>,
    rng: Rng,
}

/// Everything needed to rebuild a [`Batcher`] where it was (plain numbers, for a checkpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatcherState {
    pub n: usize,
    pub batch: usize,
    /// Epochs completed so far.
    pub epoch: u64,
    /// Indices of the current epoch already handed out (less than n).
    pub position: usize,
    /// The xoshiro state the current epoch's order was drawn from.
    pub rng: [u64; 4],
}

impl Batcher {
    /// Batches of `batch` indices from `0..n`, in epochs shuffled by a generator seeded with `seed`.
    pub fn new(n: usize, batch: usize, seed: u64) -> Batcher {
        assert!(
            n > 0 && batch > 0,
            "Batcher::new: expected n > 0 and batch > 0, found n = {n}, batch = {batch}"
        );
        let rng = Rng::new(seed);
        let mut b = Batcher {
            batch,
            epoch: 0,
            position: 0,
            epoch_rng: rng.state(),
            order: (0..n).collect(),
            rng,
        };
        b.rng.shuffle(&mut b.order);
        b
    }

    /// The next batch of indices. After the last batch of an epoch, the next epoch (with a new
    /// order) starts at once, so [`Batcher::epoch`] counts the epochs fully handed out.
    pub fn next_batch(&mut self) -> Vec<usize> {
        let end = self.order.len().min(self.position + self.batch);
        let indices = self.order[self.position..end].to_vec();
        self.position = end;
        if self.position == self.order.len() {
            self.epoch += 1;
            self.position = 0;
            self.epoch_rng = self.rng.state();
            self.draw_order();
        }
        indices
    }

    /// The number of batches in one epoch (the last one possibly short).
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// Epochs completed so far.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn state(&self) -> BatcherState {
        BatcherState {
            n: self.order.len(),
            batch: self.batch,
            epoch: self.epoch,
            position: self.position,
            rng: self.epoch_rng,
        }
    }

    /// Rebuilds the batcher saved by [`Batcher::state`]; it continues with the same batches.
    pub fn from_state(state: &BatcherState) -> Result<Batcher> {
        if state.n == 0 || state.batch == 0 || state.position >= state.n {
            return Err(Error::msg(format!(
                "Batcher::from_state: expected n > 0, batch > 0 and position < n, found n = {}, \
                 batch = {}, position = {}",
                state.n, state.batch, state.position
            )));
        }
        let mut b = Batcher {
            batch: state.batch,
            epoch: state.epoch,
            position: state.position,
            epoch_rng: state.rng,
            order: Vec::new(),
            rng: Rng::from_state(state.rng, None)?,
        };
        b.order = (0..state.n).collect();
        b.draw_order();
        Ok(b)
    }

    /// A fresh order for the epoch: the identity permutation, shuffled. Starting from the
    /// identity makes the order a function of the generator state alone.
    fn draw_order(&mut self) {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i;
        }
        self.rng.shuffle(&mut self.order);
    }
}

/// An endless stream of batches: `batcher.take(steps)`.
impl Iterator for Batcher {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        Some(self.next_batch())
    }
}
