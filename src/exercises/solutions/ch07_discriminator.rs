//! Chapter 7 exercise, worked solution: the receptive field of a stack of convolutions.

/// Exercise 7.1: how many input pixels (per side) one output of a stack of convolutions sees.
///
/// `layers` lists (kernel, stride) from the layer that reads the image to the last one. Padding
/// shifts the window but never widens it. The pix2pix PatchGAN,
/// `[(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]`, sees 70 x 70 pixels.
///
/// Walking up from the image: one output of a layer sees k neighbouring outputs of the layer
/// below, which are j input pixels apart, so the window grows by (k - 1) j; and neighbouring
/// outputs of this layer are s times further apart than those below. (`Discriminator::patch_size`
/// walks the other way, from the logit down: r -> (r - 1) s + k. Both give the same number.)
pub fn receptive_field(layers: &[(usize, usize)]) -> usize {
    let (mut r, mut j) = (1, 1);
    for &(kernel, stride) in layers {
        r += (kernel - 1) * j;
        j *= stride;
    }
    r
}
