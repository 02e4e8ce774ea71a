//! Chapter 11 "Your own data": the loaders for users' image files. Proves that:
//! - .npy images load in every dtype (uint8, float32, float64, int64), layout (NHW, NHWC, NCHW),
//!   byte order and format version (1, 2, 3) to the same [N, C, H, W] tensor in [-1, 1], with the
//!   documented pixel scaling and a note on what was assumed (ambiguous layouts included);
//! - Fortran order, out-of-range or non-finite pixels, odd shapes, and bad label files
//!   (wrong count, negative, too many classes, floats, wrong shape) are refused with messages
//!   naming the file, what was expected and what was found;
//! - IDX (MNIST-family) images and labels, and CIFAR-10 batches (one file or a directory of
//!   data_batch_*.bin) round-trip through small files written here; gzip files get the command
//!   that decompresses them; files are told apart by content, not by name;
//! - sizes the generator cannot build are refused with what works, and `resize_square` pads
//!   with -1 and resizes (identity at the same size);
//! - none of the readers panics on random bytes or on damaged valid files, and each reads back
//!   exactly what its writer wrote (proptest);
//! - `gan train --data FILE --labels FILE` trains end to end, and resumes.

use gan::data::files::{self, CifarBatch, IdxArray};
use gan::data::Dataset;
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::io::npy;
use gan::Tensor;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// A directory of its own for one test, removed when the test ends (even on failure).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gan-ch11-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `bytes` to the file `name` in the directory and returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(path: &Path, labels: Option<&Path>) -> files::LoadedData {
    files::load_images(path, labels).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_err(path: &Path, labels: Option<&Path>) -> String {
    match files::load_images(path, labels) {
        Ok(_) => panic!("{} loaded, but should have been refused", path.display()),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            text.contains(part),
            "expected {part:?} in the message: {text}"
        );
    }
}

/// Little-endian bytes of each value.
fn le<const K: usize, T: Copy>(values: &[T], to: impl Fn(T) -> [u8; K]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

/// Pixels 0..=255 of two 3-channel 4 x 5 images, in NCHW order, as bytes.
fn pixels_nchw() -> Vec<u8> {
    (0..2 * 3 * 4 * 5).map(|i| (i * 37 % 256) as u8).collect()
}

/// NCHW bytes reordered to NHWC.
fn to_nhwc(x: &[u8], n: usize, c: usize, h: usize, w: usize) -> Vec<u8> {
    let mut out = vec![0; x.len()];
    for i in 0..n {
        for ch in 0..c {
            for p in 0..h * w {
                out[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
            }
        }
    }
    out
}

/// A byte as a pixel in [-1, 1]: x / 127.5 - 1, computed in f64 and rounded once.
fn pixel(b: u8) -> f32 {
    (b as f64 / 127.5 - 1.0) as f32
}

fn expected_images(bytes: &[u8], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(shape, bytes.iter().map(|&b| pixel(b)).collect()).unwrap()
}

// ---- .npy images ---------------------------------------------------------------------------------

#[test]
fn npy_every_dtype_layout_byte_order_and_version_gives_the_same_images() {
    let dir = TempDir::new("npy-all");
    let (n, c, h, w) = (2, 3, 4, 5);
    let nchw = pixels_nchw();
    let nhwc = to_nhwc(&nchw, n, c, h, w);
    let want = expected_images(&nchw, &[n, c, h, w]);
    let layouts: [(&str, Vec<usize>, &[u8]); 2] = [
        ("NCHW", vec![n, c, h, w], &nchw),
        ("NHWC", vec![n, h, w, c], &nhwc),
    ];
    let mut files_read = 0;
    for (layout, shape, values) in &layouts {
        // (descr, data bytes): the same pixels in each dtype and byte order.
        let as_f64: Vec<f64> = values.iter().map(|&b| b as f64).collect();
        let as_unit: Vec<f64> = values.iter().map(|&b| b as f64 / 255.0).collect();
        let as_signed: Vec<f64> = values.iter().map(|&b| b as f64 / 127.5 - 1.0).collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("|u1", values.to_vec()),
            ("<f4", le(&as_unit, |v| (v as f32).to_le_bytes())),
            (">f4", le(&as_f64, |v| (v as f32).to_be_bytes())),
            ("<f8", le(&as_signed, f64::to_le_bytes)),
            (">f8", le(&as_unit, f64::to_be_bytes)),
            ("<i8", le(&as_f64, |v| (v as i64).to_le_bytes())),
            (">i8", le(&as_f64, |v| (v as i64).to_be_bytes())),
            ("<i2", le(&as_f64, |v| (v as i16).to_le_bytes())),
        ];
        for (descr, data) in cases {
            for version in 1..=3 {
                let bytes = npy::encode_raw(version, descr, shape, false, &data);
                let path = dir.file(&format!("x{version}.npy"), &bytes);
                let loaded = load(&path, None);
                let got = &loaded.dataset.images;
                assert_eq!(got.shape(), want.shape(), "{layout} {descr} v{version}");
                let err = got.max_abs_diff(&want);
                assert!(err < 1e-6, "{layout} {descr} v{version}: off by {err}");
                assert!(
                    loaded.notes.iter().any(|s| s.contains(layout)),
                    "{layout} {descr}: {:?}",
                    loaded.notes
                );
                assert_eq!(loaded.dataset.classes, 0);
                assert_eq!(loaded.dataset.labels, vec![0, 0]);
                files_read += 1;
            }
        }
    }
    assert_eq!(files_read, 2 * 8 * 3);
}

#[test]
fn npy_three_dimensional_images_have_one_channel_and_scaling_is_documented() {
    let dir = TempDir::new("npy-nhw");
    let bytes: Vec<u8> = vec![0, 255, 51, 204, 127, 128, 1, 2];
    let loaded = load(
        &dir.file("g.npy", &npy::encode_u8(&[2, 2, 2], &bytes)),
        None,
    );
    assert_eq!(loaded.dataset.images.shape(), &[2, 1, 2, 2]);
    let px = loaded.dataset.images.as_slice();
    assert_eq!((px[0], px[1]), (-1.0, 1.0), "0 -> -1 and 255 -> 1 exactly");
    assert_contains(
        &loaded.notes.join("\n"),
        &["[N, H, W]", "x / 127.5 - 1", "no labels given"],
    );

    // Floats: [0, 1] -> 2x - 1; within [-1, 1] kept; within [0, 255] like bytes.
    for (values, want, how) in [
        (
            vec![0.0, 0.5, 1.0, 0.25],
            vec![-1.0, 0.0, 1.0, -0.5],
            "2x - 1",
        ),
        (
            vec![-1.0, 0.5, 1.0, -0.25],
            vec![-1.0, 0.5, 1.0, -0.25],
            "kept",
        ),
        (
            vec![0.0, 255.0, 127.5, 25.5],
            vec![-1.0, 1.0, 0.0, -0.8],
            "x / 127.5 - 1",
        ),
    ] {
        let path = dir.file("f.npy", &npy::encode_f64(&[1, 2, 2], &values));
        let loaded = load(&path, None);
        let got: Vec<f64> = loaded
            .dataset
            .images
            .as_slice()
            .iter()
            .map(|&x| x as f64)
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{values:?}: {got:?} vs {want:?}");
        }
        assert_contains(&loaded.notes.join("\n"), &[how]);
    }
}

#[test]
fn npy_ambiguous_layouts_follow_the_documented_rule_and_say_so() {
    let dir = TempDir::new("npy-ambiguous");
    // (shape, resulting [N, C, H, W], assumed layout)
    for (shape, want, layout) in [
        ([2, 3, 3, 3], [2, 3, 3, 3], "NCHW"),   // both square: NCHW
        ([2, 3, 3, 1], [2, 1, 3, 3], "NHWC"),   // only NHWC gives square images
        ([2, 1, 28, 1], [2, 1, 28, 1], "NCHW"), // neither square: NCHW
        ([2, 1, 1, 3], [2, 3, 1, 1], "NHWC"),   // NHWC gives 1 x 1 images, NCHW 1 x 3
    ] {
        let count: usize = shape.iter().product();
        let path = dir.file("a.npy", &npy::encode_u8(&shape, &vec![7; count]));
        let loaded = load(&path, None);
        assert_eq!(loaded.dataset.images.shape(), &want, "{shape:?}");
        assert_contains(
            &loaded.notes[0],
            &["ambiguous", &format!("assumed {layout}")],
        );
    }
    // Not ambiguous: one candidate for channels.
    let path = dir.file("b.npy", &npy::encode_u8(&[2, 8, 8, 3], &[0; 384]));
    let loaded = load(&path, None);
    assert_eq!(loaded.dataset.images.shape(), &[2, 3, 8, 8]);
    assert_contains(&loaded.notes[0], &["NHWC"]);
    assert!(!loaded.notes[0].contains("ambiguous"));
}

#[test]
fn npy_bad_images_are_refused_with_file_expected_and_found() {
    let dir = TempDir::new("npy-bad");
    let fortran = npy::encode_raw(1, "<f4", &[1, 2, 2], true, &[0; 16]);
    let err = load_err(&dir.file("fortran.npy", &fortran), None);
    assert_contains(
        &err,
        &[
            "fortran.npy",
            "C (row-major) order",
            "Fortran order",
            "ascontiguousarray",
        ],
    );

    let err = load_err(
        &dir.file(
            "range.npy",
            &npy::encode_f32(&[1, 2, 2], &[0.0, 300.0, 2.0, 1.0]),
        ),
        None,
    );
    assert_contains(
        &err,
        &[
            "range.npy",
            "within [0, 1], [-1, 1] or [0, 255]",
            "from 0 to 300",
        ],
    );
    let err = load_err(
        &dir.file(
            "neg.npy",
            &npy::encode_f32(&[1, 2, 2], &[-2.0, 0.0, 0.5, 1.0]),
        ),
        None,
    );
    assert_contains(&err, &["from -2 to 1"]);
    let err = load_err(
        &dir.file(
            "nan.npy",
            &npy::encode_f32(&[1, 2, 2], &[0.0, f32::NAN, 0.5, 1.0]),
        ),
        None,
    );
    assert_contains(&err, &["finite pixel values", "NaN at index 1"]);
    let err = load_err(
        &dir.file("int.npy", &npy::encode_i64(&[1, 2, 2], &[0, 256, 3, -1])),
        None,
    );
    assert_contains(&err, &["integer pixels in [0, 255]", "from -1 to 256"]);

    for (shape, name) in [
        (vec![2, 5, 5, 5], "c5"),
        (vec![4, 4], "flat"),
        (vec![1, 2, 2, 4, 1], "five"),
    ] {
        let count: usize = shape.iter().product();
        let err = load_err(
            &dir.file(
                &format!("{name}.npy"),
                &npy::encode_u8(&shape, &vec![0; count]),
            ),
            None,
        );
        assert_contains(
            &err,
            &[
                name,
                "[N, H, W], [N, H, W, C] or [N, C, H, W] with C = 1 or 3",
                &format!("{shape:?}"),
            ],
        );
    }
    let err = load_err(
        &dir.file("empty.npy", &npy::encode_u8(&[0, 4, 4], &[])),
        None,
    );
    assert_contains(&err, &["at least one image", "[0, 4, 4]"]);
    let err = load_err(
        &dir.file(
            "str.npy",
            &npy::encode_raw(1, "<U3", &[1, 1, 1], false, &[0; 12]),
        ),
        None,
    );
    assert_contains(
        &err,
        &["uint8, an integer type, float32 or float64", "'<U3'"],
    );
}

/// A .npy file of version 1 with the given header text and data.
fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = npy::MAGIC.to_vec();
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn npy_odd_headers_are_refused_not_panicked_on() {
    let cases: [(Vec<u8>, &[&str]); 9] = [
        (npy::MAGIC[..4].to_vec(), &["the magic string", "4 bytes starting"]),
        (npy::MAGIC.to_vec(), &["a version and a header length", "only 6 bytes"]),
        (
            npy_with_header("{'descr': '\u{e9}4', 'fortran_order': False, 'shape': (1,), }", &[0; 4]),
            &["a byte order '<', '>' or '|'"],
        ),
        (
            npy_with_header("{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,), }", &[0; 4]),
            &["'fortran_order' True or False", "maybe"],
        ),
        (
            npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }", &[]),
            &["a 'shape' of whole numbers"],
        ),
        (
            npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &[0; 20]),
            &["24 bytes of data for shape [2, 3]", "20 bytes (the file is cut short or has extra bytes)"],
        ),
        (
            npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }", &[]),
            &["a shape of sensible size"],
        ),
        (
            {
                let mut b = npy::MAGIC.to_vec();
                b.extend_from_slice(&[2, 0, 1, 0, 0]);
                b
            },
            &["a 4-byte header length", "only 11 bytes"],
        ),
        (
            {
                let mut b = npy::MAGIC.to_vec();
                b.extend_from_slice(&[4, 0, 10, 0]);
                b
            },
            &["format version 1.0, 2.0 or 3.0", "version 4.0"],
        ),
    ];
    for (bytes, parts) in cases {
        let err = npy::decode(&bytes, Path::new("odd.npy"))
            .unwrap_err()
            .to_string();
        assert_contains(&err, &["odd.npy: expected a .npy file"]);
        assert_contains(&err, parts);
    }
}

// ---- labels --------------------------------------------------------------------------------------

#[test]
fn labels_load_in_any_integer_type_and_bad_ones_are_refused() {
    let dir = TempDir::new("labels");
    let images = dir.file("images.npy", &npy::encode_u8(&[4, 4, 4], &[9; 64]));
    for (name, bytes) in [
        ("i8.npy", npy::encode_i64(&[4], &[0, 2, 1, 2])),
        ("u1.npy", npy::encode_u8(&[4], &[0, 2, 1, 2])),
        (
            "i4.npy",
            npy::encode_raw(
                2,
                ">i4",
                &[4],
                false,
                &le(&[0i32, 2, 1, 2], i32::to_be_bytes),
            ),
        ),
        ("idx", files::encode_idx(&[4], &[0, 2, 1, 2])),
    ] {
        let labels = dir.file(name, &bytes);
        let loaded = load(&images, Some(&labels));
        assert_eq!(loaded.dataset.labels, vec![0, 2, 1, 2], "{name}");
        assert_eq!(loaded.dataset.classes, 3, "{name}");
        assert_eq!(loaded.dataset.class_names, vec!["0", "1", "2"]);
        assert_contains(&loaded.notes.join("\n"), &["3 classes"]);
    }
    let gap = dir.file("gap.npy", &npy::encode_i64(&[4], &[0, 3, 3, 0]));
    assert_contains(
        &load(&images, Some(&gap)).notes.join("\n"),
        &["no images of class(es) 1, 2"],
    );

    let bad: [(&str, Vec<u8>, &[&str]); 6] = [
        (
            "count.npy",
            npy::encode_i64(&[3], &[0, 1, 2]),
            &["4 labels, one per image", "found 3 labels"],
        ),
        (
            "negative.npy",
            npy::encode_i64(&[4], &[0, 1, -3, 2]),
            &["labels of 0 or more", "-3 at index 2"],
        ),
        (
            "many.npy",
            npy::encode_i64(&[4], &[0, 1, 5000, 2]),
            &["at most 1000 classes", "a label of 5000"],
        ),
        (
            "float.npy",
            npy::encode_f32(&[4], &[0.0, 1.0, 2.0, 3.0]),
            &["integer labels", "astype(np.int64)"],
        ),
        (
            "column.npy",
            npy::encode_i64(&[4, 1], &[0, 1, 2, 3]),
            &["shape [N]", "[4, 1]"],
        ),
        (
            "images.idx",
            files::encode_idx(&[4, 2, 2], &[0; 16]),
            &["IDX label file", "is this the images file?"],
        ),
    ];
    for (name, bytes, parts) in bad {
        let labels = dir.file(name, &bytes);
        let err = load_err(&images, Some(&labels));
        assert_contains(&err, parts);
        assert_contains(&err, &[name]);
    }
    let text = dir.file("labels.txt", b"0\n1\n2\n3\n");
    assert_contains(
        &load_err(&images, Some(&text)),
        &["a label file", "8 bytes starting"],
    );
}

#[test]
fn unlabelled_data_cannot_train_a_conditional_gan() {
    let set = Dataset {
        images: Tensor::zeros(&[8, 1, 8, 8]),
        labels: vec![0; 8],
        classes: 0,
        class_names: Vec::new(),
        name: "unlabelled".into(),
    };
    let config = TrainConfig {
        data: "unlabelled".into(),
        image_size: 8,
        batch: 4,
        conditional: true,
        ..TrainConfig::default()
    };
    let err = Trainer::<f32>::new(config, TrainingData::Images(set))
        .err()
        .unwrap()
        .to_string();
    assert_contains(
        &err,
        &["needs labelled images", "--labels FILE", "unconditionally"],
    );
}

// ---- IDX and CIFAR-10 ----------------------------------------------------------------------------

#[test]
fn idx_images_and_labels_round_trip() {
    let dir = TempDir::new("idx");
    let pixels: Vec<u8> = (0..3 * 4 * 6).map(|i| (i * 11 % 256) as u8).collect();
    // Names that say nothing: the content decides.
    let images = dir.file("a.bin", &files::encode_idx(&[3, 4, 6], &pixels));
    let labels = dir.file("b.bin", &files::encode_idx(&[3], &[7, 0, 7]));
    let loaded = load(&images, Some(&labels));
    let set = &loaded.dataset;
    assert_eq!(
        set.images
            .max_abs_diff(&expected_images(&pixels, &[3, 1, 4, 6])),
        0.0
    );
    assert_eq!((set.labels.clone(), set.classes), (vec![7, 0, 7], 8));
    assert_contains(&loaded.notes.join("\n"), &["IDX images: 3 of 4 x 6"]);

    let short = dir.file("short.bin", &files::encode_idx(&[2], &[1, 2]));
    assert_contains(
        &load_err(&images, Some(&short)),
        &["short.bin", "3 labels, one per image", "found 2 labels"],
    );
    // The labels given as the images.
    assert_contains(
        &load_err(&labels, None),
        &["IDX images", "give it as the labels"],
    );
    // Cut short, and with a byte too many.
    let full = files::encode_idx(&[3, 4, 6], &pixels);
    let err = load_err(&dir.file("cut.bin", &full[..full.len() - 5]), None);
    assert_contains(
        &err,
        &[
            "cut.bin",
            "72 bytes of values for sizes [3, 4, 6]",
            "67 (cut short)",
        ],
    );
    let mut long = full.clone();
    long.push(0);
    assert_contains(
        &load_err(&dir.file("long.bin", &long), None),
        &["73 (extra bytes at the end)"],
    );
    let mut float = full;
    float[2] = 0x0d;
    assert_contains(
        &load_err(&dir.file("float.bin", &float), None),
        &["type code 0x0d (float)"],
    );
}

#[test]
fn gzip_files_are_recognised_and_the_message_says_how_to_decompress() {
    let dir = TempDir::new("gzip");
    let gz = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3];
    let images = dir.file("train-images-idx3-ubyte.gz", &gz);
    assert_contains(
        &load_err(&images, None),
        &["gzip", "gunzip", "train-images-idx3-ubyte.gz"],
    );
    let good = dir.file("i.npy", &npy::encode_u8(&[1, 4, 4], &[0; 16]));
    let err = load_err(&good, Some(&images));
    assert_contains(&err, &["gunzip"]);
}

/// Three CIFAR-10 records: image i has R = 10 i, G = 10 i + 1, B = 10 i + 2 everywhere.
fn cifar_batch(first_label: u8, count: usize) -> CifarBatch {
    let mut batch = CifarBatch {
        labels: Vec::new(),
        pixels: Vec::new(),
    };
    for i in 0..count {
        batch.labels.push((first_label + i as u8) % 10);
        for ch in 0..3 {
            batch
                .pixels
                .extend(std::iter::repeat_n((10 * i + ch) as u8, 1024));
        }
    }
    batch
}

#[test]
fn cifar_file_and_directory() {
    let dir = TempDir::new("cifar");
    let path = dir.file("one", &files::encode_cifar(&cifar_batch(3, 3)));
    let loaded = load(&path, None);
    let set = &loaded.dataset;
    assert_eq!(set.images.shape(), &[3, 3, 32, 32]);
    assert_eq!((set.labels.clone(), set.classes), (vec![3, 4, 5], 10));
    assert_eq!(set.class_names[3], "cat");
    // The planes are R, G, B: image 2, channel 1 (green) is 21 everywhere.
    let green = &set.images.as_slice()[(2 * 3 + 1) * 1024..(2 * 3 + 2) * 1024];
    assert!(green.iter().all(|&x| x == pixel(21)));
    let labels = dir.file("labels.npy", &npy::encode_i64(&[3], &[0, 1, 2]));
    assert_contains(
        &load_err(&path, Some(&labels)),
        &["carry their own labels", "labels.npy"],
    );

    let batches = TempDir::new("cifar-dir");
    batches.file("data_batch_2.bin", &files::encode_cifar(&cifar_batch(5, 1)));
    batches.file("data_batch_1.bin", &files::encode_cifar(&cifar_batch(0, 2)));
    batches.file("test_batch.bin", &files::encode_cifar(&cifar_batch(9, 4)));
    batches.file("batches.meta.txt", b"airplane\n");
    let loaded = load(&batches.0, None);
    assert_eq!(
        loaded.dataset.labels,
        vec![0, 1, 5],
        "batch 1 then batch 2, no test batch"
    );
    assert_contains(
        &loaded.notes.join("\n"),
        &[
            "data_batch_1.bin, data_batch_2.bin",
            "test_batch.bin is not used",
        ],
    );

    let empty = TempDir::new("cifar-empty");
    empty.file("readme.txt", b"nothing here");
    assert_contains(
        &load_err(&empty.0, None),
        &[
            "data_batch_1.bin",
            "no data_batch_*.bin among [\"readme.txt\"]",
        ],
    );
    let bad = files::encode_cifar(&cifar_batch(0, 2));
    let err = files::decode_cifar(&bad[..5000], Path::new("cut.bin"))
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &[
            "cut.bin",
            "records of 3073 bytes",
            "5000 bytes = 3073 x 1 + 1927",
        ],
    );
    let err = files::decode_cifar(&[0; 3074 * 2], Path::new("c100.bin"))
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["CIFAR-100"]);
    let mut ten = bad.clone();
    ten[3073] = 10;
    assert_contains(
        &load_err(&dir.file("ten.bin", &ten), None),
        &["labels 0 to 9", "10 in record 1"],
    );
    let err = load_err(&dir.file("text.txt", b"hello, world"), None);
    assert_contains(
        &err,
        &[
            "text.txt",
            ".npy",
            "IDX",
            "CIFAR-10",
            "12 bytes (3073 x 0 + 12) starting",
        ],
    );
}

// ---- sizes ---------------------------------------------------------------------------------------

fn images_of(shape: &[usize], f: impl FnMut(usize) -> f32) -> Dataset {
    Dataset {
        images: Tensor::from_fn(shape, f),
        labels: vec![0; shape[0]],
        classes: 0,
        class_names: Vec::new(),
        name: "test".into(),
    }
}

#[test]
fn unbuildable_sizes_are_refused_and_resize_square_pads_and_resizes() {
    for (h, w, suggestion) in [(27, 27, 28), (28, 20, 28), (3, 3, 4), (31, 17, 32)] {
        let err = files::check_buildable(&images_of(&[1, 1, h, w], |_| 0.0))
            .unwrap_err()
            .to_string();
        assert_contains(
            &err,
            &[
                &format!("{h} x {w}"),
                "even side of at least 4",
                &format!("--resize {suggestion}"),
            ],
        );
    }
    for side in [4, 8, 28, 32] {
        assert!(files::check_buildable(&images_of(&[1, 3, side, side], |_| 0.0)).is_ok());
    }

    // The same size: unchanged, bit for bit.
    let set = images_of(&[2, 3, 8, 8], |i| ((i * 7919) % 200) as f32 / 100.0 - 1.0);
    let same = files::resize_square(&set, 8).unwrap();
    assert_eq!(same.images.max_abs_diff(&set.images), 0.0);
    // A constant image stays constant; the range is never left.
    let bigger = files::resize_square(&set, 28).unwrap();
    assert_eq!(bigger.images.shape(), &[2, 3, 28, 28]);
    assert!(bigger
        .images
        .as_slice()
        .iter()
        .all(|x| (-1.0..=1.0).contains(x)));
    let grey = files::resize_square(&images_of(&[1, 1, 6, 6], |_| 0.25), 16).unwrap();
    assert!(grey
        .images
        .as_slice()
        .iter()
        .all(|&x| (x - 0.25).abs() < 1e-6));
    // 2 x 4 of ones: padded to 4 x 4 with a row of -1 above and below.
    let wide = files::resize_square(&images_of(&[1, 1, 2, 4], |_| 1.0), 4).unwrap();
    let rows: Vec<Vec<f32>> = wide
        .images
        .as_slice()
        .chunks(4)
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(
        rows,
        vec![vec![-1.0; 4], vec![1.0; 4], vec![1.0; 4], vec![-1.0; 4]]
    );
    // Halving by 2 averages neighbouring pixels (the sample points fall between them).
    let ramp = images_of(&[1, 1, 8, 8], |i| (i % 8) as f32 / 8.0);
    let half = files::resize_square(&ramp, 4).unwrap();
    let first_row = &half.images.as_slice()[..4];
    for (k, &x) in first_row.iter().enumerate() {
        assert!(
            (x - (2 * k) as f32 / 8.0 - 1.0 / 16.0).abs() < 1e-6,
            "{first_row:?}"
        );
    }
    let err = files::resize_square(&set, 27).unwrap_err().to_string();
    assert_contains(&err, &["cannot build 27 x 27"]);
}

#[test]
fn load_at_size_resizes_only_when_the_size_differs() {
    let dir = TempDir::new("at-size");
    let path = dir.file("x.npy", &npy::encode_u8(&[2, 5, 7], &[255; 70]));
    let loaded = files::load_at_size(&path, None, 8).unwrap();
    assert_eq!(loaded.dataset.images.shape(), &[2, 1, 8, 8]);
    assert_contains(&loaded.notes.join("\n"), &["resized from 5 x 7 to 8 x 8"]);
    let square = dir.file("y.npy", &npy::encode_u8(&[2, 8, 8], &[255; 128]));
    let kept = files::load_at_size(&square, None, 8).unwrap();
    assert!(!kept.notes.join("\n").contains("resized"));
    assert!(kept.dataset.images.as_slice().iter().all(|&x| x == 1.0));
}

// ---- never panic, and round trips (proptest) -----------------------------------------------------

/// A valid file of each kind, for damaging.
fn valid_files() -> Vec<Vec<u8>> {
    vec![
        npy::encode_f32(&[2, 2, 3], &[0.5; 12]),
        npy::encode_raw(3, ">i8", &[3], false, &[0; 24]),
        npy::encode_u8(&[1, 2, 2, 3], &[1; 12]),
        files::encode_idx(&[2, 3, 3], &[5; 18]),
        files::encode_idx(&[2], &[1, 2]),
        files::encode_cifar(&cifar_batch(0, 1)),
    ]
}

/// Every reader on the same bytes: each must return, never panic.
fn read_all_ways(bytes: &[u8]) {
    let path = Path::new("fuzz.bin");
    if let Ok(array) = npy::decode(bytes, path) {
        let _ = files::npy_images(&array, path, &mut Vec::new());
    }
    let _ = files::decode_idx(bytes, path);
    let _ = files::decode_cifar(bytes, path);
}

/// Text a .npy header is made of, so random headers get past the magic and the first checks.
const HEADER_BYTES: &[u8] = b"{}'\"(),: <>|=fiubUTrueFalsdcrphon0123456789L\n\xc3\xa9";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        read_all_ways(&bytes);
    }

    #[test]
    fn readers_never_panic_on_random_headers(
        version in 0u8..5,
        header in prop::collection::vec(prop::sample::select(HEADER_BYTES.to_vec()), 0..90),
        data in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut bytes = npy::MAGIC.to_vec();
        bytes.extend_from_slice(&[version, 0]);
        if version == 1 {
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&data);
        read_all_ways(&bytes);
    }

    #[test]
    fn readers_never_panic_on_damaged_files(
        which in 0usize..6,
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = valid_files()[which].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        read_all_ways(&bytes);
        let keep = cut.index(bytes.len() + 1);
        read_all_ways(&bytes[..keep]);
    }

    #[test]
    fn npy_round_trips_any_version_byte_order_and_type(
        version in 1u8..=3,
        big in any::<bool>(),
        kind in 0usize..4,
        dims in prop::collection::vec(1usize..4, 1..4),
        seed in any::<u64>(),
    ) {
        let count: usize = dims.iter().product();
        let values: Vec<i64> = (0..count as u64).map(|i| ((seed ^ (i * 0x9E37_79B9)) % 251) as i64).collect();
        let (code, size) = [("u1", 1), ("i2", 2), ("f4", 4), ("f8", 8)][kind];
        let data: Vec<u8> = values.iter().flat_map(|&v| {
            let bytes: Vec<u8> = match (kind, big) {
                (0, _) => vec![v as u8],
                (1, false) => (v as i16).to_le_bytes().to_vec(),
                (1, true) => (v as i16).to_be_bytes().to_vec(),
                (2, false) => (v as f32).to_le_bytes().to_vec(),
                (2, true) => (v as f32).to_be_bytes().to_vec(),
                (_, false) => (v as f64).to_le_bytes().to_vec(),
                (_, true) => (v as f64).to_be_bytes().to_vec(),
            };
            bytes
        }).collect();
        prop_assert_eq!(data.len(), count * size);
        let order = if kind == 0 { "|" } else if big { ">" } else { "<" };
        let bytes = npy::encode_raw(version, &format!("{order}{code}"), &dims, false, &data);
        prop_assert_eq!((bytes.len() - data.len()) % 64, 0, "the data starts 64-byte aligned");
        let array = npy::decode(&bytes, Path::new("r.npy")).unwrap();
        prop_assert_eq!(&array.shape, &dims);
        let back: Vec<i64> = match array.data {
            npy::NpyData::U8(v) => v.into_iter().map(i64::from).collect(),
            npy::NpyData::I64(v) => v,
            npy::NpyData::F64(v) => v.into_iter().map(|x| x as i64).collect(),
        };
        prop_assert_eq!(back, values);
    }

    #[test]
    fn idx_and_cifar_round_trip(
        dims in prop::collection::vec(1usize..6, 1..5),
        seed in any::<u8>(),
        records in 1usize..4,
    ) {
        let count: usize = dims.iter().product();
        let data: Vec<u8> = (0..count).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let bytes = files::encode_idx(&dims, &data);
        prop_assert_eq!(files::decode_idx(&bytes, Path::new("r.idx")).unwrap(), IdxArray { dims, data });

        let batch = cifar_batch(seed % 10, records);
        let bytes = files::encode_cifar(&batch);
        prop_assert_eq!(bytes.len(), records * files::CIFAR_RECORD);
        prop_assert_eq!(files::decode_cifar(&bytes, Path::new("r.bin")).unwrap(), batch);
    }
}

// ---- the command line ----------------------------------------------------------------------------

fn gan(args: &[&str]) -> gan::Result<()> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    gan::commands::run(&args)
}

#[test]
fn gan_train_on_files_runs_end_to_end_and_resumes() {
    let dir = TempDir::new("cli");
    let pixels: Vec<u8> = (0..16 * 8 * 8).map(|i| (i * 13 % 256) as u8).collect();
    let labels: Vec<i64> = (0..16).map(|i| i % 3).collect();
    let images = dir.file("images.npy", &npy::encode_u8(&[16, 8, 8], &pixels));
    let label_file = dir.file("labels.npy", &npy::encode_i64(&[16], &labels));
    let out = dir.0.join("run");
    let (images_s, labels_s, out_s) = (
        images.to_str().unwrap(),
        label_file.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let tiny = [
        "--batch",
        "4",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--quiet",
        "--sample-every",
        "0",
        "--save-every",
        "0",
    ];
    let mut args = vec![
        "train", "--data", images_s, "--labels", labels_s, "--steps", "2", "--out", out_s,
    ];
    args.extend(tiny);
    gan(&args).unwrap();
    assert!(out.join("checkpoint.safetensors").exists());
    assert!(out.join("samples.png").exists());
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert_contains(
        &config,
        &["labels.npy", "\"conditional\": true", "\"image_size\": 8"],
    );
    // The resumed run reads the same files again, from the configuration.
    gan(&["train", "--resume", out_s, "--steps", "3", "--quiet"]).unwrap();
    let log = std::fs::read_to_string(out.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 1 + 3, "{log}");

    // 7 x 5 images: refused unless resized.
    let odd = dir.file("odd.npy", &npy::encode_u8(&[8, 7, 5], &[128; 280]));
    let odd_s = odd.to_str().unwrap();
    let mut args = vec!["train", "--data", odd_s, "--steps", "1", "--out", out_s];
    args.extend(tiny);
    let err = gan(&args).unwrap_err().to_string();
    assert_contains(&err, &["7 x 5", "--resize 8"]);
    args.extend(["--resize", "8"]);
    gan(&args).unwrap();
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert_contains(&config, &["\"conditional\": false", "\"labels\": null"]);
}

#[test]
fn gan_train_refuses_what_it_cannot_use() {
    let dir = TempDir::new("cli-bad");
    let images = dir.file("images.npy", &npy::encode_u8(&[8, 8, 8], &[0; 512]));
    let images_s = images.to_str().unwrap();
    let labels = dir.file("labels.npy", &npy::encode_i64(&[8], &[0; 8]));
    let labels_s = labels.to_str().unwrap();
    // (arguments, exit code, parts of the message)
    let cases: [(Vec<&str>, i32, &[&str]); 6] = [
        (
            vec!["--data", "no/such/file.npy"],
            2,
            &[
                "neither a built-in data set (digits, shapes, ring)",
                "no/such/file.npy",
            ],
        ),
        (
            vec!["--data", "digits", "--labels", labels_s],
            2,
            &["apply to image files", "'digits'"],
        ),
        (
            vec!["--data", images_s, "--conditional"],
            2,
            &["--conditional needs labelled images", "--labels FILE"],
        ),
        (
            vec!["--data", images_s, "--image-size", "16"],
            2,
            &["--image-size 16", "8 x 8", "--resize N"],
        ),
        (
            vec!["--data", images_s, "--resize", "9"],
            2,
            &["--resize 9", "cannot build 9 x 9"],
        ),
        (
            vec!["--data", images_s, "--labels", images_s],
            1,
            &["images.npy", "shape [N]", "[8, 8, 8]"],
        ),
    ];
    for (extra, code, parts) in cases {
        let mut args = vec!["train", "--quiet", "--steps", "1"];
        args.extend(extra.iter().copied());
        let err = gan(&args).unwrap_err();
        assert_contains(&err.to_string(), parts);
        assert_eq!(err.exit_code(), code, "{err}");
    }
}
