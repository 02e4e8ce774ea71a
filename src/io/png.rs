//! A PNG writer in a hundred lines, so that examples and training runs can show pictures.
//!
//! A PNG file is an 8-byte signature and a list of chunks (length, type, data, CRC-32). Three
//! chunks suffice: IHDR (size and pixel format), IDAT (the pixels as a zlib stream) and IEND.
//! The zlib stream uses deflate's "stored" blocks, which hold bytes as they are: the files are
//! larger than compressed ones but every viewer reads them, and the encoder stays short.
//! Specifications: PNG (W3C, 2003), zlib (RFC 1950), deflate (RFC 1951).

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::path::Path;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A stored deflate block holds at most this many bytes (its length field has 16 bits).
const MAX_STORED: usize = 65535;

/// The CRC-32 of every byte value, for the polynomial 0xEDB88320 (reflected), built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// CRC-32 (as in PNG, zip and gzip): crc32(b"123456789") = 0xCBF43926.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32_update(0, bytes)
}

/// The CRC-32 of the concatenation of the bytes `crc` was computed over and `bytes`.
fn crc32_update(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for &byte in bytes {
        c = CRC_TABLE[((c ^ byte as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Adler-32, zlib's checksum: two running sums modulo 65521. adler32(b"Wikipedia") = 0x11E60398.
pub fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // 5552 bytes is the longest run whose sums cannot overflow a u32 before the modulo.
    let (mut a, mut b) = (1u32, 0u32);
    for run in bytes.chunks(5552) {
        for &byte in run {
            a += byte as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// A zlib stream (RFC 1950) holding `data` in stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let blocks = data.len().div_ceil(MAX_STORED).max(1);
    let mut out = Vec::with_capacity(data.len() + 5 * blocks + 6);
    // CMF 0x78: deflate with a 32 KiB window. FLG 0x01: no dictionary, and 0x7801 % 31 == 0.
    out.extend_from_slice(&[0x78, 0x01]);
    for i in 0..blocks {
        let block = &data[(i * MAX_STORED).min(data.len())..((i + 1) * MAX_STORED).min(data.len())];
        // Header bits: BFINAL (1 on the last block), then BTYPE = 00 (stored); then LEN and its
        // one's complement NLEN, little endian.
        out.push(u8::from(i + 1 == blocks));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn push_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    // The CRC covers the chunk type and the data, not the length.
    png.extend_from_slice(&crc32_update(crc32(kind), data).to_be_bytes());
}

/// The bytes of a PNG image of `width` x `height` pixels with 1 (gray) or 3 (RGB) channels of
/// 8 bits. `pixels` holds the rows from top to bottom, each pixel's channels together
/// (`[r, g, b, r, g, b, ...]`). Panics if the arguments disagree; see [`save_png`] for a
/// checked version.
pub fn encode_png(width: usize, height: usize, channels: usize, pixels: &[u8]) -> Vec<u8> {
    check_image(width, height, channels, pixels.len()).unwrap_or_else(|e| panic!("{e}"));
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    let color_type = if channels == 1 { 0 } else { 2 };
    // bit depth 8, color type, compression 0 (deflate), filter method 0, no interlace
    header.extend_from_slice(&[8, color_type, 0, 0, 0]);

    // Each row starts with its filter type; 0 means the bytes are stored as they are.
    let row = width * channels;
    let mut scanlines = Vec::with_capacity(height * (row + 1));
    for line in pixels.chunks_exact(row) {
        scanlines.push(0);
        scanlines.extend_from_slice(line);
    }

    let mut png = SIGNATURE.to_vec();
    push_chunk(&mut png, b"IHDR", &header);
    push_chunk(&mut png, b"IDAT", &zlib_stored(&scanlines));
    push_chunk(&mut png, b"IEND", &[]);
    png
}

fn check_image(width: usize, height: usize, channels: usize, len: usize) -> Result<()> {
    if channels != 1 && channels != 3 {
        return Err(Error::msg(format!(
            "PNG: expected 1 (gray) or 3 (RGB) channels, found {channels}"
        )));
    }
    if width == 0 || height == 0 || width > i32::MAX as usize || height > i32::MAX as usize {
        return Err(Error::msg(format!(
            "PNG: width and height must be between 1 and 2^31 - 1, found {width} x {height}"
        )));
    }
    if len != width * height * channels {
        return Err(Error::shape_text(
            "PNG pixels",
            format!(
                "{width} x {height} x {channels} = {} bytes",
                width * height * channels
            ),
            format!("{len} bytes"),
        ));
    }
    Ok(())
}

/// Writes a PNG file (see [`encode_png`]), creating its folder if needed.
pub fn save_png(
    path: impl AsRef<Path>,
    width: usize,
    height: usize,
    channels: usize,
    pixels: &[u8],
) -> Result<()> {
    let path = path.as_ref();
    check_image(width, height, channels, pixels.len())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, encode_png(width, height, channels, pixels))
        .map_err(|e| Error::io(path, e))
}

/// Tiles a batch of images ([N, C, H, W] with C = 1 or 3, values in [-1, 1], as a generator
/// with tanh produces them) into one picture, `nrow` images per row, with a 2-pixel black
/// border around each, like torchvision's `make_grid`. Returns (width, height, channels,
/// pixels) for [`encode_png`]; values outside [-1, 1] are clipped.
pub fn image_grid<T: Real>(images: &Tensor<T>, nrow: usize) -> (usize, usize, usize, Vec<u8>) {
    const BORDER: usize = 2;
    let s = images.shape();
    assert!(
        s.len() == 4 && (s[1] == 1 || s[1] == 3) && s[0] > 0 && nrow > 0,
        "image_grid: expected a non-empty batch [N, 1 or 3, H, W] and nrow > 0, found {s:?} and nrow {nrow}"
    );
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    let cols = nrow.min(n);
    let rows = n.div_ceil(cols);
    let (width, height) = (cols * (w + BORDER) + BORDER, rows * (h + BORDER) + BORDER);
    let mut pixels = vec![0u8; width * height * c];
    let data = images.as_slice();
    for image in 0..n {
        let (top, left) = (
            (image / cols) * (h + BORDER) + BORDER,
            (image % cols) * (w + BORDER) + BORDER,
        );
        for ch in 0..c {
            for i in 0..h {
                for j in 0..w {
                    let v = data[((image * c + ch) * h + i) * w + j].to_f64();
                    // [-1, 1] -> [0, 255]; NaN becomes 0 (`as` saturates).
                    let byte = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8;
                    pixels[((top + i) * width + left + j) * c + ch] = byte;
                }
            }
        }
    }
    (width, height, c, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_known_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        // Long input: the deferred modulo must agree with a modulo after every byte.
        let long: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 255) as u8).collect();
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &long {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&long), (b << 16) | a);
        assert_eq!(crc32_update(crc32(b"1234"), b"56789"), 0xCBF4_3926);
    }

    /// Reads back a stored-block zlib stream, checking every field on the way.
    fn inflate_stored(z: &[u8]) -> Vec<u8> {
        assert_eq!(&z[..2], &[0x78, 0x01]);
        assert_eq!(u16::from_be_bytes([z[0], z[1]]) % 31, 0);
        let mut at = 2;
        let mut out = Vec::new();
        loop {
            let header = z[at];
            assert_eq!(header & 0b110, 0, "BTYPE must be 00 (stored)");
            let len = u16::from_le_bytes([z[at + 1], z[at + 2]]);
            let nlen = u16::from_le_bytes([z[at + 3], z[at + 4]]);
            assert_eq!(len, !nlen);
            out.extend_from_slice(&z[at + 5..at + 5 + len as usize]);
            at += 5 + len as usize;
            if header & 1 == 1 {
                break;
            }
        }
        assert_eq!(z[at..].len(), 4, "only the Adler-32 follows the last block");
        assert_eq!(
            u32::from_be_bytes(z[at..].try_into().unwrap()),
            adler32(&out)
        );
        out
    }

    #[test]
    fn stored_blocks_split_at_65535_bytes() {
        for len in [0usize, 1, 65535, 65536, 3 * 65535 + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let z = zlib_stored(&data);
            let blocks = len.div_ceil(65535).max(1);
            assert_eq!(z.len(), 2 + 5 * blocks + len + 4, "length {len}");
            assert_eq!(inflate_stored(&z), data, "length {len}");
        }
    }

    /// Splits a PNG into its chunks, checking the signature and every CRC.
    fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&png[..8], &SIGNATURE);
        let mut at = 8;
        let mut out = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = png[at + 4..at + 8].try_into().unwrap();
            let data = png[at + 8..at + 8 + len].to_vec();
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]), "CRC of {kind:?}");
            out.push((kind, data));
            at += 12 + len;
        }
        out
    }

    #[test]
    fn a_png_has_the_signature_and_the_three_chunks() {
        let (w, h) = (3, 2);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| i as u8 * 10).collect();
        let png = encode_png(w, h, 3, &rgb);
        let parts = chunks(&png);
        let kinds: Vec<&[u8; 4]> = parts.iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
        assert_eq!(parts[0].1, [0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
        let scanlines = inflate_stored(&parts[1].1);
        assert_eq!(scanlines.len(), h * (1 + w * 3));
        assert_eq!(&scanlines[..10], &[0, 0, 10, 20, 30, 40, 50, 60, 70, 80]);
        assert!(parts[2].1.is_empty());

        let gray = encode_png(1, 1, 1, &[200]);
        assert_eq!(chunks(&gray)[0].1[9], 0, "color type 0 is gray");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let dir = std::env::temp_dir();
        let err = save_png(dir.join("never.png"), 2, 2, 3, &[0; 11]).unwrap_err();
        assert!(err.to_string().contains("12 bytes"), "{err}");
        let err = save_png(dir.join("never.png"), 2, 2, 4, &[0; 16]).unwrap_err();
        assert!(err.to_string().contains("found 4"), "{err}");
    }

    #[test]
    fn image_grid_tiles_images_with_a_border() {
        // Two 1x2 gray images: [-1, 1] and [0, 0.5], two per row.
        let x = Tensor::from_vec(&[2, 1, 1, 2], vec![-1.0f32, 1.0, 0.0, 0.5]).unwrap();
        let (w, h, c, pixels) = image_grid(&x, 2);
        assert_eq!((w, h, c), (2 * (2 + 2) + 2, 1 + 2 + 2, 1));
        let row = &pixels[2 * w..3 * w];
        assert_eq!(row, &[0, 0, 0, 255, 0, 0, 128, 191, 0, 0]);
        // Three RGB images, two per row: two rows of the grid.
        let rgb = Tensor::<f64>::zeros(&[3, 3, 4, 4]);
        let (w, h, c, pixels) = image_grid(&rgb, 2);
        assert_eq!((w, h, c), (14, 14, 3));
        assert_eq!(pixels.len(), 14 * 14 * 3);
    }
}
