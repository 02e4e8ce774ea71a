//! Chapter 14, forensics without a watermark. Proves that:
//! - the k-nearest-neighbour search (`forensics::nearest`) returns exactly what the brute-force
//!   reference returns (indices and distances, ties broken by the smaller index), for any k from
//!   1 to N, with duplicate points, and for 1 or 3 threads;
//! - the ROC area equals the Mann-Whitney count, ties counting one half, on hand-worked cases
//!   and on random scores, and the trapezoids under the ROC curve give the same number;
//! - the confusion matrix counts, and its SVG names every class;
//! - the detector and the attributor (the chapter 12 classifier with 2 or K classes) separate
//!   images that differ by construction, and bad input gets a clear error;
//! - the PNG reader decodes zlib's fixed- and dynamic-Huffman deflate streams and PNG's five row
//!   filters, and returns errors (never panics) on damaged files;
//! - the `gan detect`, `gan attribute` and `gan nearest` commands work end to end on a tiny run,
//!   on .npy and PNG input, and refuse images or generators of the wrong size with a clear error.
//!
//! The `exercise_*` tests check exercises 14.3 and 14.4 (see the end of the file).

use gan::forensics::confusion::ConfusionMatrix;
use gan::forensics::nearest::{nearest, nearest_reference, squared_distance};
use gan::forensics::roc::{accuracy_at, auc, auc_pairs, roc_curve};
use gan::parallel::with_threads;
use gan::Tensor;
use proptest::prelude::*;

// ---- nearest neighbours --------------------------------------------------------------------------

/// Points on a small integer grid, so that exact ties and duplicates are common.
fn grid_points(n: usize, dim: usize, seed: u64) -> Tensor<f32> {
    let mut rng = gan::rng::Rng::new(seed);
    Tensor::from_fn(&[n, dim], |_| rng.below(3) as f32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn nearest_matches_brute_force(n in 1usize..40, q in 1usize..9, dim in 1usize..7, k_pick in 0usize..1000, seed in 0u64..1000) {
        let reference = grid_points(n, dim, seed);
        let queries = grid_points(q, dim, seed + 1);
        // k from 1 to n, with k = 1 and k = n drawn often.
        let k = match k_pick % 4 { 0 => 1, 1 => n, _ => 1 + k_pick % n };
        let expected = nearest_reference(&reference, &queries, k).unwrap();
        for threads in [1, 3] {
            let found = with_threads(threads, || nearest(&reference, &queries, k).unwrap());
            prop_assert_eq!(&found, &expected, "n {} q {} dim {} k {} threads {}", n, q, dim, k, threads);
        }
        for answer in &expected {
            prop_assert_eq!(answer.indices.len(), k);
            // Nearest first; among equal distances, the smaller index first.
            for w in 0..k.saturating_sub(1) {
                let (a, b) = (answer.distances[w], answer.distances[w + 1]);
                prop_assert!(a < b || (a == b && answer.indices[w] < answer.indices[w + 1]));
            }
        }
    }
}

#[test]
fn nearest_of_duplicates_and_of_images() {
    // Three copies of one point: all at distance 0, in index order.
    let reference =
        Tensor::from_vec(&[5, 2], vec![1., 1., 0., 0., 1., 1., 5., 5., 1., 1.]).unwrap();
    let queries = Tensor::from_vec(&[1, 2], vec![1., 1.]).unwrap();
    let found = nearest(&reference, &queries, 4).unwrap();
    assert_eq!(found[0].indices, vec![0, 2, 4, 1]);
    assert_eq!(found[0].distances, vec![0.0, 0.0, 0.0, 2.0]);
    // Images [N, C, H, W] are rows of C H W pixels.
    let images = Tensor::from_fn(&[4, 1, 2, 2], |i| (i / 4) as f32);
    let query = Tensor::from_fn(&[1, 1, 2, 2], |_| 2.2f32);
    let found = nearest(&images, &query, 2).unwrap();
    assert_eq!(found[0].indices, vec![2, 3]);
    assert!((found[0].distances[0] - 4.0 * 0.04).abs() < 1e-6);
    assert_eq!(squared_distance(&[0.0f32, 3.0], &[4.0, 0.0]), 25.0);
}

#[test]
fn nearest_refuses_bad_input() {
    let reference = Tensor::<f32>::zeros(&[4, 1, 2, 2]);
    let err = nearest(&reference, &Tensor::zeros(&[1, 1, 3, 3]), 1).unwrap_err();
    assert!(err.to_string().contains("[1, 1, 3, 3]"), "{err}");
    let err = nearest(&reference, &Tensor::zeros(&[1, 1, 2, 2]), 5).unwrap_err();
    assert!(err.to_string().contains("k = 5"), "{err}");
    assert!(nearest(&reference, &Tensor::zeros(&[1, 1, 2, 2]), 0).is_err());
}

// ---- ROC and AUC ---------------------------------------------------------------------------------

#[test]
fn auc_known_answers() {
    let pos = |v: &[u8]| v.iter().map(|&b| b == 1).collect::<Vec<bool>>();
    // Perfect, perfectly wrong, and all tied.
    assert_eq!(
        auc(&[0.9, 0.8, 0.1, 0.2], &pos(&[1, 1, 0, 0])).unwrap(),
        1.0
    );
    assert_eq!(
        auc(&[0.1, 0.2, 0.9, 0.8], &pos(&[1, 1, 0, 0])).unwrap(),
        0.0
    );
    assert_eq!(auc(&[0.5; 6], &pos(&[1, 0, 1, 0, 0, 1])).unwrap(), 0.5);
    // Worked by hand: positives 0.8, 0.4; negatives 0.6, 0.2, 0.4.
    // Pairs: 0.8 beats all three (3); 0.4 beats 0.2 (1), ties 0.4 (1/2), loses to 0.6.
    // AUC = 4.5 / 6 = 0.75.
    let scores = [0.8, 0.6, 0.4, 0.2, 0.4];
    let labels = pos(&[1, 0, 1, 0, 0]);
    assert_eq!(auc(&scores, &labels).unwrap(), 0.75);
    assert_eq!(auc_pairs(&scores, &labels).unwrap(), 0.75);
    let roc = roc_curve(&scores, &labels).unwrap();
    assert_eq!(roc.fpr, vec![0.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
    assert_eq!(roc.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
    assert!((roc.area() - 0.75).abs() < 1e-15);
    // At 0.5: 0.8 and 0.2 right, 0.6 (real called fake) and the positive 0.4 wrong, the other 0.4 right.
    assert_eq!(accuracy_at(&scores, &labels, 0.5), 0.6);
    // Bad input.
    assert!(auc(&[0.1, 0.2], &pos(&[1, 1])).is_err());
    assert!(auc(&[0.1], &pos(&[1, 0])).is_err());
    assert!(auc(&[f64::NAN, 0.2], &pos(&[1, 0])).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn auc_ranks_pairs_and_trapezoids_agree(raw in proptest::collection::vec((0u8..6, any::<bool>()), 2..40)) {
        let scores: Vec<f64> = raw.iter().map(|&(s, _)| s as f64 / 5.0).collect();
        let mut labels: Vec<bool> = raw.iter().map(|&(_, p)| p).collect();
        // Make sure both classes are present.
        labels[0] = true;
        labels[1] = false;
        let by_ranks = auc(&scores, &labels).unwrap();
        let by_pairs = auc_pairs(&scores, &labels).unwrap();
        let by_curve = roc_curve(&scores, &labels).unwrap().area();
        prop_assert!((by_ranks - by_pairs).abs() < 1e-12, "{} vs {}", by_ranks, by_pairs);
        prop_assert!((by_curve - by_pairs).abs() < 1e-12, "{} vs {}", by_curve, by_pairs);
        // Flipping the scores flips the AUC.
        let flipped: Vec<f64> = scores.iter().map(|s| -s).collect();
        prop_assert!((auc(&flipped, &labels).unwrap() - (1.0 - by_ranks)).abs() < 1e-12);
    }
}

// ---- confusion matrix ----------------------------------------------------------------------------

#[test]
fn confusion_matrix_counts_and_draws() {
    let names: Vec<String> = ["seed 1", "seed 2", "seed 3"].map(String::from).to_vec();
    let truth = [0, 0, 1, 1, 2, 2, 2];
    let predicted = [0, 1, 1, 1, 2, 0, 2];
    let m = ConfusionMatrix::new(&names, &truth, &predicted).unwrap();
    assert_eq!(m.get(0, 0), 1);
    assert_eq!(m.get(0, 1), 1);
    assert_eq!(m.get(2, 0), 1);
    assert!((m.accuracy() - 5.0 / 7.0).abs() < 1e-15);
    let svg = m.to_svg("attribution");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for name in &names {
        assert!(svg.contains(name.as_str()));
    }
    assert!(m.to_text().contains("seed 3"));
    assert!(ConfusionMatrix::new(&names, &[0, 3], &[0, 0]).is_err());
    assert!(ConfusionMatrix::new(&names, &[0], &[0, 0]).is_err());
}

// ---- the detector and the attributor on data separable by construction ---------------------------

use gan::eval::classifier::ClassifierTraining;
use gan::forensics::classify::{ForensicModel, Task};
use gan::forensics::data::Labelled;

/// `n` noisy 8 x 8 grey images per class; class c > 0 has a bright 3 x 3 block in corner c - 1
/// (class 0: no block). Separable by construction: look at the corners.
fn corners(classes: usize, n: usize, seed: u64) -> Labelled {
    let mut rng = gan::rng::Rng::new(seed);
    let groups = (0..classes)
        .map(|c| {
            let mut t = Tensor::from_fn(&[n, 1, 8, 8], |_| rng.uniform_range(-1.0, 0.2) as f32);
            for i in 0..n {
                for y in 0..8 {
                    for x in 0..8 {
                        let corner = match (y < 3, x < 3, y >= 5, x >= 5) {
                            (true, true, _, _) => 1,
                            (true, _, _, true) => 2,
                            (_, true, true, _) => 3,
                            _ => 0,
                        };
                        if c > 0 && corner == c {
                            t.as_mut_slice()[i * 64 + y * 8 + x] = 1.0;
                        }
                    }
                }
            }
            t
        })
        .collect();
    Labelled::from_groups(groups, (0..classes).map(|c| format!("class {c}")).collect()).unwrap()
}

fn tiny_training() -> ClassifierTraining {
    ClassifierTraining {
        steps: 60,
        batch: 16,
        lr: 3e-3,
        seed: 3,
    }
}

#[test]
fn detector_and_attributor_separate_separable_images() {
    for (task, classes) in [(Task::Detect, 2), (Task::Attribute, 3)] {
        let set = corners(classes, 48, 5);
        let (train, test) = set.split(0.25, 9);
        assert_eq!(test.len(), 12 * classes);
        let mut model =
            ForensicModel::train(task, &train, 4, 8, &tiny_training(), &mut |_, _| {}).unwrap();
        let held_out = model.evaluate(&test).unwrap();
        assert!(
            held_out.accuracy >= 0.95 && held_out.auc >= 0.99,
            "{task:?}: accuracy {} AUC {}\n{}",
            held_out.accuracy,
            held_out.auc,
            held_out.confusion.to_text()
        );
        // Saved and read back, the model answers the same; the other task's reader refuses it.
        let dir =
            std::env::temp_dir().join(format!("gan-ch14-{}-{}", task.name(), std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        model.save(&path).unwrap();
        let mut back = ForensicModel::load(&path, task).unwrap();
        assert_eq!(back.names, model.names);
        assert_eq!(
            back.probabilities(&test.images).unwrap(),
            model.probabilities(&test.images).unwrap()
        );
        let other = if task == Task::Detect {
            Task::Attribute
        } else {
            Task::Detect
        };
        let err = ForensicModel::load(&path, other)
            .err()
            .expect("the wrong task is refused");
        assert!(
            err.to_string()
                .contains(&format!("gan {} train", task.name())),
            "{err}"
        );
        // Images of the wrong shape are a clear error naming both shapes.
        let err = model
            .probabilities(&Tensor::zeros(&[2, 1, 16, 16]))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("[N, 1, 8, 8]") && text.contains("[2, 1, 16, 16]"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn split_holds_out_every_class_and_is_seeded() {
    let set = corners(3, 20, 1);
    let (train, test) = set.split(0.25, 4);
    assert_eq!((train.len(), test.len()), (45, 15));
    for c in 0..3 {
        assert_eq!(test.labels.iter().filter(|&&l| l == c).count(), 5);
    }
    let (_, again) = set.split(0.25, 4);
    assert_eq!(again.labels, test.labels);
    assert_eq!(again.images.as_slice(), test.images.as_slice());
    // Groups of different image shapes are refused.
    let err = Labelled::from_groups(
        vec![Tensor::zeros(&[2, 1, 8, 8]), Tensor::zeros(&[2, 1, 4, 4])],
        vec!["a".into(), "b".into()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("[1, 4, 4]"), "{err}");
}

// ---- the commands, end to end on a tiny run ------------------------------------------------------

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `gan ARGS`; returns (success, stdout, stderr).
fn gan(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .env("GAN_THREADS", "2")
        .output()
        .expect("the gan binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = gan(args);
    assert!(success, "gan {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

fn err(args: &[&str]) -> String {
    let (success, stdout, stderr) = gan(args);
    assert!(!success, "gan {args:?} should fail:\n{stdout}");
    stderr
}

/// Digits shrunk to `size` x `size`, written as a user would: images.npy and labels.npy.
fn write_digits(dir: &Path, size: usize, n: usize) -> (String, String) {
    let set = gan::data::files::resize_square(
        &gan::data::Dataset::builtin("digits", n, 1).unwrap(),
        size,
    )
    .unwrap();
    let images = dir.join(format!("digits{size}.npy"));
    let labels = dir.join(format!("digits{size}.labels.npy"));
    std::fs::write(
        &images,
        gan::io::npy::encode_f32(set.images.shape(), set.images.as_slice()),
    )
    .unwrap();
    let l: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
    std::fs::write(&labels, gan::io::npy::encode_i64(&[l.len()], &l)).unwrap();
    (images.display().to_string(), labels.display().to_string())
}

fn tiny_gan(dir: &Path, data: &(String, String), size: usize, seed: u64) -> String {
    let out = dir.join(format!("g{size}-{seed}"));
    let (out_s, size_s, seed_s) = (
        out.display().to_string(),
        size.to_string(),
        seed.to_string(),
    );
    ok(&[
        "train",
        "--data",
        &data.0,
        "--labels",
        &data.1,
        "--image-size",
        &size_s,
        "--steps",
        "3",
        "--batch",
        "8",
        "--nz",
        "8",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--seed",
        &seed_s,
        "--out",
        &out_s,
        "--sample-every",
        "0",
        "--save-every",
        "0",
        "--quiet",
    ]);
    out.join("checkpoint.safetensors").display().to_string()
}

#[test]
fn commands_end_to_end() {
    let dir: PathBuf = std::env::temp_dir().join(format!("gan-ch14-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = |name: &str| dir.join(name).display().to_string();
    let data8 = write_digits(&dir, 8, 96);
    let data16 = write_digits(&dir, 16, 16);
    let (g1, g2, g16) = (
        tiny_gan(&dir, &data8, 8, 1),
        tiny_gan(&dir, &data8, 8, 2),
        tiny_gan(&dir, &data16, 16, 1),
    );
    let small = [
        "--steps",
        "20",
        "--batch",
        "16",
        "--width",
        "4",
        "--features",
        "8",
    ];

    // Detection: train, report, files.
    let fakes = format!("{g1},{g2}");
    let mut args = vec![
        "detect", "train", "--real", &data8.0, "--fake", &fakes, "--n", "64",
    ];
    let out_det = d("det");
    args.extend_from_slice(&small);
    args.extend_from_slice(&["--out", &out_det]);
    let stdout = ok(&args);
    assert!(
        stdout.contains("held out: accuracy") && stdout.contains("ROC AUC"),
        "{stdout}"
    );
    for f in ["detector.safetensors", "detect.json", "confusion.svg"] {
        assert!(dir.join("det").join(f).exists(), "{f} missing");
    }
    let json = std::fs::read_to_string(dir.join("det/detect.json")).unwrap();
    let json = gan::io::json::Json::parse(&json).unwrap();
    assert!(json.get("auc").and_then(|a| a.as_f64()).is_some());

    // P(fake) for every image of a .npy written by `gan sample`.
    let samples = d("s.npy");
    ok(&["sample", "--checkpoint", &g1, "--n", "6", "--npy", &samples]);
    let detector = d("det/detector.safetensors");
    let stdout = ok(&["detect", "--detector", &detector, &samples]);
    assert_eq!(stdout.matches("P(fake) = ").count(), 6, "{stdout}");
    // A PNG is one image.
    let image = gan::io::npy::load(Path::new(&samples)).unwrap();
    let gan::io::npy::NpyData::F64(values) = image.data else {
        panic!("float samples")
    };
    let bytes: Vec<u8> = values[..64]
        .iter()
        .map(|&v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8)
        .collect();
    let png = d("one.png");
    gan::io::png::save_png(&png, 8, 8, 1, &bytes).unwrap();
    let stdout = ok(&["detect", "--detector", &detector, &png]);
    assert_eq!(stdout.matches("P(fake) = ").count(), 1, "{stdout}");
    // Images of another size are refused, naming both shapes.
    let stderr = err(&["detect", "--detector", &detector, &data16.0]);
    assert!(
        stderr.contains("[N, 1, 8, 8]") && stderr.contains("[16, 1, 16, 16]"),
        "{stderr}"
    );

    // Attribution: a generator of another image size among --generators is a clear error.
    let three = format!("{g1},{g2},{g16}");
    let stderr = err(&[
        "attribute",
        "train",
        "--generators",
        &three,
        "--out",
        &d("att"),
    ]);
    assert!(
        stderr.contains("[1, 16, 16]") && stderr.contains("[1, 8, 8]"),
        "{stderr}"
    );
    let two = format!("{g1},{g2}");
    let out_att = d("att");
    let mut args = vec![
        "attribute",
        "train",
        "--generators",
        &two,
        "--n",
        "32",
        "--out",
        &out_att,
    ];
    args.extend_from_slice(&small);
    let stdout = ok(&args);
    assert!(stdout.contains("held out: accuracy"), "{stdout}");
    let attributor = d("att/attributor.safetensors");
    let stdout = ok(&["attribute", "--model", &attributor, &samples]);
    assert!(stdout.contains("of 6 attributed to"), "{stdout}");
    // Each command refuses the other's model.
    let stderr = err(&["detect", "--detector", &attributor, &samples]);
    assert!(stderr.contains("gan attribute train"), "{stderr}");

    // Image attribution: the nearest training images, as a PNG.
    let png = d("nearest.png");
    let stdout = ok(&[
        "nearest", "--data", &data8.0, "--labels", &data8.1, &samples, "--k", "3", "--png", &png,
        "--steps", "10",
    ]);
    assert_eq!(stdout.matches("nearest in pixels").count(), 6, "{stdout}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(&dir).ok();
}

// ---- exercises -----------------------------------------------------------------------------------
//
// The `exercise_*` tests check exercises 14.3 and 14.4; run them on your own code with
// `cargo test --release --features exercises --test ch14_forensics -- exercise_`.

use gan::exercises::ch14_forensics::{cosine_nearest, tpr_at_fpr};

#[test]
fn exercise_tpr_at_fpr() {
    let pos = |v: &[u8]| v.iter().map(|&b| b == 1).collect::<Vec<bool>>();
    // Fakes 0.9, 0.7, 0.4; real 0.8, 0.3, 0.2, 0.1.
    let scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1];
    let labels = pos(&[1, 0, 1, 1, 0, 0, 0]);
    for (max_fpr, expected, why) in [
        (
            0.0,
            1.0 / 3.0,
            "no real image may be flagged: only t = 0.9 qualifies",
        ),
        (
            0.25,
            1.0,
            "one real image of 4 may be flagged: t = 0.4 catches all 3 fakes",
        ),
        (1.0, 1.0, "everything may be flagged"),
    ] {
        let yours = tpr_at_fpr(&scores, &labels, max_fpr);
        assert!(
            (yours - expected).abs() < 1e-12,
            "tpr_at_fpr(max_fpr = {max_fpr}) = {yours}, expected {expected}: {why}"
        );
    }
    // Ties are flagged together: a real image tied with the top fake costs its FPR at once.
    let yours = tpr_at_fpr(&[0.9, 0.9, 0.1, 0.1], &pos(&[1, 0, 1, 0]), 0.0);
    assert_eq!(
        yours, 0.0,
        "the fake at 0.9 cannot be flagged without the real image at 0.9 (the threshold flags \
         every score >= t); with max_fpr = 0 nothing qualifies"
    );
    // Against the ROC curve's points, on random scores with ties.
    let mut rng = gan::rng::Rng::new(4);
    for _ in 0..50 {
        let n = 2 + rng.below(30);
        let scores: Vec<f64> = (0..n).map(|_| rng.below(6) as f64).collect();
        let mut labels: Vec<bool> = (0..n).map(|_| rng.below(2) == 1).collect();
        labels[0] = true;
        labels[1] = false;
        let roc = roc_curve(&scores, &labels).unwrap();
        for max_fpr in [0.0, 0.1, 0.5] {
            let expected = roc
                .fpr
                .iter()
                .zip(&roc.tpr)
                .filter(|&(&f, _)| f <= max_fpr)
                .map(|(_, &t)| t)
                .fold(0.0, f64::max);
            let yours = tpr_at_fpr(&scores, &labels, max_fpr);
            assert!(
                (yours - expected).abs() < 1e-12,
                "tpr_at_fpr({scores:?}, {labels:?}, {max_fpr}) = {yours}, but the best ROC point \
                 with FPR <= {max_fpr} has TPR {expected}"
            );
        }
    }
}

#[test]
fn exercise_cosine_nearest() {
    // Row 1 is the query at half contrast (distance 0); row 3 points the other way (distance 2);
    // row 4 is zero (distance 1 by convention); rows 0 and 2 are duplicates (a tie).
    let reference = Tensor::from_vec(
        &[5, 3],
        vec![
            1., 0., 0., 0.5, 0.5, 0., 1., 0., 0., -1., -1., 0., 0., 0., 0.,
        ],
    )
    .unwrap();
    let query = [1.0f32, 1.0, 0.0];
    let yours = cosine_nearest(&reference, &query, 5);
    assert_eq!(
        yours,
        vec![1, 0, 2, 4, 3],
        "expected the scaled copy first (cosine distance 0), then the tied rows 0 and 2 (smaller \
         index first), then the zero row (distance 1), then the opposite one (distance 2)"
    );
    assert_eq!(
        cosine_nearest(&reference, &query, 2),
        vec![1, 0],
        "keep only the first k"
    );
    // On rows scaled to length 1, cosine order is Euclidean order: |q - r|^2 = 2 - 2 cos.
    let mut rng = gan::rng::Rng::new(9);
    let unit = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let mut data = Vec::new();
    for _ in 0..20 {
        data.extend(unit((0..4).map(|_| rng.normal(0.0, 1.0) as f32).collect()));
    }
    let reference = Tensor::from_vec(&[20, 4], data).unwrap();
    let q = unit((0..4).map(|_| rng.normal(0.0, 1.0) as f32).collect());
    let euclid = nearest(
        &reference,
        &Tensor::from_vec(&[1, 4], q.clone()).unwrap(),
        5,
    )
    .unwrap();
    assert_eq!(
        cosine_nearest(&reference, &q, 5),
        euclid[0].indices,
        "on unit vectors the cosine distance is half the squared Euclidean one, so the order \
         must match forensics::nearest"
    );
}

// ---- PNG input -----------------------------------------------------------------------------------

use gan::io::png_read::{decode_png, inflate};

#[test]
fn inflate_decodes_fixed_and_dynamic_huffman_blocks() {
    // zlib.compressobj(9, DEFLATED, -15) of b"abcabcabcabcabcabc hello hello hello": one block
    // with the fixed codes.
    let fixed = [75, 76, 74, 78, 68, 69, 10, 25, 169, 57, 57, 249, 200, 36, 0];
    assert_eq!(
        inflate(&fixed).unwrap(),
        b"abcabcabcabcabcabc hello hello hello"
    );
    // The same for 300 letters of a skewed alphabet: one block with transmitted (dynamic) codes.
    let dynamic: [u8; 119] = [
        45, 143, 1, 22, 192, 32, 8, 66, 207, 10, 200, 253, 175, 48, 160, 205, 55, 43, 133, 111, 65,
        0, 45, 145, 16, 207, 57, 72, 48, 13, 45, 184, 176, 15, 17, 28, 155, 81, 109, 132, 56, 171,
        166, 212, 168, 30, 83, 172, 89, 209, 181, 173, 22, 155, 89, 4, 246, 183, 176, 125, 191,
        226, 226, 26, 58, 76, 154, 175, 205, 55, 22, 197, 118, 235, 121, 120, 15, 113, 143, 85,
        209, 253, 72, 214, 93, 239, 196, 61, 197, 112, 46, 86, 195, 83, 183, 209, 238, 179, 102,
        72, 114, 71, 6, 226, 61, 33, 58, 229, 246, 187, 45, 214, 125, 202, 44, 206, 204, 6, 62,
    ];
    let mut s: u64 = 0;
    let expected: Vec<u8> = (0..300)
        .map(|_| {
            s = (s * 1103515245 + 12345) % (1 << 31);
            b"aaaaaaaabbbbccde"[((s >> 16) % 16) as usize]
        })
        .collect();
    assert_eq!(inflate(&dynamic).unwrap(), expected);
    // Damaged streams are errors, never panics.
    for cut in 0..dynamic.len() {
        let _ = inflate(&dynamic[..cut]);
    }
    assert!(inflate(&[0x07]).is_err(), "block type 3 is reserved");
}

/// A PNG of `pixels` (RGB, 8 bits) whose rows use PNG's filters 0-4 in turn.
fn png_with_filters(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    let stride = width * 3;
    let mut raw = Vec::new();
    for y in 0..height {
        let filter = (y % 5) as u8;
        raw.push(filter);
        for x in 0..stride {
            let at = |yy: Option<usize>, xx: Option<usize>| match (yy, xx) {
                (Some(yy), Some(xx)) => pixels[yy * stride + xx] as i16,
                _ => 0,
            };
            let (a, b, c) = (
                at(Some(y), x.checked_sub(3)),
                at(y.checked_sub(1), Some(x)),
                at(y.checked_sub(1), x.checked_sub(3)),
            );
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                _ => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
            };
            raw.push((pixels[y * stride + x] as i16 - predicted).rem_euclid(256) as u8);
        }
    }
    let chunk = |kind: &[u8], body: &[u8]| {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        let mut typed = kind.to_vec();
        typed.extend_from_slice(body);
        c.extend_from_slice(&typed);
        c.extend_from_slice(&gan::io::png::crc32(&typed).to_be_bytes());
        c
    };
    let mut ihdr = (width as u32).to_be_bytes().to_vec();
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = gan::io::png_read::PNG_SIGNATURE.to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &gan::io::png::zlib_stored(&raw)));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn png_images_read_back_as_written() {
    // This program's own PNGs (grey and RGB) come back as the images written.
    for channels in [1, 3] {
        let (w, h) = (7, 5);
        let pixels: Vec<u8> = (0..w * h * channels)
            .map(|i| (i * 37 % 256) as u8)
            .collect();
        let png = gan::io::png::encode_png(w, h, channels, &pixels);
        let image = decode_png(&png).unwrap();
        assert_eq!(image.shape(), &[1, channels, h, w]);
        for (i, &p) in pixels.iter().enumerate() {
            let (y, x, c) = (i / (w * channels), i / channels % w, i % channels);
            let v = image.as_slice()[(c * h + y) * w + x];
            assert_eq!(((v + 1.0) * 127.5).round() as u8, p, "pixel {i}");
        }
    }
    // Rows filtered by Sub, Up, Average and Paeth are undone.
    let (w, h) = (4, 6);
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * i * 7 + 3) % 256) as u8)
        .collect();
    let image = decode_png(&png_with_filters(w, h, &pixels)).unwrap();
    let back: Vec<u8> = (0..w * h * 3)
        .map(|i| {
            let (y, x, c) = (i / (w * 3), i / 3 % w, i % 3);
            ((image.as_slice()[(c * h + y) * w + x] + 1.0) * 127.5).round() as u8
        })
        .collect();
    assert_eq!(back, pixels);
    // Not a PNG, or a damaged one: an error.
    assert!(decode_png(b"GIF89a").unwrap_err().contains("signature"));
    let png = gan::io::png::encode_png(3, 3, 1, &[0; 9]);
    for cut in 8..png.len() {
        let _ = decode_png(&png[..cut]);
    }
}
