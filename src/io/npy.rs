//! Chapter 11. NumPy's `.npy` format, byte by byte:
//!
//! ```text
//!   \x93NUMPY            magic (6 bytes)
//!   major, minor         format version: 1.0 (2-byte header length), 2.0 or 3.0 (4-byte length)
//!   header length        little endian
//!   header               a Python dict literal, e.g.
//!                        {'descr': '<f4', 'fortran_order': False, 'shape': (64, 1, 28, 28), }
//!                        padded with spaces and a newline so that the data starts 64-byte aligned
//!   data                 the values in C (row-major) order, in the byte order of 'descr'
//! ```
//!
//! The reader accepts versions 1 to 3, little and big endian, and the element types images and
//! labels come in (u1, b1, i1-i8, u2-u8, f4, f8); it refuses Fortran order and everything malformed with a message that
//! names the file, what was expected and what was found. It never panics, whatever the bytes.

use crate::error::{Error, Result};
use std::path::Path;

/// An array read from a .npy file: its shape and its values (converted to f64 or kept as i64).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

/// The values of an array, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// Bytes (u1): pixels, typically.
    U8(Vec<u8>),
    /// Whole numbers (i1..i8, u2..u8), e.g. labels.
    I64(Vec<i64>),
    /// Floating point (f4, f8), widened to f64 exactly.
    F64(Vec<f64>),
}

impl NpyData {
    pub fn len(&self) -> usize {
        match self {
            NpyData::U8(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The NumPy type name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            NpyData::U8(_) => "uint8",
            NpyData::I64(_) => "integer",
            NpyData::F64(_) => "floating-point",
        }
    }
}

/// The first six bytes of every .npy file.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// The bytes of a .npy file (version 1.0) holding `values` of `shape` with type `descr`
/// ("<f4", "<i8", "|u1"), given as little-endian bytes.
fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    encode_raw(1, descr, shape, false, data)
}

/// The bytes of a .npy file of format `version` (1, 2 or 3) whose header says `descr`, `shape`
/// and `fortran_order`, followed by `data` exactly as given (so the caller chooses the byte
/// order, and may write a file this reader refuses: tests use it for Fortran order).
pub fn encode_raw(
    version: u8,
    descr: &str,
    shape: &[usize],
    fortran: bool,
    data: &[u8],
) -> Vec<u8> {
    assert!(
        (1..=3).contains(&version),
        "npy::encode_raw: version must be 1, 2 or 3, found {version}"
    );
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_text}, }}");
    // Version 1 stores the header length in 2 bytes, versions 2 and 3 in 4. Magic (6) +
    // version (2) + length + header + '\n' must be a multiple of 64.
    let prefix = if version == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(prefix + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A float32 array as .npy bytes.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    encode(
        "<f4",
        shape,
        &values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

/// A float64 array as .npy bytes.
pub fn encode_f64(shape: &[usize], values: &[f64]) -> Vec<u8> {
    encode(
        "<f8",
        shape,
        &values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

/// An int64 array as .npy bytes.
pub fn encode_i64(shape: &[usize], values: &[i64]) -> Vec<u8> {
    encode(
        "<i8",
        shape,
        &values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
}

/// A uint8 array as .npy bytes.
pub fn encode_u8(shape: &[usize], values: &[u8]) -> Vec<u8> {
    encode("|u1", shape, values)
}

/// Reads a .npy file.
pub fn load(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, path)
}

/// Parses the bytes of a .npy file; `path` is only used in messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<NpyArray> {
    let bad = |expected: &str, found: String| {
        Error::format(path, format!("a .npy file: {expected}"), found)
    };
    if !bytes.starts_with(MAGIC) {
        let found = if bytes.starts_with(&[0x1f, 0x8b]) {
            "a gzip file (decompress it first, e.g. with 'gunzip')".to_string()
        } else {
            format!(
                "{} bytes starting {:02x?}",
                bytes.len(),
                &bytes[..bytes.len().min(6)]
            )
        };
        return Err(bad("the magic string \\x93NUMPY", found));
    }
    if bytes.len() < 10 {
        return Err(bad(
            "a version and a header length after the magic string",
            format!("a file of only {} bytes", bytes.len()),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        2 | 3 => {
            return Err(bad(
                "a 4-byte header length after the version",
                format!("a file of only {} bytes", bytes.len()),
            ))
        }
        _ => {
            return Err(bad(
                "format version 1.0, 2.0 or 3.0",
                format!("version {major}.{minor}"),
            ))
        }
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            bad(
                "a header that fits in the file",
                format!(
                    "a header of {header_len} bytes in a file of {}",
                    bytes.len()
                ),
            )
        })?;
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| bad("a text header", "bytes that are not text".into()))?;
    let descr = dict_value(header, "descr")
        .ok_or_else(|| bad("a 'descr' entry in the header", header.trim().to_string()))?;
    let fortran = dict_value(header, "fortran_order")
        .ok_or_else(|| bad("a 'fortran_order' entry", header.trim().to_string()))?;
    match fortran {
        "False" => {}
        "True" => {
            return Err(bad(
                "C (row-major) order",
                "Fortran order; save it with np.save(path, np.ascontiguousarray(a))".into(),
            ))
        }
        other => {
            return Err(bad(
                "'fortran_order' True or False",
                format!("'fortran_order': {other}"),
            ))
        }
    }
    let shape = parse_shape(dict_value(header, "shape").unwrap_or(""))
        .ok_or_else(|| bad("a 'shape' of whole numbers", header.trim().to_string()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    // The byte-order character is ASCII in any valid file; `get` keeps odd text from panicking.
    let (order, kind) = match (descr.get(..1), descr.get(1..)) {
        (Some(order), Some(kind)) => (order, kind),
        _ => ("", descr),
    };
    let little = match order {
        "<" | "|" => true,
        ">" => false,
        _ => {
            return Err(bad(
                "a byte order '<', '>' or '|' in 'descr'",
                format!("'{descr}'"),
            ))
        }
    };
    let size: usize = match kind {
        "u1" | "i1" | "b1" => 1,
        "i2" | "u2" => 2,
        "f4" | "i4" | "u4" => 4,
        "f8" | "i8" | "u8" => 8,
        _ => {
            return Err(bad(
                "uint8, an integer type, float32 or float64",
                format!("dtype '{descr}'"),
            ))
        }
    };
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("a shape of sensible size", format!("{shape:?}")))?;
    let data = &bytes[data_start..];
    if count.checked_mul(size) != Some(data.len()) {
        return Err(bad(
            &format!(
                "{} bytes of data for shape {shape:?} of '{descr}'",
                count.saturating_mul(size)
            ),
            format!(
                "{} bytes (the file is cut short or has extra bytes)",
                data.len()
            ),
        ));
    }
    let word = |chunk: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        if little {
            b[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(b)
        } else {
            b[8 - chunk.len()..].copy_from_slice(chunk);
            u64::from_be_bytes(b)
        }
    };
    let words = data.chunks_exact(size).map(word);
    let data = match kind {
        "u1" | "b1" => NpyData::U8(data.to_vec()),
        "f4" => NpyData::F64(words.map(|w| f32::from_bits(w as u32) as f64).collect()),
        "f8" => NpyData::F64(words.map(f64::from_bits).collect()),
        signed if signed.starts_with('i') => {
            let shift = 64 - 8 * size as u32;
            NpyData::I64(words.map(|w| ((w << shift) as i64) >> shift).collect())
        }
        _ => NpyData::I64(words.map(|w| w as i64).collect()),
    };
    Ok(NpyArray { shape, data })
}

/// The text of `'key': value` in a header dict (value up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// "(64, 1, 28, 28)", "(10,)" or "()" -> the dimensions.
fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_alignment() {
        let bytes = encode_f32(&[2, 3], &[1.0, -2.5, 3.0, 0.0, 1e-3, 7.0]);
        assert_eq!((bytes.len() - 24) % 64, 0, "data starts 64-byte aligned");
        let a = decode(&bytes, Path::new("a.npy")).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(
            a.data,
            NpyData::F64(vec![1.0, -2.5, 3.0, 0.0, 1e-3f32 as f64, 7.0])
        );
        let l = decode(&encode_i64(&[3], &[5, -1, 9]), Path::new("l.npy")).unwrap();
        assert_eq!((l.shape, l.data), (vec![3], NpyData::I64(vec![5, -1, 9])));
    }

    #[test]
    fn big_endian_and_version_2() {
        // np.array([1.5, -2], dtype='>f8'), written as version 2.0 by hand.
        let header = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[2, 0]);
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&1.5f64.to_be_bytes());
        bytes.extend_from_slice(&(-2.0f64).to_be_bytes());
        let a = decode(&bytes, Path::new("b.npy")).unwrap();
        assert_eq!(a.data, NpyData::F64(vec![1.5, -2.0]));
        // A big-endian int16 -2.
        let header = "{'descr': '>i2', 'fortran_order': False, 'shape': (1,), }\n";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&(-2i16).to_be_bytes());
        assert_eq!(
            decode(&bytes, Path::new("c.npy")).unwrap().data,
            NpyData::I64(vec![-2])
        );
    }

    #[test]
    fn refusals_say_why() {
        let mut fortran = encode_f32(&[2, 2], &[0.0; 4]);
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        let err = decode(&fortran, Path::new("f.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Fortran order"), "{err}");
        let bytes = encode_f32(&[4], &[1.0; 4]);
        for cut in 0..bytes.len() {
            let err = decode(&bytes[..cut], Path::new("cut.npy"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("cut.npy: expected a .npy file"), "{err}");
        }
        let err = decode(
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 0],
            Path::new("x.npy.gz"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("gunzip"), "{err}");
    }
}
