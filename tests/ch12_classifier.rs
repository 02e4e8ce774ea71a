//! Chapter 12, "Which generator is better?": the classifier whose feature space the metrics are
//! measured in. Proves softmax cross-entropy's gradient and the whole classifier's backward pass
//! (to the images and to every parameter) against central differences in f64; that a saved
//! classifier loads back to the same outputs, and that a corrupt or foreign file is refused with
//! a message naming it; and that a short training on the built-in digits reaches a high accuracy
//! on images it never saw.

mod common;

use common::TestRng;
use gan::check::{set_params, CheckOptions, Checked};
use gan::data::{files::resize_square, Dataset};
use gan::eval::classifier::{accuracy, load_classifier_with, save_classifier_with};
use gan::eval::{
    load_classifier, save_classifier, softmax_cross_entropy, train_classifier, Classifier,
    ClassifierConfig, ClassifierTraining,
};
use gan::rng::Rng;
use gan::Tensor;

fn small_config(channels: usize, size: usize, classes: usize) -> ClassifierConfig {
    ClassifierConfig {
        width: 2,
        features: 5,
        ..ClassifierConfig::new(channels, size, classes)
    }
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("gan-ch12-classifier-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn softmax_cross_entropy_gradient_matches_central_differences() {
    let mut rng = TestRng::new(3);
    let logits: Tensor<f64> = rng.tensor(&[5, 4]).map(|x| 3.0 * x);
    let labels = [0, 3, 1, 1, 2];
    let (loss, grad) = softmax_cross_entropy(&logits, &labels);
    // By hand for row 0: logsumexp - l[0].
    let by_hand: f64 = (0..5)
        .map(|i| {
            let row = logits.row(i);
            row.iter().map(|x| x.exp()).sum::<f64>().ln() - row[labels[i]]
        })
        .sum::<f64>()
        / 5.0;
    assert!((loss - by_hand).abs() < 1e-12, "{loss} vs {by_hand}");
    let report = Checked::new().tensor("logits", logits, grad).run(
        |v| softmax_cross_entropy(&v[0], &labels).0,
        &CheckOptions::default(),
    );
    println!("{report}");
    report.assert_below(1e-8);
    // Huge logits do not overflow.
    let big = Tensor::from_vec(&[1, 3], vec![1000.0f32, -1000.0, 999.0]).unwrap();
    let (loss, grad) = softmax_cross_entropy(&big, &[2]);
    assert!(loss.is_finite() && grad.all_finite() && (loss - 1.3133).abs() < 1e-3);
}

#[test]
fn the_whole_classifier_passes_the_gradient_check_in_f64() {
    let mut worst: f64 = 0.0;
    for (channels, size, classes, n) in [(1, 8, 3, 3), (3, 9, 2, 2), (1, 12, 4, 2)] {
        let config = small_config(channels, size, classes);
        let mut c = Classifier::<f64>::new(config, &mut Rng::new(5));
        let x: Tensor<f64> = TestRng::new(7).tensor(&[n, channels, size, size]);
        let labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
        let logits = c.forward(&x);
        assert_eq!(logits.shape(), &[n, classes]);
        let (_, grad_logits) = softmax_cross_entropy(&logits, &labels);
        c.zero_grad();
        let grad_images = c.backward(&grad_logits);
        let report = Checked::new()
            .tensor("images", x, grad_images)
            .network(c.net_mut())
            .run(
                |v| {
                    set_params(c.net_mut(), &v[1..]);
                    softmax_cross_entropy(&c.forward(&v[0]), &labels).0
                },
                &CheckOptions::default(),
            );
        println!("{channels} x {size} x {size}, {classes} classes\n{report}");
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
    }
    println!("worst relative error: {worst:.2e}");
}

#[test]
fn features_and_logits_have_their_shapes_and_do_not_depend_on_chunking() {
    let config = small_config(1, 8, 3);
    let mut c = Classifier::<f32>::new(config, &mut Rng::new(2));
    let x: Tensor<f32> = TestRng::new(1).tensor(&[300, 1, 8, 8]);
    let f = c.features(&x);
    assert_eq!(f.shape(), &[300, 5]);
    let l = c.logits(&x);
    assert_eq!(l.shape(), &[300, 3]);
    // Evaluation mode: one image alone gets the same features as inside the big set.
    let one = Tensor::from_vec(&[1, 1, 8, 8], x.as_slice()[299 * 64..].to_vec()).unwrap();
    let f1 = c.features(&one);
    let diff = f1
        .as_slice()
        .iter()
        .zip(f.row(299))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-5, "features of image 299 alone differ by {diff}");
    assert_eq!(c.predict(&x), l.argmax_rows());
}

#[test]
fn save_and_load_round_trip_and_bad_files_are_refused() {
    let dir = scratch_dir("save");
    let path = dir.join("classifier.safetensors");
    let data = Dataset::builtin("digits", 40, 3).unwrap();
    let data = resize_square(&data, 8).unwrap();
    let training = ClassifierTraining {
        steps: 5,
        batch: 8,
        lr: 1e-3,
        seed: 4,
    };
    let mut c = train_classifier(
        &data.images,
        &data.labels,
        small_config(1, 8, 10),
        &training,
        &mut |_, _| {},
    )
    .unwrap();
    save_classifier_with(&mut c, &path, &[("data_key", "digits-40")]).unwrap();
    let (mut back, meta) = load_classifier_with(&path).unwrap();
    assert_eq!(back.config, c.config);
    assert!(meta
        .iter()
        .any(|(k, v)| k == "data_key" && v == "digits-40"));
    assert_eq!(back.logits(&data.images), c.logits(&data.images));
    assert_eq!(back.features(&data.images), c.features(&data.images));
    save_classifier(&mut back, &path).unwrap();
    assert!(load_classifier(&path).is_ok());

    // Truncated: an error naming the file, never a panic.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_classifier(&cut)
        .err()
        .expect("a truncated file")
        .to_string();
    assert!(err.contains("cut.safetensors"), "{err}");
    // Garbage.
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file at all").unwrap();
    let err = load_classifier(&junk).err().expect("junk").to_string();
    assert!(err.contains("junk.safetensors"), "{err}");
    // A valid safetensors file of another kind (a tensor, no classifier metadata).
    let mut other = gan::io::safetensors::SafeTensors::default();
    other.push(
        "x",
        gan::io::safetensors::StoredTensor::from_tensor(&Tensor::<f32>::zeros(&[2])),
    );
    let wrong = dir.join("wrong.safetensors");
    other.save(&wrong).unwrap();
    let err = load_classifier(&wrong)
        .err()
        .expect("another file")
        .to_string();
    assert!(
        err.contains("wrong.safetensors") && err.contains("gan-classifier-1"),
        "{err}"
    );
    // Missing.
    let err = load_classifier(&dir.join("absent.safetensors"))
        .err()
        .expect("absent")
        .to_string();
    assert!(err.contains("absent.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_training_input_is_an_error() {
    let x = Tensor::<f32>::zeros(&[4, 1, 8, 8]);
    let t = ClassifierTraining::default();
    let err = train_classifier(&x, &[0, 1, 2], small_config(1, 8, 3), &t, &mut |_, _| {})
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("[3, 1, 8, 8]") && err.contains("[4, 1, 8, 8]"),
        "{err}"
    );
    let err = train_classifier(&x, &[0, 1, 2, 5], small_config(1, 8, 3), &t, &mut |_, _| {})
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("label 5"), "{err}");
}

#[test]
fn a_short_training_on_digits_reaches_high_held_out_accuracy() {
    // 16 x 16 digits, width 8: a few seconds. The test images are never trained on.
    let data = resize_square(&Dataset::builtin("digits", 2500, 11).unwrap(), 16).unwrap();
    let (train, test) = data.split(500);
    let config = ClassifierConfig {
        width: 8,
        features: 32,
        ..ClassifierConfig::new(1, 16, 10)
    };
    let training = ClassifierTraining {
        steps: 300,
        batch: 32,
        lr: 2e-3,
        seed: 1,
    };
    let mut losses = Vec::new();
    let mut c = train_classifier(
        &train.images,
        &train.labels,
        config,
        &training,
        &mut |_, loss| losses.push(loss),
    )
    .unwrap();
    let acc = accuracy(&mut c, &test.images, &test.labels);
    let first: f64 = losses[..20].iter().sum::<f64>() / 20.0;
    let last: f64 = losses[losses.len() - 20..].iter().sum::<f64>() / 20.0;
    println!("loss {first:.3} -> {last:.3}, held-out accuracy {acc:.3}");
    assert!(
        last < first / 3.0,
        "the loss fell only from {first} to {last}"
    );
    assert!(acc > 0.9, "held-out accuracy {acc}");
}
