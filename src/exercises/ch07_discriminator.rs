//! Chapter 7 exercise: the receptive field of a stack of convolutions
//! (chapters/07-the-discriminator.md, "Exercises").
//!
//! Fill in the function, then run
//! `cargo test --release --features exercises --test ch07_discriminator -- exercise_`.
// The parameters are unused until you write the body.
#![allow(unused_variables)]

/// Exercise 7.1: how many input pixels (per side) one output of a stack of convolutions sees.
///
/// `layers` lists (kernel, stride) from the layer that reads the image to the last one. Padding
/// shifts the window but never widens it. The pix2pix PatchGAN,
/// `[(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]`, sees 70 x 70 pixels.
pub fn receptive_field(layers: &[(usize, usize)]) -> usize {
    todo!(
        "keep two numbers while walking from the image up: r, the window seen so far (1 pixel \
         before any layer), and j, how many input pixels apart two neighbouring outputs are (1). \
         A layer (k, s) sees k neighbours, j pixels apart: r += (k - 1) j, then j *= s"
    )
}
