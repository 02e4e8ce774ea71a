//! Chapter 11 exercise, worked solution: a loader for binary PGM images, held to the same rule as
//! every loader of this project: a clear error for anything wrong, never a panic.

use crate::error::{Error, Result};
use std::path::Path;

/// Reads a binary greyscale PGM ("P5"): the magic, then width, height and the largest value
/// (1..=255) as ASCII numbers separated by white space (with `#` comments to the end of a line),
/// then exactly one white-space byte, then width * height bytes of pixels, row by row.
/// Returns (height, width, pixels).
pub fn read_pgm(bytes: &[u8], path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let bad = |expected: &str, found: String| {
        Error::format(path, format!("a binary PGM image: {expected}"), found)
    };
    if !bytes.starts_with(b"P5") {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(2)]).to_string();
        return Err(bad("the magic 'P5'", format!("'{start}'")));
    }
    let mut pos = 2;
    let mut numbers = [0usize; 3];
    for (k, name) in ["width", "height", "largest value"].iter().enumerate() {
        // White space and comments before each number.
        loop {
            match bytes.get(pos) {
                Some(b) if b.is_ascii_whitespace() => pos += 1,
                Some(b'#') => {
                    while bytes.get(pos).is_some_and(|&b| b != b'\n') {
                        pos += 1;
                    }
                }
                _ => break,
            }
        }
        let start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let digits = std::str::from_utf8(&bytes[start..pos]).unwrap_or("");
        numbers[k] = match digits.parse::<usize>() {
            Ok(n) if n > 0 && n <= 1 << 16 => n,
            _ => {
                return Err(bad(
                    &format!("a {name} from 1 to 65536"),
                    format!("'{digits}' at byte {start}"),
                ))
            }
        };
    }
    let [width, height, largest] = numbers;
    if largest > 255 {
        return Err(bad(
            "a largest value of at most 255 (one byte per pixel)",
            largest.to_string(),
        ));
    }
    if !bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        return Err(bad(
            "one white-space byte after the header",
            format!("byte {pos}"),
        ));
    }
    let pixels = &bytes[pos + 1..];
    if pixels.len() != width * height {
        return Err(bad(
            &format!("{width} x {height} = {} pixel bytes", width * height),
            format!("{}", pixels.len()),
        ));
    }
    Ok((height, width, pixels.to_vec()))
}
