//! # gan: generative adversarial networks from the Rust standard library alone
//!
//! A textbook that runs. Each module belongs to a chapter of `chapters/`, and the chapters
//! follow the lecture's derivation: noise -> generator -> discriminator -> the minimax
//! objective -> learning by alternating minibatch SGD.
//!
//! Letters used in shapes everywhere: N batch, C channels, H height, W width (always in the
//! order (h, w)), K kernel size, S stride, P padding, Z noise dimension. Image batches are
//! NCHW, as in PyTorch.

pub mod check;
pub mod error; //          errors that say what was expected and what was found
pub mod gemm; //           ch. 2: C <- alpha op(A) op(B) + beta C, reference and fast
pub mod parallel; //       ch. 2: the thread pool; the only place threads are made
pub mod png; //            ch. 4: a PNG writer (stored deflate, CRC-32, Adler-32) and image grids
pub mod scalar; //         ch. 2: one trait for f32 and f64
pub mod tensor; //         ch. 2: the array type (matrices, NCHW image batches) //          ch. 0: the gradient checker (central differences in f64)

pub use error::{Error, Result};
pub use scalar::Real;
pub use tensor::Tensor;
pub mod exercises;
pub mod layers; //         ch. 3-5: layers with hand-written backward passes //      every chapter's exercises (blanks under --features exercises)
