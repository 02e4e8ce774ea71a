//! Chapter 11 exercise: a loader for binary PGM images. Fill in the body; `cargo test --release
//! --features exercises --test ch11_files -- exercise_` says when it is right.

use crate::error::Result;
use std::path::Path;

/// Reads a binary greyscale PGM ("P5"): the magic, then width, height and the largest value
/// (1..=255) as ASCII numbers separated by white space (with `#` comments to the end of a line),
/// then exactly one white-space byte, then width * height bytes of pixels, row by row.
/// Returns (height, width, pixels).
pub fn read_pgm(bytes: &[u8], path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let _ = (bytes, path);
    todo!(
        "exercise 11.1 (chapter 11, 'Write a loader'): check the magic 'P5', read three ASCII numbers (skip white \
         space and # comments), require one white-space byte, then exactly width * height pixel bytes. Every \
         problem is an Err from Error::format(path, expected, found), never a panic: index with .get(), not []"
    )
}
