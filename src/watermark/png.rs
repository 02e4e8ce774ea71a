//! Chapter 14. Reading a PNG back, so that `gan watermark verify` accepts a picture as people
//! share it. (The writer, `io/png.rs`, stores its pixels uncompressed; a PNG from anywhere else
//! is deflate-compressed, so this reader has the whole of inflate, RFC 1951.)
//!
//! ```text
//!   PNG    = signature, chunks (length, type, data, CRC); IHDR first, the pixels in IDAT(s)
//!   IDAT   = zlib: 2 header bytes, deflate blocks, Adler-32
//!   deflate block: stored (raw bytes), or Huffman codes for literals/lengths and distances,
//!                  fixed (the standard's table) or dynamic (code lengths sent first)
//!   pixels = one filter byte per row (none, sub, up, average, Paeth), then the filtered row
//! ```
//!
//! 8-bit grey, grey + alpha, RGB and RGBA images without interlacing are read; alpha is dropped.

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::path::Path;

pub const SIGNATURE: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// The pixels of a PNG: (width, height, colour channels without alpha, values in [-1, 1] as
/// [C, H, W]).
pub fn decode_png(bytes: &[u8], path: &Path) -> Result<(usize, usize, usize, Vec<f32>)> {
    let bad = |what: &str| Error::format(path, "an 8-bit, non-interlaced PNG", what.to_string());
    if !bytes.starts_with(SIGNATURE) {
        return Err(bad("no PNG signature"));
    }
    let (mut at, mut header, mut idat) = (8, None, Vec::new());
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = bytes
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| bad("a truncated chunk"))?;
        match kind {
            b"IHDR" if len == 13 => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let h = header.ok_or_else(|| bad("no IHDR chunk"))?;
    let width = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
    let height = u32::from_be_bytes(h[4..8].try_into().expect("4 bytes")) as usize;
    let (depth, colour, interlace) = (h[8], h[9], h[12]);
    let samples = match colour {
        0 => 1,
        4 => 2,
        2 => 3,
        6 => 4,
        _ => {
            return Err(bad(&format!(
                "colour type {colour} (palette images are not read)"
            )))
        }
    };
    if depth != 8 || interlace != 0 {
        return Err(bad(&format!("bit depth {depth}, interlace {interlace}")));
    }
    if idat.len() < 2 {
        return Err(bad("no image data"));
    }
    let raw = inflate(&idat[2..]).map_err(|e| bad(&format!("bad compressed data: {e}")))?;
    let stride = width * samples;
    if raw.len() < height * (stride + 1) {
        return Err(bad("less pixel data than the header promises"));
    }
    let pixels = unfilter(&raw, width, height, samples).map_err(|e| bad(&e))?;
    let channels = if samples >= 3 { 3 } else { 1 };
    let mut chw = vec![0.0f32; channels * width * height];
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                let byte = pixels[y * stride + x * samples + c];
                chw[(c * height + y) * width + x] = byte as f32 / 127.5 - 1.0;
            }
        }
    }
    Ok((width, height, channels, chw))
}

/// The images of a PNG for a decoder of side `size`: the whole picture if it is `size` x `size`,
/// else the cells of a grid as `image_grid` draws it (2-pixel borders), empty cells dropped.
pub fn read_png_images(bytes: &[u8], path: &Path, size: usize) -> Result<Tensor<f32>> {
    let (width, height, c, chw) = decode_png(bytes, path)?;
    if (width, height) == (size, size) {
        return Tensor::from_vec(&[1, c, size, size], chw);
    }
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

/// Undoes the per-row filters: each byte was stored as its difference from a prediction made
/// from the pixel to the left (a), above (b) and above-left (c).
fn unfilter(
    raw: &[u8],
    width: usize,
    height: usize,
    bpp: usize,
) -> std::result::Result<Vec<u8>, String> {
    let stride = width * bpp;
    let mut out = vec![0u8; stride * height];
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
                f => return Err(format!("unknown row filter {f}")),
            };
            out[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    Ok(out)
}

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

// ---- inflate (RFC 1951) ------------------------------------------------------------------------

struct Bits<'a> {
    data: &'a [u8],
    pos: usize, // in bits
}

impl Bits<'_> {
    fn bit(&mut self) -> std::result::Result<u32, String> {
        let byte = *self.data.get(self.pos / 8).ok_or("the data ends early")?;
        let b = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(b as u32)
    }

    /// `n` bits, least significant first.
    fn bits(&mut self, n: u32) -> std::result::Result<u32, String> {
        (0..n).try_fold(0, |v, i| Ok(v | (self.bit()? << i)))
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
        for (s, &l) in lengths.iter().enumerate() {
            if l > 0 {
                symbols[offsets[l as usize] as usize] = s as u16;
                offsets[l as usize] += 1;
            }
        }
        Huffman { counts, symbols }
    }

    /// Reads one symbol, bit by bit: canonical codes of one length are consecutive numbers.
    fn decode(&self, bits: &mut Bits) -> std::result::Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
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

/// The raw deflate stream `data` (after zlib's two header bytes) decompressed.
pub fn inflate(data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut bits = Bits { data, pos: 0 };
    let mut out = Vec::new();
    loop {
        let last = bits.bit()?;
        match bits.bits(2)? {
            0 => {
                bits.pos = bits.pos.div_ceil(8) * 8;
                let len = bits.bits(16)? as usize;
                bits.bits(16)?; // its one's complement
                let start = bits.pos / 8;
                let block = data
                    .get(start..start + len)
                    .ok_or("a stored block ends early")?;
                out.extend_from_slice(block);
                bits.pos += 8 * len;
            }
            1 => {
                let mut lengths = [8u8; 288];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                block(
                    &mut bits,
                    &mut out,
                    &Huffman::new(&lengths),
                    &Huffman::new(&[5; 30]),
                )?;
            }
            2 => {
                let (literals, distances) = dynamic_tables(&mut bits)?;
                block(&mut bits, &mut out, &literals, &distances)?;
            }
            _ => return Err("block type 3 does not exist".into()),
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

/// The code lengths of a dynamic block, themselves Huffman-coded.
fn dynamic_tables(bits: &mut Bits) -> std::result::Result<(Huffman, Huffman), String> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let n_literals = bits.bits(5)? as usize + 257;
    let n_distances = bits.bits(5)? as usize + 1;
    let n_code = bits.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in &ORDER[..n_code] {
        code_lengths[i] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(n_literals + n_distances);
    while lengths.len() < n_literals + n_distances {
        let (value, repeat) = match code.decode(bits)? {
            s @ 0..=15 => (s as u8, 1),
            16 => (
                *lengths.last().ok_or("a repeat with nothing before it")?,
                3 + bits.bits(2)?,
            ),
            17 => (0, 3 + bits.bits(3)?),
            _ => (0, 11 + bits.bits(7)?),
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

/// One Huffman-coded block: literals, and (length, distance) copies of earlier output.
fn block(
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
                    return Err("an invalid length code".into());
                }
                let len = LENGTH_BASE[i] as usize + bits.bits(LENGTH_EXTRA[i] as u32)? as usize;
                let d = distances.decode(bits)? as usize;
                if d >= 30 {
                    return Err("an invalid distance code".into());
                }
                let dist = DIST_BASE[d] as usize + bits.bits(DIST_EXTRA[d] as u32)? as usize;
                if dist > out.len() {
                    return Err("a copy from before the start".into());
                }
                for _ in 0..len {
                    out.push(out[out.len() - dist]);
                }
            }
        }
    }
}
