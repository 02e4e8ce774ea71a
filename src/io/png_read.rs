//! Chapter 14. Reading a PNG back, so that `gan detect`, `gan attribute`, `gan nearest` and
//! `gan watermark verify` take a picture from anywhere, not only this program's .npy files. (The
//! writer, `png.rs`, stores its pixels uncompressed; a PNG from anywhere else is compressed.)
//!
//! A PNG holds its pixels as a zlib stream (RFC 1950) of deflate data (RFC 1951) inside IDAT
//! chunks. [`inflate`] decodes deflate in full: stored blocks, and blocks coded with the fixed or
//! a transmitted ("dynamic") pair of Huffman codes, whose codes are read as canonical codes from
//! their lengths. Each decoded scanline starts with a filter byte (None, Sub, Up, Average,
//! Paeth) that says how to undo PNG's prediction. Supported: grey, grey + alpha, RGB, RGBA and
//! palette images of 1 to 16 bits, not interlaced; alpha is dropped, palettes are expanded,
//! 16-bit samples keep their high byte. The result is `[1, C, H, W]` in [-1, 1] (C = 1 or 3).

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::path::Path;

/// The 8 bytes every PNG file starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Reads the bits of a deflate stream, least significant bit first (RFC 1951, 3.1.1).
struct Bits<'a> {
    bytes: &'a [u8],
    pos: usize,
    bit: u32,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> std::result::Result<u32, String> {
        let mut value = 0;
        for i in 0..n {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or("the deflate data ends early")?;
            value |= (((byte >> self.bit) & 1) as u32) << i;
            self.bit += 1;
            if self.bit == 8 {
                self.bit = 0;
                self.pos += 1;
            }
        }
        Ok(value)
    }

    fn align_to_byte(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.pos += 1;
        }
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[l as usize] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for l in 1..16 {
            offsets[l] = offsets[l - 1] + counts[l - 1];
        }
        let mut symbols = vec![0; lengths.len()];
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[offsets[l as usize] as usize] = symbol as u16;
                offsets[l as usize] += 1;
            }
        }
        Huffman { counts, symbols }
    }

    /// One symbol, reading the code bit by bit (codes are packed most significant bit first).
    fn decode(&self, bits: &mut Bits) -> std::result::Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.read(1)? as i32;
            let count = self.counts[len] as i32;
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("an invalid Huffman code".into())
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which the code-length code's lengths are sent (RFC 1951, 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Decodes a raw deflate stream (no zlib header).
pub fn inflate(data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut bits = Bits {
        bytes: data,
        pos: 0,
        bit: 0,
    };
    let mut out = Vec::new();
    loop {
        let last = bits.read(1)? == 1;
        match bits.read(2)? {
            0 => {
                bits.align_to_byte();
                let at = bits.pos;
                let header = data.get(at..at + 4).ok_or("a stored block ends early")?;
                let len = u16::from_le_bytes([header[0], header[1]]) as usize;
                let nlen = u16::from_le_bytes([header[2], header[3]]) as usize;
                if len != !nlen & 0xffff {
                    return Err("a stored block's length check fails".into());
                }
                let body = data
                    .get(at + 4..at + 4 + len)
                    .ok_or("a stored block ends early")?;
                out.extend_from_slice(body);
                bits.pos = at + 4 + len;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let literals = Huffman::new(&lengths);
                let distances = Huffman::new(&[5u8; 30]);
                inflate_block(&mut bits, &mut out, &literals, &distances)?;
            }
            2 => {
                let (literals, distances) = read_dynamic_codes(&mut bits)?;
                inflate_block(&mut bits, &mut out, &literals, &distances)?;
            }
            _ => return Err("a block of the reserved type 3".into()),
        }
        if last {
            return Ok(out);
        }
    }
}

fn read_dynamic_codes(bits: &mut Bits) -> std::result::Result<(Huffman, Huffman), String> {
    let n_literals = bits.read(5)? as usize + 257;
    let n_distances = bits.read(5)? as usize + 1;
    let n_code_lengths = bits.read(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in &CODE_LENGTH_ORDER[..n_code_lengths] {
        code_lengths[i] = bits.read(3)? as u8;
    }
    let code_length_code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(n_literals + n_distances);
    while lengths.len() < n_literals + n_distances {
        let symbol = code_length_code.decode(bits)?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => (
                *lengths.last().ok_or("a repeat with nothing to repeat")?,
                3 + bits.read(2)?,
            ),
            17 => (0, 3 + bits.read(3)?),
            _ => (0, 11 + bits.read(7)?),
        };
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if lengths.len() != n_literals + n_distances {
        return Err("code lengths overrun their count".into());
    }
    Ok((
        Huffman::new(&lengths[..n_literals]),
        Huffman::new(&lengths[n_literals..]),
    ))
}

fn inflate_block(
    bits: &mut Bits,
    out: &mut Vec<u8>,
    literals: &Huffman,
    distances: &Huffman,
) -> std::result::Result<(), String> {
    loop {
        let symbol = literals.decode(bits)? as usize;
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => return Ok(()),
            _ => {
                let i = symbol - 257;
                if i >= 29 {
                    return Err(format!("an invalid length symbol {symbol}"));
                }
                let length = LENGTH_BASE[i] as usize + bits.read(LENGTH_EXTRA[i] as u32)? as usize;
                let d = distances.decode(bits)? as usize;
                if d >= 30 {
                    return Err(format!("an invalid distance symbol {d}"));
                }
                let distance = DIST_BASE[d] as usize + bits.read(DIST_EXTRA[d] as u32)? as usize;
                if distance > out.len() {
                    return Err("a distance reaching before the start".into());
                }
                // Byte by byte: a copy may overlap the bytes it produces.
                let start = out.len() - distance;
                for k in 0..length {
                    out.push(out[start + k]);
                }
            }
        }
    }
}

/// Reads a PNG file as one image `[1, C, H, W]` in [-1, 1] (C = 1 for grey, 3 for colour).
pub fn read_png(path: &Path) -> Result<Tensor<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_png(&bytes).map_err(|found| Error::format(path, "a PNG image", found))
}

/// The image in PNG `bytes`; the error says what was wrong.
pub fn decode_png(bytes: &[u8]) -> std::result::Result<Tensor<f32>, String> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err("no PNG signature".into());
    }
    let (mut header, mut palette, mut idat) = (None, Vec::new(), Vec::new());
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = &bytes[at + 4..at + 8];
        let body = bytes
            .get(at + 8..at + 8 + len)
            .ok_or("a chunk longer than the file")?;
        match kind {
            b"IHDR" if len == 13 => header = Some(body.to_vec()),
            b"PLTE" => palette = body.to_vec(),
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let h = header.ok_or("no IHDR chunk")?;
    let width = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
    let height = u32::from_be_bytes(h[4..8].try_into().expect("4 bytes")) as usize;
    let (depth, colour, interlace) = (h[8] as usize, h[9], h[12]);
    if interlace != 0 {
        return Err("an interlaced PNG (save it without interlacing)".into());
    }
    let samples = match colour {
        0 => 1,
        2 => 3,
        3 => 1,
        4 => 2,
        6 => 4,
        _ => return Err(format!("colour type {colour}")),
    };
    if width == 0 || height == 0 || !matches!(depth, 1 | 2 | 4 | 8 | 16) {
        return Err(format!("{width} x {height} pixels of bit depth {depth}"));
    }
    if idat.len() < 2 {
        return Err("no image data".into());
    }
    let raw = inflate(&idat[2..])?;
    let bits_per_pixel = samples * depth;
    let stride = (width * bits_per_pixel).div_ceil(8);
    if raw.len() < height * (stride + 1) {
        return Err(format!(
            "{} bytes of pixel data for {height} rows of {stride} bytes",
            raw.len()
        ));
    }
    let rows = unfilter(&raw, height, stride, bits_per_pixel.div_ceil(8))?;
    // Sample s of pixel x of a row, scaled to 0..=255.
    let sample = |row: &[u8], x: usize, s: usize| -> u8 {
        match depth {
            8 => row[x * samples + s],
            16 => row[(x * samples + s) * 2],
            _ => {
                let bit = (x * samples + s) * depth;
                let v = (row[bit / 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1) as u8;
                if colour == 3 {
                    v
                } else {
                    (v as usize * 255 / ((1 << depth) - 1)) as u8
                }
            }
        }
    };
    let channels = if matches!(colour, 0 | 4) { 1 } else { 3 };
    let mut data = vec![0.0f32; channels * height * width];
    for y in 0..height {
        let row = &rows[y * stride..(y + 1) * stride];
        for x in 0..width {
            for c in 0..channels {
                let byte = if colour == 3 {
                    let i = sample(row, x, 0) as usize * 3 + c;
                    *palette.get(i).ok_or("a palette index beyond the palette")?
                } else {
                    sample(row, x, c)
                };
                data[(c * height + y) * width + x] = byte as f32 / 127.5 - 1.0;
            }
        }
    }
    Ok(Tensor::from_vec(&[1, channels, height, width], data).expect("whole image"))
}

/// Undoes PNG's per-row prediction; `bpp` is the bytes per pixel (at least 1).
fn unfilter(
    raw: &[u8],
    height: usize,
    stride: usize,
    bpp: usize,
) -> std::result::Result<Vec<u8>, String> {
    let mut out = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= bpp {
                out[y * stride + x - bpp]
            } else {
                0
            };
            let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 };
            let c = if x >= bpp && y > 0 {
                out[(y - 1) * stride + x - bpp]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((a as u16 + b as u16) / 2) as u8,
                4 => paeth(a, b, c),
                _ => return Err(format!("row {y} has the unknown filter {filter}")),
            };
            out[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    Ok(out)
}

/// The neighbour (left a, up b, up-left c) closest to a + b - c.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let (pa, pb, pc) = (
        (p - a as i16).abs(),
        (p - b as i16).abs(),
        (p - c as i16).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}
