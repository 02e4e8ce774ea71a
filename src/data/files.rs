//! Chapter 11. Your own images: the files they usually come in, read into a [`Dataset`].
//!
//! [`load_images`] recognises a file by its CONTENT, never by its name:
//!
//! ```text
//!   \x93NUMPY ...          NumPy .npy (versions 1-3): images [N, H, W], [N, H, W, C] or
//!                          [N, C, H, W] with C = 1 or 3, as uint8, float32/64 or int64
//!   00 00 08 03 ...        IDX images (MNIST, Fashion-MNIST, KMNIST, EMNIST): [N, rows, cols]
//!                          bytes, sizes as big-endian u32 after the 4-byte magic
//!   (no header)            CIFAR-10 binary batches: records of 1 label byte and 3 x 1024
//!                          pixel bytes (the R plane, then G, then B; each 32 x 32 row-major)
//!   a directory            holding CIFAR-10's data_batch_*.bin files
//!   1f 8b ...              gzip: refused, with the command that decompresses it
//! ```
//!
//! Labels come from the CIFAR records themselves, or from a second file: a .npy of integers of
//! shape [N], or an IDX label file (00 00 08 01, [N] bytes). Without labels the data set has
//! `classes = 0` (every label 0): it can train an unconditional GAN only.
//!
//! Pixels end in [-1, 1], the range of G's tanh output. Bytes (and whole numbers in 0..=255)
//! map by `x / 127.5 - 1`. Floating-point images are judged by their range: within [0, 1] they
//! map by `2x - 1`; otherwise within [-1, 1] they are kept; otherwise within [0, 255] they map
//! like bytes; anything else is refused with the range found.
//!
//! A 4-D .npy has its channels second (NCHW, PyTorch's layout) or last (NHWC, NumPy's and
//! TensorFlow's): whichever of the two dimensions is 1 or 3. When both are, the layout that
//! gives square images is assumed; when both or neither do, NCHW. A note says what was assumed.
//!
//! EMNIST's IDX files store each image transposed (column by column): they load like any other
//! IDX file and train fine, but the samples come out mirrored along the diagonal. Transposing
//! them back is up to you; this reader does not guess which IDX files are EMNIST.
//!
//! Every reader returns an error naming the file, what was expected and what was found, for any
//! bytes whatever; none of them panics (the tests feed them random and damaged files).

use super::Dataset;
use crate::error::{Error, Result};
use crate::io::npy::{self, NpyArray, NpyData};
use crate::models::upsampling_plan;
use crate::tensor::Tensor;
use std::path::Path;

/// More classes than this is taken to be a mistake (e.g. pixel values given as labels).
pub const MAX_CLASSES: usize = 1000;
/// One CIFAR-10 record: a label byte and a 3 x 32 x 32 image.
pub const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;
/// CIFAR-10's class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// A data set read from files, with what the reader noticed or assumed, for the user to read.
#[derive(Clone, Debug)]
pub struct LoadedData {
    pub dataset: Dataset,
    pub notes: Vec<String>,
}

/// Reads the images at `path` (a .npy, IDX or CIFAR-10 file, or a directory of CIFAR-10
/// batches), and their labels from `labels` if given. See the module comment for the formats.
pub fn load_images(path: &Path, labels: Option<&Path>) -> Result<LoadedData> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut notes = Vec::new();
    let (images, cifar_labels) = if path.is_dir() {
        let (images, labels) = read_cifar_dir(path, &mut notes)?;
        (images, Some(labels))
    } else {
        read_image_file(path, &mut notes)?
    };
    let n = images.shape()[0];
    let (labels, classes, class_names) = match (cifar_labels, labels) {
        (Some(_), Some(extra)) => {
            return Err(Error::usage(format!(
                "{}: CIFAR-10 batches carry their own labels, so the label file {} is not used; \
                 leave it out",
                path.display(),
                extra.display()
            )))
        }
        (Some(bytes), None) => {
            let labels: Vec<usize> = bytes.iter().map(|&b| b as usize).collect();
            let names = CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
            (labels, CIFAR10_CLASSES.len(), names)
        }
        (None, Some(file)) => {
            let (labels, classes) = read_labels(file, n)?;
            notes.push(format!(
                "labels from {}: {classes} classes (0 to {})",
                file.display(),
                classes - 1
            ));
            let names = (0..classes).map(|k| k.to_string()).collect();
            (labels, classes, names)
        }
        (None, None) => {
            notes.push("no labels given: unconditional training only".into());
            (vec![0; n], 0, Vec::new())
        }
    };
    let mut counts = vec![0usize; classes];
    for &l in labels.iter().filter(|&&l| l < classes) {
        counts[l] += 1;
    }
    let empty: Vec<String> = (0..classes)
        .filter(|&k| counts[k] == 0)
        .map(|k| k.to_string())
        .collect();
    if !empty.is_empty() {
        notes.push(format!(
            "no images of class(es) {}: a conditional G will never see them",
            empty.join(", ")
        ));
    }
    Ok(LoadedData {
        dataset: Dataset {
            images,
            labels,
            classes,
            class_names,
            name,
        },
        notes,
    })
}

/// [`load_images`], then, if the images are not `size x size`, [`resize_square`] to that size.
pub fn load_at_size(path: &Path, labels: Option<&Path>, size: usize) -> Result<LoadedData> {
    let mut loaded = load_images(path, labels)?;
    let (_, h, w) = loaded.dataset.image_shape();
    if (h, w) != (size, size) {
        loaded.dataset = resize_square(&loaded.dataset, size)?;
        loaded.notes.push(format!(
            "resized from {h} x {w} to {size} x {size} (padded to a square with -1, then bilinear)"
        ));
    }
    Ok(loaded)
}

/// The images of one file, picked by its first bytes, and the labels if the file holds them.
fn read_image_file(path: &Path, notes: &mut Vec<String>) -> Result<(Tensor<f32>, Option<Vec<u8>>)> {
    let bytes = read(path)?;
    let cifar_sized = !bytes.is_empty() && bytes.len().is_multiple_of(CIFAR_RECORD);
    if bytes.starts_with(npy::MAGIC) {
        let array = npy::decode(&bytes, path)?;
        return Ok((npy_images(&array, path, notes)?, None));
    }
    if is_gzip(&bytes) {
        return Err(gzip_error(path));
    }
    // A CIFAR record starts with a label and pixels, which could by chance read 00 00 08 03:
    // a file that is not a valid IDX file but has the size of CIFAR records is read as CIFAR.
    if looks_like_idx(&bytes) {
        match decode_idx(&bytes, path) {
            Ok(array) => return Ok((idx_images(&array, path, notes)?, None)),
            Err(e) if !cifar_sized => return Err(e),
            Err(_) => {}
        }
    }
    if cifar_sized {
        let batch = decode_cifar(&bytes, path)?;
        notes.push(format!(
            "CIFAR-10 binary batch of {} images",
            batch.labels.len()
        ));
        return Ok((cifar_images(&batch), Some(batch.labels)));
    }
    Err(Error::format(
        path,
        "an image file: .npy (starting \\x93NUMPY), IDX (starting 00 00 08 03) or CIFAR-10 \
         binary (a whole number of 3073-byte records)",
        format!(
            "{} bytes (3073 x {} + {}) starting {:02x?}: none of these",
            bytes.len(),
            bytes.len() / CIFAR_RECORD,
            bytes.len() % CIFAR_RECORD,
            &bytes[..bytes.len().min(8)]
        ),
    ))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

fn gzip_error(path: &Path) -> Error {
    Error::format(
        path,
        "an uncompressed file",
        format!(
            "a gzip-compressed file; decompress it first: gunzip {} (the data sets' .gz \
             downloads must be unpacked)",
            path.display()
        ),
    )
}

/// "1234 bytes starting [00, 01, ...]": what a file looks like, for messages.
fn describe_bytes(bytes: &[u8]) -> String {
    format!(
        "{} bytes starting {:02x?}",
        bytes.len(),
        &bytes[..bytes.len().min(8)]
    )
}

// ---- .npy images and labels ---------------------------------------------------------------------

/// The images of a decoded .npy array: `[N, C, H, W]` in [-1, 1]. Says in `notes` which layout
/// and which pixel scaling it assumed.
pub fn npy_images(array: &NpyArray, path: &Path, notes: &mut Vec<String>) -> Result<Tensor<f32>> {
    let s = &array.shape;
    let bad_shape = || {
        Error::format(
            path,
            "images of shape [N, H, W], [N, H, W, C] or [N, C, H, W] with C = 1 or 3",
            format!("shape {s:?}"),
        )
    };
    let is_channels = |c: usize| c == 1 || c == 3;
    // (n, c, h, w) and whether the channels come last.
    let (dims, channels_last) = match s[..] {
        [n, h, w] => {
            notes.push(format!("shape {s:?} read as [N, H, W]: one channel"));
            ((n, 1, h, w), false)
        }
        [n, a, b, c] if is_channels(a) && is_channels(c) => {
            let last = b == a && b != c;
            let layout = if last { "NHWC" } else { "NCHW" };
            notes.push(format!(
                "shape {s:?} is ambiguous: the second and the last dimension could both be \
                 channels; assumed {layout} (the rule: the layout that gives square images, \
                 else NCHW)"
            ));
            if last {
                ((n, c, a, b), true)
            } else {
                ((n, a, b, c), false)
            }
        }
        [n, c, h, w] if is_channels(c) => {
            notes.push(format!("shape {s:?} read as NCHW (channels second)"));
            ((n, c, h, w), false)
        }
        [n, h, w, c] if is_channels(c) => {
            notes.push(format!("shape {s:?} read as NHWC (channels last)"));
            ((n, c, h, w), true)
        }
        _ => return Err(bad_shape()),
    };
    let (n, c, h, w) = dims;
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::format(
            path,
            "at least one image of at least 1 x 1 pixels",
            format!("shape {s:?}"),
        ));
    }
    let (values, how) = pixel_values(&array.data, path)?;
    notes.push(how);
    // Reorder [N, H, W, C] -> [N, C, H, W] if needed.
    let data = if channels_last {
        let mut out = vec![0.0f32; values.len()];
        for (i, &v) in values.iter().enumerate() {
            let (rest, ch) = (i / c, i % c);
            let (image, pixel) = (rest / (h * w), rest % (h * w));
            out[(image * c + ch) * h * w + pixel] = v;
        }
        out
    } else {
        values
    };
    Tensor::from_vec(&[n, c, h, w], data)
}

/// A grey level in [0, 255] as a pixel in [-1, 1]: x / 127.5 - 1 (0 -> -1, 255 -> 1 exactly).
fn from_grey(x: f64) -> f32 {
    (x / 127.5 - 1.0) as f32
}

fn byte_to_pixel(b: u8) -> f32 {
    from_grey(b as f64)
}

/// The values of an array as pixels in [-1, 1], and a note on how they were scaled.
fn pixel_values(data: &NpyData, path: &Path) -> Result<(Vec<f32>, String)> {
    match data {
        NpyData::U8(v) => Ok((
            v.iter().map(|&b| byte_to_pixel(b)).collect(),
            "uint8 pixels scaled from [0, 255] to [-1, 1] by x / 127.5 - 1".into(),
        )),
        NpyData::I64(v) => {
            let (lo, hi) = (v.iter().min(), v.iter().max());
            match (lo, hi) {
                (Some(&lo), Some(&hi)) if lo >= 0 && hi <= 255 => Ok((
                    v.iter().map(|&x| from_grey(x as f64)).collect(),
                    "integer pixels scaled from [0, 255] to [-1, 1] by x / 127.5 - 1".into(),
                )),
                (Some(lo), Some(hi)) => Err(Error::format(
                    path,
                    "integer pixels in [0, 255]",
                    format!("values from {lo} to {hi}"),
                )),
                _ => Err(Error::format(path, "at least one pixel", "none")),
            }
        }
        NpyData::F64(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::format(
                    path,
                    "finite pixel values",
                    format!("{} at index {i}", v[i]),
                ));
            }
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let range = format!("(min {lo}, max {hi})");
            if lo >= 0.0 && hi <= 1.0 {
                Ok((
                    v.iter().map(|&x| (2.0 * x - 1.0) as f32).collect(),
                    format!("float pixels in [0, 1] {range} mapped to [-1, 1] by 2x - 1"),
                ))
            } else if lo >= -1.0 && hi <= 1.0 {
                Ok((
                    v.iter().map(|&x| x as f32).collect(),
                    format!("float pixels already in [-1, 1] {range}, kept as they are"),
                ))
            } else if lo >= 0.0 && hi <= 255.0 {
                Ok((
                    v.iter().map(|&x| from_grey(x)).collect(),
                    format!("float pixels in [0, 255] {range} scaled by x / 127.5 - 1"),
                ))
            } else {
                Err(Error::format(
                    path,
                    "float pixels within [0, 1], [-1, 1] or [0, 255]",
                    format!("values from {lo} to {hi}"),
                ))
            }
        }
    }
}

/// Reads a label file (.npy of integers, or IDX labels) for `n` images: `(labels, classes)`,
/// with `classes = max label + 1`.
pub fn read_labels(path: &Path, n: usize) -> Result<(Vec<usize>, usize)> {
    let bytes = read(path)?;
    let raw: Vec<i64> = if bytes.starts_with(npy::MAGIC) {
        let array = npy::decode(&bytes, path)?;
        if array.shape.len() != 1 {
            return Err(Error::format(
                path,
                "labels of shape [N] (one per image; flatten with labels.reshape(-1))",
                format!("shape {:?}", array.shape),
            ));
        }
        match array.data {
            NpyData::U8(v) => v.into_iter().map(i64::from).collect(),
            NpyData::I64(v) => v,
            NpyData::F64(_) => {
                return Err(Error::format(
                    path,
                    "integer labels (save them with labels.astype(np.int64))",
                    "floating-point values",
                ))
            }
        }
    } else if is_gzip(&bytes) {
        return Err(gzip_error(path));
    } else if looks_like_idx(&bytes) {
        let array = decode_idx(&bytes, path)?;
        if array.dims.len() != 1 {
            return Err(Error::format(
                path,
                "an IDX label file (magic 00 00 08 01: one byte per image)",
                format!(
                    "an IDX file of {} dimensions {:?} (is this the images file?)",
                    array.dims.len(),
                    array.dims
                ),
            ));
        }
        array.data.into_iter().map(i64::from).collect()
    } else {
        return Err(Error::format(
            path,
            "a label file: .npy of integers or IDX labels (starting 00 00 08 01)",
            describe_bytes(&bytes),
        ));
    };
    check_labels(&raw, n, path)
}

/// Labels checked against the image count, for negatives and for an absurd number of classes.
pub fn check_labels(raw: &[i64], n: usize, path: &Path) -> Result<(Vec<usize>, usize)> {
    if raw.len() != n {
        return Err(Error::format(
            path,
            format!("{n} labels, one per image (the images file holds {n})"),
            format!("{} labels", raw.len()),
        ));
    }
    if let Some(i) = raw.iter().position(|&l| l < 0) {
        return Err(Error::format(
            path,
            "labels of 0 or more",
            format!("{} at index {i}", raw[i]),
        ));
    }
    let max = raw.iter().copied().max().unwrap_or(0);
    if max >= MAX_CLASSES as i64 {
        return Err(Error::format(
            path,
            format!(
                "at most {MAX_CLASSES} classes (labels 0 to {})",
                MAX_CLASSES - 1
            ),
            format!("a label of {max} (are these really class labels?)"),
        ));
    }
    let classes = if raw.is_empty() { 0 } else { max as usize + 1 };
    Ok((raw.iter().map(|&l| l as usize).collect(), classes))
}

// ---- IDX (MNIST family) -------------------------------------------------------------------------

/// An IDX array of bytes: its dimensions and its values in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Starts with an IDX magic number: two zero bytes, a type code and 1 to 4 dimensions.
fn looks_like_idx(bytes: &[u8]) -> bool {
    matches!(bytes, [0, 0, 0x08..=0x0e, 1..=4, ..])
}

/// Parses an IDX file: magic `00 00 TYPE NDIM`, NDIM big-endian u32 sizes, then the values.
/// Only unsigned bytes (type 0x08), the type of every MNIST-family file, are read.
pub fn decode_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    let bad = |expected: &str, found: String| {
        Error::format(path, format!("an IDX file: {expected}"), found)
    };
    if is_gzip(bytes) {
        return Err(gzip_error(path));
    }
    let [0, 0, kind, ndim, ..] = *bytes else {
        return Err(bad("the magic 00 00 08 NDIM", describe_bytes(bytes)));
    };
    let type_name = match kind {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0b => "short",
        0x0c => "int",
        0x0d => "float",
        0x0e => "double",
        _ => "no valid type",
    };
    if kind != 0x08 {
        return Err(bad(
            "unsigned bytes (type code 0x08), as in the MNIST family",
            format!("type code 0x{kind:02x} ({type_name})"),
        ));
    }
    let ndim = ndim as usize;
    if !(1..=4).contains(&ndim) {
        return Err(bad("1 to 4 dimensions", format!("{ndim}")));
    }
    let start = 4 + 4 * ndim;
    if bytes.len() < start {
        return Err(bad(
            &format!("{ndim} sizes of 4 bytes after the magic"),
            format!("a file of {} bytes", bytes.len()),
        ));
    }
    let dims: Vec<usize> = bytes[4..start]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("sizes of sensible product", format!("{dims:?}")))?;
    let data = &bytes[start..];
    if data.len() != count {
        let why = if data.len() < count {
            "cut short"
        } else {
            "extra bytes at the end"
        };
        return Err(bad(
            &format!("{count} bytes of values for sizes {dims:?}"),
            format!("{} ({why})", data.len()),
        ));
    }
    Ok(IdxArray {
        dims,
        data: data.to_vec(),
    })
}

/// The bytes of an IDX file of unsigned bytes with the given dimensions (images: `[N, rows,
/// cols]`; labels: `[N]`).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert!(
        (1..=4).contains(&dims.len()) && dims.iter().product::<usize>() == data.len(),
        "encode_idx: {} values do not fill dimensions {dims:?}",
        data.len()
    );
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        let d = u32::try_from(d).expect("encode_idx: every size must fit in 32 bits");
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// IDX images `[N, rows, cols]` as `[N, 1, rows, cols]` in [-1, 1].
fn idx_images(array: &IdxArray, path: &Path, notes: &mut Vec<String>) -> Result<Tensor<f32>> {
    let [n, h, w] = array.dims[..] else {
        let hint = if array.dims.len() == 1 {
            " (an IDX label file: give it as the labels)"
        } else {
            ""
        };
        return Err(Error::format(
            path,
            "IDX images (magic 00 00 08 03: [N, rows, cols])",
            format!("{} dimensions {:?}{hint}", array.dims.len(), array.dims),
        ));
    };
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::format(
            path,
            "at least one image of at least 1 x 1 pixels",
            format!("sizes {:?}", array.dims),
        ));
    }
    notes.push(format!("IDX images: {n} of {h} x {w}, one channel"));
    let data = array.data.iter().map(|&b| byte_to_pixel(b)).collect();
    Tensor::from_vec(&[n, 1, h, w], data)
}

// ---- CIFAR-10 binary batches --------------------------------------------------------------------

/// Records of a CIFAR-10 binary batch: one label per image, and the images as bytes
/// `[N, 3, 32, 32]` (exactly the records' layout: R plane, G plane, B plane).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CifarBatch {
    pub labels: Vec<u8>,
    pub pixels: Vec<u8>,
}

/// Parses a CIFAR-10 binary batch (a whole number of 3073-byte records, labels 0 to 9).
pub fn decode_cifar(bytes: &[u8], path: &Path) -> Result<CifarBatch> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(CIFAR_RECORD) {
        let hint = if !bytes.is_empty() && bytes.len().is_multiple_of(CIFAR_RECORD + 1) {
            " (a whole number of 3074-byte records: CIFAR-100, whose two label bytes this reader \
             does not read)"
        } else {
            ""
        };
        return Err(Error::format(
            path,
            "CIFAR-10 binary records of 3073 bytes (1 label + 3 x 32 x 32 pixels)",
            format!(
                "{} bytes = 3073 x {} + {}{hint}",
                bytes.len(),
                bytes.len() / CIFAR_RECORD,
                bytes.len() % CIFAR_RECORD
            ),
        ));
    }
    let mut batch = CifarBatch {
        labels: Vec::with_capacity(bytes.len() / CIFAR_RECORD),
        pixels: Vec::with_capacity(bytes.len()),
    };
    for (i, record) in bytes.chunks_exact(CIFAR_RECORD).enumerate() {
        if record[0] as usize >= CIFAR10_CLASSES.len() {
            return Err(Error::format(
                path,
                "CIFAR-10 labels 0 to 9 (the first byte of each record)",
                format!("{} in record {i} (is this a CIFAR-10 batch?)", record[0]),
            ));
        }
        batch.labels.push(record[0]);
        batch.pixels.extend_from_slice(&record[1..]);
    }
    Ok(batch)
}

/// The bytes of a CIFAR-10 binary batch: `pixels` holds `[N, 3, 32, 32]` bytes.
pub fn encode_cifar(batch: &CifarBatch) -> Vec<u8> {
    let image = CIFAR_RECORD - 1;
    assert_eq!(
        batch.pixels.len(),
        batch.labels.len() * image,
        "encode_cifar: {} labels need {} pixel bytes",
        batch.labels.len(),
        batch.labels.len() * image
    );
    let mut out = Vec::with_capacity(batch.labels.len() * CIFAR_RECORD);
    for (label, pixels) in batch.labels.iter().zip(batch.pixels.chunks_exact(image)) {
        out.push(*label);
        out.extend_from_slice(pixels);
    }
    out
}

fn cifar_images(batch: &CifarBatch) -> Tensor<f32> {
    let data = batch.pixels.iter().map(|&b| byte_to_pixel(b)).collect();
    Tensor::from_vec(&[batch.labels.len(), 3, 32, 32], data).expect("whole records")
}

/// The training batches of a CIFAR-10 directory: every `data_batch_*.bin`, in name order
/// (data_batch_1 to data_batch_5). `test_batch.bin` is left out; load it as a file to use it.
fn read_cifar_dir(dir: &Path, notes: &mut Vec<String>) -> Result<(Tensor<f32>, Vec<u8>)> {
    let mut names = Vec::new();
    let mut others = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let name = entry
            .map_err(|e| Error::io(dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with("data_batch_") && name.ends_with(".bin") {
            names.push(name);
        } else {
            others.push(name);
        }
    }
    if names.is_empty() {
        others.sort();
        others.truncate(6);
        return Err(Error::format(
            dir,
            "a directory of CIFAR-10 batches (data_batch_1.bin ... data_batch_5.bin)",
            format!("no data_batch_*.bin among {others:?}"),
        ));
    }
    names.sort();
    let mut all = CifarBatch {
        labels: Vec::new(),
        pixels: Vec::new(),
    };
    for name in &names {
        let path = dir.join(name);
        let batch = decode_cifar(&read(&path)?, &path)?;
        all.labels.extend(batch.labels);
        all.pixels.extend(batch.pixels);
    }
    notes.push(format!(
        "CIFAR-10 directory: {} images from {} (test_batch.bin is not used; give it as the \
         file to train on it)",
        all.labels.len(),
        names.join(", ")
    ));
    Ok((cifar_images(&all), all.labels))
}

// ---- sizes the generator can build --------------------------------------------------------------

/// Refuses images the generator cannot build (it builds square images of an even side of at
/// least 4; see [`upsampling_plan`]), naming a size they could be resized to.
pub fn check_buildable(dataset: &Dataset) -> Result<()> {
    let (_, h, w) = dataset.image_shape();
    if h == w && upsampling_plan(h).is_ok() {
        return Ok(());
    }
    let side = h.max(w).max(4);
    let suggestion = side + side % 2;
    Err(Error::usage(format!(
        "{}: the images are {h} x {w}, but the generator builds only square images with an even \
         side of at least 4 (such as 8, 16, 28, 32 or 64); resize them, e.g. with --resize \
         {suggestion} (pads to a square with -1, then resizes bilinearly)",
        dataset.name
    )))
}

/// The images padded to a square with the background value -1 (centred), then resized to
/// `size x size` by bilinear interpolation with pixel centres at half-integers (PyTorch's
/// `interpolate(mode="bilinear", align_corners=False)`, without antialiasing: shrinking by more
/// than 2 skips pixels). At the same size the images come back unchanged. `size` must be one
/// the generator can build.
pub fn resize_square(dataset: &Dataset, size: usize) -> Result<Dataset> {
    upsampling_plan(size)?;
    let (c, h, w) = dataset.image_shape();
    let n = dataset.images.shape()[0];
    let side = h.max(w);
    if side == 0 {
        return Err(Error::shape_text(
            "resize_square: images",
            "[N, C, H, W] with H, W >= 1",
            format!("{:?}", dataset.images.shape()),
        ));
    }
    let (top, left) = ((side - h) / 2, (side - w) / 2);
    // Source coordinate of each output row/column: two neighbours and the weight of the second.
    let taps: Vec<(usize, usize, f32)> = (0..size)
        .map(|o| {
            let x =
                ((o as f64 + 0.5) * side as f64 / size as f64 - 0.5).clamp(0.0, (side - 1) as f64);
            let x0 = x.floor() as usize;
            (x0, (x0 + 1).min(side - 1), (x - x0 as f64) as f32)
        })
        .collect();
    let src = dataset.images.as_slice();
    let mut out = vec![0.0f32; n * c * size * size];
    for (plane, dst) in out.chunks_exact_mut(size * size).enumerate() {
        let img = &src[plane * h * w..(plane + 1) * h * w];
        // The padded square, read without building it.
        let at = |y: usize, x: usize| -> f32 {
            match (y.checked_sub(top), x.checked_sub(left)) {
                (Some(yy), Some(xx)) if yy < h && xx < w => img[yy * w + xx],
                _ => -1.0,
            }
        };
        for (oy, &(y0, y1, ty)) in taps.iter().enumerate() {
            for (ox, &(x0, x1, tx)) in taps.iter().enumerate() {
                let upper = at(y0, x0) + tx * (at(y0, x1) - at(y0, x0));
                let lower = at(y1, x0) + tx * (at(y1, x1) - at(y1, x0));
                dst[oy * size + ox] = upper + ty * (lower - upper);
            }
        }
    }
    Ok(Dataset {
        images: Tensor::from_vec(&[n, c, size, size], out)?,
        labels: dataset.labels.clone(),
        classes: dataset.classes,
        class_names: dataset.class_names.clone(),
        name: dataset.name.clone(),
    })
}
