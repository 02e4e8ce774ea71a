//! Chapter 6 exercise: count the DCGAN generator's parameters (chapters/06-the-generator.md,
//! "Exercises").
//!
//! Fill in the function, then run
//! `cargo test --release --features exercises --test ch06_generator -- exercise_`.
// The parameters are unused until you write the body.
#![allow(unused_variables)]

/// Exercise 6.1: the number of learnable values of `Generator::new` for this shape, without
/// building it. `classes` is 0 for an unconditional generator. For nz 100, ngf 64, 3 channels
/// and 64 x 64 images the answer is PyTorch's 3,576,704.
pub fn dcgan_generator_param_count(
    nz: usize,
    ngf: usize,
    channels: usize,
    size: usize,
    classes: usize,
) -> usize {
    todo!(
        "walk the layer table of chapter 6: `crate::models::upsampling_plan(size)` gives (s0, L); \
         the projection is a ConvTranspose2d(nz + classes, ngf * 2^(L-1), k s0), then L - 1 \
         ConvTranspose2d(c, c / 2, k4) and the last one (ngf -> channels, k4). A weight has \
         C_in * C_out * k * k values and no bias; each BatchNorm adds gamma and beta per channel"
    )
}
