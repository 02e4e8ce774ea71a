//! Chapter 10, class-conditional GANs ("add a label as input to the generator"): the joins in
//! `src/models/conditional.rs` and training on the built-in labelled data. Proves that:
//! - G's input is z joined with the one-hot label ([N, nz] -> [N, nz + classes]) and D's input
//!   the image joined with label planes ([N, C, H, W] -> [N, C + classes, H, W]), value for value;
//!   the gradients pass back to z and to the image only, and pass a gradient check;
//! - a wrong label (out of range, wrong count, missing, or given to an unconditional model)
//!   stops with a message that says what was wrong;
//! - a tiny conditional DCGAN on `digits` trains: losses stay finite, D(G(z)) moves from where it
//!   started, the samples move towards the data's mean brightness, and for a fixed z a different
//!   label gives a different image; the same runs on `shapes` (RGB, three classes);
//! - a conditional model needs labelled data (the ring has none).
//!
//! The `exercise_*` tests check exercises 10.1 and 10.2; run them on your own code with
//! `cargo test --release --features exercises --test ch10_conditional -- exercise_`.

use gan::check::{grad_check, CheckOptions};
use gan::data::{ring, Dataset};
use gan::exercises::ch10_conditional::{label_planes, one_hot};
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::models::conditional::{label_planes_join, label_planes_split_grad, one_hot_join};
use gan::models::{Discriminator, DiscriminatorConfig, Generator, GeneratorConfig};
use gan::rng::{noise, Rng};
use gan::Tensor;

/// Deterministic, irregular values in [-scale, scale].
fn wave(shape: &[usize], seed: f64, scale: f64) -> Tensor<f64> {
    Tensor::from_fn(shape, |i| scale * (0.7548776662 * i as f64 + seed).sin())
}

// ---- the joins -----------------------------------------------------------------------------------

#[test]
fn one_hot_join_appends_the_label_code_to_z() {
    let z = wave(&[3, 4], 0.1, 1.0);
    let joined = one_hot_join(&z, Some(&[2, 0, 1]), 3, "test");
    assert_eq!(joined.shape(), &[3, 7]);
    for (i, label) in [2, 0, 1].into_iter().enumerate() {
        assert_eq!(
            &joined.row(i)[..4],
            z.row(i),
            "row {i}: z comes first, unchanged"
        );
        let code: Vec<f64> = (0..3).map(|c| if c == label { 1.0 } else { 0.0 }).collect();
        assert_eq!(
            &joined.row(i)[4..],
            &code[..],
            "row {i}: one-hot of {label}"
        );
    }
    // Unconditional: z passes through.
    assert_eq!(one_hot_join(&z, None, 0, "test").as_slice(), z.as_slice());
}

#[test]
fn label_planes_join_appends_one_plane_per_class() {
    let x = wave(&[2, 3, 4, 5], 0.2, 1.0); // two RGB 4 x 5 images
    let joined = label_planes_join(&x, Some(&[1, 3]), 4, "test");
    assert_eq!(joined.shape(), &[2, 7, 4, 5]);
    let plane = 4 * 5;
    for (i, label) in [1, 3].into_iter().enumerate() {
        let row = joined.row(i);
        assert_eq!(
            &row[..3 * plane],
            x.row(i),
            "sample {i}: the image channels come first"
        );
        for c in 0..4 {
            let values = &row[(3 + c) * plane..(4 + c) * plane];
            let expected = if c == label { 1.0 } else { 0.0 };
            assert!(
                values.iter().all(|&v| v == expected),
                "sample {i} (label {label}): plane {c} should be all {expected}"
            );
        }
    }
    // Backward keeps the gradient of the image channels and drops the planes'.
    let grad = wave(joined.shape(), 0.9, 1.0);
    let back = label_planes_split_grad(&grad, 3);
    assert_eq!(back.shape(), x.shape());
    for i in 0..2 {
        assert_eq!(back.row(i), &grad.row(i)[..3 * plane]);
    }
}

fn tiny_generator(classes: usize) -> Generator<f64> {
    let config = GeneratorConfig {
        nz: 5,
        ngf: 4,
        image_size: 8,
        channels: 1,
        classes,
    };
    Generator::new(config, &mut Rng::new(3)).unwrap()
}

fn tiny_discriminator(classes: usize) -> Discriminator<f64> {
    let config = DiscriminatorConfig {
        ndf: 4,
        image_size: 8,
        channels: 1,
        classes,
        patch: false,
    };
    Discriminator::new(config, &mut Rng::new(4)).unwrap()
}

#[test]
fn conditional_players_pass_the_gradient_check() {
    let labels = [3, 0, 2, 3];
    // G: dL/dz for L = <r, G(z, labels)>; the label part of G's input gets no gradient.
    let mut g = tiny_generator(4);
    let z = wave(&[4, 5], 0.4, 1.0);
    let images = g.forward(&z, Some(&labels));
    assert_eq!(images.shape(), &[4, 1, 8, 8]);
    let r = wave(images.shape(), 1.3, 1.0);
    let grad_z = g.backward(&r);
    assert_eq!(grad_z.shape(), &[4, 5], "the gradient is for z alone");
    let report = grad_check(
        &["z"],
        &mut [z],
        &[grad_z],
        |p| g.forward(&p[0], Some(&labels)).dot(&r),
        &CheckOptions::default(),
    );
    println!("conditional G, dL/dz:\n{report}");
    report.assert_below(1e-6);

    // D: dL/d(image) for L = <r, D(x, labels)>; the label planes get none.
    let mut d = tiny_discriminator(4);
    let x = wave(&[4, 1, 8, 8], 0.7, 1.0);
    let logits = d.forward(&x, Some(&labels));
    let r = wave(logits.shape(), 2.2, 1.0);
    let grad_x = d.backward(&r);
    assert_eq!(
        grad_x.shape(),
        x.shape(),
        "the gradient is for the image alone"
    );
    let report = grad_check(
        &["image"],
        &mut [x],
        &[grad_x],
        |p| d.forward(&p[0], Some(&labels)).dot(&r),
        &CheckOptions::default(),
    );
    println!("conditional D, dL/d(image):\n{report}");
    report.assert_below(1e-6);
}

// ---- wrong labels --------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "Generator: label 4 is not below the 4 classes")]
fn a_label_out_of_range_is_refused() {
    tiny_generator(4).forward(&wave(&[2, 5], 0.0, 1.0), Some(&[1, 4]));
}

#[test]
#[should_panic(expected = "Discriminator: 3 labels for 2 samples")]
fn the_wrong_number_of_labels_is_refused() {
    tiny_discriminator(4).forward(&wave(&[2, 1, 8, 8], 0.0, 1.0), Some(&[1, 2, 3]));
}

#[test]
#[should_panic(expected = "Generator: a class-conditional model needs a label per sample")]
fn a_conditional_model_needs_labels() {
    tiny_generator(4).forward(&wave(&[2, 5], 0.0, 1.0), None);
}

#[test]
#[should_panic(expected = "Discriminator: labels given to an unconditional model")]
fn an_unconditional_model_takes_no_labels() {
    tiny_discriminator(0).forward(&wave(&[2, 1, 8, 8], 0.0, 1.0), Some(&[0, 1]));
}

#[test]
fn a_conditional_model_needs_labelled_data() {
    let config = TrainConfig {
        data: "ring".into(),
        data_size: 64,
        conditional: true,
        batch: 8,
        ..TrainConfig::default()
    };
    let err = Trainer::<f32>::new(config, TrainingData::Points(ring(64, 1)))
        .err()
        .expect("the ring has no labels to condition on");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("labelled images"), "{err}");
}

// ---- training ------------------------------------------------------------------------------------

/// G's images for one z repeated with every label 0..classes: [classes, C, H, W].
fn one_z_every_label(t: &mut Trainer<f32>, classes: usize) -> Tensor<f32> {
    let z = noise::<f32>(&mut Rng::new(11), 1, t.config.nz, 1.0);
    let repeated = Tensor::from_fn(&[classes, t.config.nz], |k| z[k % t.config.nz]);
    let labels: Vec<usize> = (0..classes).collect();
    t.sample(&repeated, Some(&labels))
}

/// The smallest mean absolute difference between the images of two different labels.
fn closest_pair_of_labels(images: &Tensor<f32>) -> f64 {
    let n = images.rows();
    let mut closest = f64::INFINITY;
    for a in 0..n {
        for b in a + 1..n {
            let gap: f64 = images
                .row(a)
                .iter()
                .zip(images.row(b))
                .map(|(&p, &q)| (p - q).abs() as f64)
                .sum::<f64>()
                / images.row(a).len() as f64;
            closest = closest.min(gap);
        }
    }
    closest
}

#[test]
fn a_tiny_conditional_dcgan_on_digits_trains() {
    let data = Dataset::builtin("digits", 320, 1).unwrap();
    let data_mean = data.images.mean() as f64;
    let config = TrainConfig {
        data: "digits".into(),
        data_size: 320,
        batch: 16,
        nz: 16,
        ngf: 8,
        ndf: 8,
        lr_g: 1e-3,
        lr_d: 1e-3,
        seed: 1,
        ..TrainConfig::default()
    };
    let mut t = Trainer::<f32>::new(config, TrainingData::Images(data)).unwrap();
    let eps = noise::<f32>(&mut Rng::new(5), 100, 16, 1.0);
    let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let mean_before = t.sample(&eps, Some(&labels)).mean() as f64;

    let stats: Vec<_> = (0..60).map(|_| t.train_step()).collect();
    for s in &stats {
        assert!(
            [s.d_loss, s.g_loss, s.d_x, s.d_g_z]
                .iter()
                .all(|v| v.is_finite()),
            "{s:?}"
        );
    }
    let (first, last) = (stats[0].d_g_z, stats[59].d_g_z);
    println!("D(G(z)): {first:.3} -> {last:.3}");
    assert!(
        (first - last).abs() > 0.1,
        "the game should move D(G(z)): {first:.3} -> {last:.3}"
    );

    // The first thing G must get right to fool D is the overall brightness: a digit is mostly
    // black background, while a fresh G (tanh of small numbers) paints mid grey.
    let mean_after = t.sample(&eps, Some(&labels)).mean() as f64;
    let (gap_before, gap_after) = (
        (mean_before - data_mean).abs(),
        (mean_after - data_mean).abs(),
    );
    println!("mean pixel: data {data_mean:.3}, samples {mean_before:.3} -> {mean_after:.3}");
    assert!(
        gap_after < 0.75 * gap_before,
        "the samples' mean brightness should approach the data's ({data_mean:.3}): \
         {mean_before:.3} -> {mean_after:.3}"
    );

    let per_label = one_z_every_label(&mut t, 10);
    let closest = closest_pair_of_labels(&per_label);
    println!("closest pair of labels for one z: mean |difference| {closest:.4}");
    assert!(
        closest > 0.01,
        "for a fixed z, changing the label should change the image (closest pair: {closest:.4})"
    );
}

#[test]
fn conditional_training_runs_on_shapes() {
    let data = Dataset::builtin("shapes", 48, 2).unwrap();
    assert_eq!((data.classes, data.image_shape()), (3, (3, 32, 32)));
    let config = TrainConfig {
        data: "shapes".into(),
        data_size: 48,
        image_size: 32,
        batch: 8,
        nz: 8,
        ngf: 4,
        ndf: 4,
        seed: 3,
        ..TrainConfig::default()
    };
    let mut t = Trainer::<f32>::new(config, TrainingData::Images(data)).unwrap();
    assert_eq!(t.classes(), 3);
    for _ in 0..3 {
        let s = t.train_step();
        assert!(s.d_loss.is_finite() && s.g_loss.is_finite(), "{s:?}");
    }
    let images = one_z_every_label(&mut t, 3);
    assert_eq!(images.shape(), &[3, 3, 32, 32]);
    assert!(closest_pair_of_labels(&images) > 0.0);
}

// ---- exercises -----------------------------------------------------------------------------------

#[test]
fn exercise_one_hot_matches_the_generators_join() {
    let labels = [0, 4, 2, 2, 1];
    let z = wave(&[5, 3], 0.5, 1.0);
    let joined = one_hot_join(&z, Some(&labels), 5, "test");
    let code: Tensor<f64> = one_hot(&labels, 5);
    assert_eq!(
        code.shape(),
        &[5, 5],
        "one_hot(labels, classes) should be [N, classes]"
    );
    for (i, &label) in labels.iter().enumerate() {
        assert_eq!(
            code.row(i),
            &joined.row(i)[3..],
            "row {i} (label {label}): expected a single 1 in column {label}"
        );
    }
}

#[test]
fn exercise_label_planes_match_the_discriminators_join() {
    let (labels, classes, h, w) = ([2, 0, 1], 3, 4, 6);
    let x = wave(&[3, 1, h, w], 0.3, 1.0);
    let joined = label_planes_join(&x, Some(&labels), classes, "test");
    let planes: Tensor<f64> = label_planes(&labels, classes, h, w);
    assert_eq!(
        planes.shape(),
        &[3, classes, h, w],
        "label_planes should be [N, classes, h, w]"
    );
    for (i, &label) in labels.iter().enumerate() {
        assert_eq!(
            planes.row(i),
            &joined.row(i)[h * w..],
            "sample {i} (label {label}): plane {label} should be all ones, the others all zeros; \
             plane c of sample i starts at (i * classes + c) * h * w"
        );
    }
}

#[test]
fn exercise_label_planes_sum_to_one_plane_per_sample() {
    // Non-square planes catch h and w swapped only through the shape; the count catches a plane
    // filled twice or a wrong stride.
    let planes: Tensor<f32> = label_planes(&[1, 1, 0, 2, 1], 3, 2, 5);
    assert_eq!(planes.shape(), &[5, 3, 2, 5]);
    let ones = planes.as_slice().iter().filter(|&&v| v == 1.0).count();
    let zeros = planes.as_slice().iter().filter(|&&v| v == 0.0).count();
    assert_eq!(
        (ones, zeros),
        (5 * 10, 5 * 2 * 10),
        "each sample should have exactly one plane of ones (10 values) and two of zeros"
    );
}
