//! Chapter 6 exercise, worked solution: count the DCGAN generator's parameters.

use crate::models::upsampling_plan;

/// Exercise 6.1: the number of learnable values of `Generator::new` for this shape, without
/// building it. `classes` is 0 for an unconditional generator. For nz 100, ngf 64, 3 channels
/// and 64 x 64 images the answer is PyTorch's 3,576,704.
///
/// Layer by layer: the projection ConvTranspose2d(nz + classes -> w0, k = s0) has
/// (nz + classes) w0 s0^2 weights; each hidden layer's BatchNorm has 2 values per channel (gamma
/// and beta: running statistics are buffers); each fractionally-strided layer c -> c/2 has
/// 16 c (c/2) weights; the last ngf -> channels has 16 ngf channels. No convolution has a bias.
pub fn dcgan_generator_param_count(
    nz: usize,
    ngf: usize,
    channels: usize,
    size: usize,
    classes: usize,
) -> usize {
    let (s0, doublings) = upsampling_plan(size).expect("a size the generator can build");
    let width = |i: usize| ngf << (doublings - 1 - i); // channels after layer i
    let mut count = (nz + classes) * width(0) * s0 * s0 + 2 * width(0);
    for i in 1..doublings {
        count += width(i - 1) * width(i) * 4 * 4 + 2 * width(i);
    }
    count + ngf * channels * 4 * 4
}
