//! Chapter 14. The images of a PNG for the watermark decoder: one picture of the decoder's size,
//! or the cells of a grid as `gan sample --png` draws it. (Reading the PNG itself, inflate and
//! all, is `io::png_read`.)

use crate::error::{Error, Result};
use crate::io::png_read::decode_png;
use crate::tensor::Tensor;
use std::path::Path;

/// The images of a PNG for a decoder of side `size`: the whole picture if it is `size` x `size`,
/// else the cells of a grid as `image_grid` draws it (2-pixel borders), empty cells dropped.
pub fn read_png_images(bytes: &[u8], path: &Path, size: usize) -> Result<Tensor<f32>> {
    let picture = decode_png(bytes).map_err(|found| Error::format(path, "a PNG image", found))?;
    let (c, height, width) = (picture.shape()[1], picture.shape()[2], picture.shape()[3]);
    if (width, height) == (size, size) {
        return Ok(picture);
    }
    let chw = picture.as_slice();
    const BORDER: usize = 2;
    let cell = size + BORDER;
    if width < BORDER + cell
        || height < BORDER + cell
        || !(width - BORDER).is_multiple_of(cell)
        || !(height - BORDER).is_multiple_of(cell)
    {
        return Err(Error::format(
            path,
            format!(
                "one {size} x {size} image, or a grid of them with 2-pixel borders (as `gan sample --png` writes)"
            ),
            format!("a {width} x {height} picture"),
        ));
    }
    let (cols, rows) = ((width - BORDER) / cell, (height - BORDER) / cell);
    let mut images = Vec::new();
    let mut count = 0;
    for r in 0..rows {
        for q in 0..cols {
            let (top, left) = (BORDER + r * cell, BORDER + q * cell);
            let mut image = Vec::with_capacity(c * size * size);
            for ch in 0..c {
                for y in 0..size {
                    let row = (ch * height + top + y) * width + left;
                    image.extend_from_slice(&chw[row..row + size]);
                }
            }
            // A grid's unused cells are black (-1) throughout.
            if image.iter().any(|&v| v > -1.0) {
                images.extend(image);
                count += 1;
            }
        }
    }
    Tensor::from_vec(&[count, c, size, size], images)
}
