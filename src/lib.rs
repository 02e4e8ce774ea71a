//! # gan: generative adversarial networks from the Rust standard library alone
//!
//! A textbook that runs. Each module belongs to a chapter of `chapters/`, and the chapters
//! follow the lecture's derivation: noise -> generator -> discriminator -> the minimax
//! objective -> learning by alternating minibatch SGD.
//!
//! Letters used in shapes everywhere: N batch, C channels, H height, W width (always in the
//! order (h, w)), K kernel size, S stride, P padding, Z noise dimension. Image batches are
//! NCHW, as in PyTorch.
//!
//! | module | chapter | what it holds |
//! |---|---|---|
//! | [`check`] | 0 The recipe | the gradient checker (central differences in f64) |
//! | [`rng`], [`stats`] | 1 Noise (and 12) | random bits to Gaussians; moments, KS, chi-square, erf, Student's t |
//! | [`scalar`], [`tensor`] | 2 Matrices and GEMM | one trait for f32 and f64; the array type |
//! | [`gemm`], [`parallel`] | 2 Matrices and GEMM | C <- alpha op(A) op(B) + beta C; the thread pool |
//! | [`layers`], [`optim`] | 3-5 | layers with hand-written backward passes; SGD and Adam |
//! | [`init`], [`models`] | 6, 7, 10 | DCGAN initialisation; the generator and the discriminator |
//! | [`gan`] | 8, 9 | the minimax losses, the noise prior, Algorithm 1 |
//! | [`exercises`] | every chapter | the exercises (blanks under `--features exercises`) |
//! | [`data`] | 10 Class-conditional GANs (the ring: 9) | the built-in data sets (digits, shapes, the 2-D ring); minibatches |
//! | [`io`] | 1, 4, 11 | atomic writes, PNG images, SVG plots, JSON, safetensors |
//! | [`eval`] | 12 Which generator is better? | a classifier to judge in; FID, precision/recall, memorisation; restarts; the paired bootstrap |
//! | [`mod@bench`], [`profile`], [`cli`] | 2, 13 | `gan bench` and its per-layer stopwatch; the command line |
//! | [`watermark`], [`forensics`] | 14 Watermarks and attribution | keys, encoder and decoder, G's mark, the binomial p-value; fake detection, model and image attribution |

// Doc comments write shapes as [N, C, H, W], as the chapters do; rustdoc would read each
// bracketed letter as a link.
#![allow(rustdoc::broken_intra_doc_links)]

pub mod bench;
pub mod block_cache;
pub mod check;
pub mod cli;
pub mod commands;
pub mod data;
pub mod error;
pub mod eval;
pub mod exercises;
pub mod fast_math;
pub mod forensics;
pub mod gan;
pub mod gemm;
pub mod init;
pub mod io;
pub mod layers;
pub mod models;
pub mod optim;
pub mod parallel;
pub mod profile;
pub mod rng;
pub mod scalar;
mod scratch;
mod simd;
pub mod stats;
pub mod tensor;
pub mod watermark;

pub use error::{Error, Result};
pub use scalar::Real;
pub use tensor::Tensor;
