//! Chapter 10, the built-in data sets. Proves that:
//! - `digits` and `shapes` are functions of (n, seed): the same seed gives bitwise the same
//!   images and labels (checksums recorded here), another seed others, and the thread count
//!   changes nothing;
//! - images have the promised shape and range ([-1, 1], digits on a background of exactly -1),
//!   and the classes are exactly balanced;
//! - the labels say what is drawn: a 1-nearest-neighbour classifier (and, more weakly, the
//!   nearest class mean) recognises fresh digits, and a hand-made geometric rule recognises
//!   circles, squares and triangles;
//! - `Dataset::batch` gathers, `split` splits, and unknown names give an error naming the
//!   built-in ones;
//! - `Batcher` hands out every index exactly once per epoch and, rebuilt from a saved state,
//!   continues with exactly the batches the original would have drawn;
//! - `ring` has its modes where `ring_modes` says, with the given standard deviation, and
//!   `mode_coverage` counts 8 modes on ideal data and 1 on a collapsed set.

use gan::data::*;
use gan::parallel::with_threads;
use gan::Tensor;

fn bits(t: &Tensor<f32>) -> Vec<u32> {
    t.as_slice().iter().map(|x| x.to_bits()).collect()
}

fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum()
}

// ---- reproducibility -----------------------------------------------------------------------------

#[test]
fn same_seed_same_bits_other_seed_other_images() {
    for name in BUILTIN {
        let a = Dataset::builtin(name, 60, 7).unwrap();
        let b = Dataset::builtin(name, 60, 7).unwrap();
        let c = Dataset::builtin(name, 60, 8).unwrap();
        assert_eq!(bits(&a.images), bits(&b.images), "{name}: same seed");
        assert_eq!(a.labels, b.labels, "{name}: same seed");
        assert_ne!(a.labels, c.labels, "{name}: other seed, same labels");
        for i in 0..a.len() {
            assert_ne!(
                a.images.row(i),
                c.images.row(i),
                "{name}: image {i} repeats across seeds"
            );
        }
    }
}

/// FNV-1a over the images' bits and the labels.
fn checksum(d: &Dataset) -> u64 {
    let words = bits(&d.images).into_iter().map(u64::from);
    let labels = d.labels.iter().map(|&l| l as u64);
    words.chain(labels).fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ w).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn images_match_the_checksums_recorded_when_the_data_sets_were_designed() {
    // Drawing uses only integer random bits and + - * / sqrt, so these hold on every machine.
    // A deliberate change to the font or the jitter changes them: then record the new values
    // (the failure prints them) and say so in the commit, since it changes every result trained on them.
    let found = [checksum(&digits(40, 1)), checksum(&shapes(40, 1))];
    assert_eq!(found, [DIGITS_CHECKSUM, SHAPES_CHECKSUM], "{found:#018x?}");
}
const DIGITS_CHECKSUM: u64 = 0xcf8d_ab3a_fad6_1b06;
const SHAPES_CHECKSUM: u64 = 0x3079_6bb6_17c3_c3db;

#[test]
fn thread_count_does_not_change_a_single_bit() {
    // 300 images: more than two chunks of work, so both threads draw some.
    for name in BUILTIN {
        let one = with_threads(1, || Dataset::builtin(name, 300, 3).unwrap());
        let two = with_threads(2, || Dataset::builtin(name, 300, 3).unwrap());
        let three = with_threads(3, || Dataset::builtin(name, 300, 3).unwrap());
        assert_eq!(
            bits(&one.images),
            bits(&two.images),
            "{name}: 1 vs 2 threads"
        );
        assert_eq!(
            bits(&one.images),
            bits(&three.images),
            "{name}: 1 vs 3 threads"
        );
        assert_eq!(one.labels, two.labels);
    }
}

#[test]
fn image_i_does_not_depend_on_how_many_images_are_drawn() {
    // Each image has its own generator; only the label order depends on n.
    let small = digits(50, 11);
    let large = digits(120, 11);
    let same_label = (0..50).filter(|&i| small.labels[i] == large.labels[i]);
    for i in same_label {
        assert_eq!(small.images.row(i), large.images.row(i), "image {i}");
    }
}

// ---- shapes, ranges, balance ---------------------------------------------------------------------

#[test]
fn digits_shape_range_background_and_balance() {
    let d = digits(205, 1);
    assert_eq!(d.images.shape(), &[205, 1, 28, 28]);
    assert_eq!(d.image_shape(), (1, 28, 28));
    assert_eq!((d.len(), d.classes, d.name.as_str()), (205, 10, "digits"));
    assert_eq!(d.class_names[3], "3");
    // 205 = 20 * 10 + 5: the first five classes once more.
    assert_eq!(
        d.class_counts(),
        vec![21, 21, 21, 21, 21, 20, 20, 20, 20, 20]
    );
    for i in 0..d.len() {
        let img = d.images.row(i);
        assert!(
            img.iter().all(|v| (-1.0..=1.0).contains(v)),
            "image {i} out of [-1, 1]"
        );
        // A white digit on black: the border is background, the brightest pixel full ink.
        let border = (0..28).flat_map(|k| [k, 27 * 28 + k, k * 28, k * 28 + 27]);
        assert!(
            border.into_iter().all(|p| img[p] == -1.0),
            "image {i}: ink on the border"
        );
        assert_eq!(img.iter().fold(-1.0f32, |m, &v| m.max(v)), 1.0, "image {i}");
        let ink = img.iter().filter(|&&v| v > 0.0).count();
        assert!(
            (15..=300).contains(&ink),
            "image {i} ({}): {ink} inked pixels",
            d.labels[i]
        );
    }
}

#[test]
fn shapes_shape_range_and_balance() {
    let d = shapes(61, 1);
    assert_eq!(d.images.shape(), &[61, 3, 32, 32]);
    assert_eq!(d.class_names, vec!["circle", "square", "triangle"]);
    assert_eq!(d.class_counts(), vec![21, 20, 20]);
    assert!(d.images.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
}

// ---- labels match content ------------------------------------------------------------------------

#[test]
fn a_fresh_digit_is_recognised_from_its_labelled_neighbours() {
    let train = digits(600, 1);
    let test = digits(200, 2);
    let size = 28 * 28;

    // 1-nearest neighbour: the label of the closest training image.
    let mut right = 0;
    for i in 0..test.len() {
        let x = test.images.row(i);
        let nearest = (0..train.len())
            .min_by(|&a, &b| {
                squared_distance(train.images.row(a), x)
                    .total_cmp(&squared_distance(train.images.row(b), x))
            })
            .unwrap();
        right += usize::from(train.labels[nearest] == test.labels[i]);
    }
    let accuracy = right as f64 / test.len() as f64;
    assert!(
        accuracy > 0.9,
        "1-NN accuracy {accuracy}: do labels match the digits drawn?"
    );

    // The nearest class mean (about 0.8 on these digits, as on MNIST), and means that differ.
    let mut means = vec![vec![0.0f32; size]; 10];
    let counts = train.class_counts();
    for i in 0..train.len() {
        let l = train.labels[i];
        for (m, &v) in means[l].iter_mut().zip(train.images.row(i)) {
            *m += v / counts[l] as f32;
        }
    }
    for a in 0..10 {
        for b in 0..a {
            let d = squared_distance(&means[a], &means[b]).sqrt();
            assert!(d > 3.0, "class means {a} and {b} are only {d} apart");
        }
    }
    let mut right = 0;
    for i in 0..test.len() {
        let x = test.images.row(i);
        let best = (0..10)
            .min_by(|&a, &b| {
                squared_distance(&means[a], x).total_cmp(&squared_distance(&means[b], x))
            })
            .unwrap();
        right += usize::from(best == test.labels[i]);
    }
    let accuracy = right as f64 / test.len() as f64;
    assert!(accuracy > 0.7, "nearest-class-mean accuracy {accuracy}");
}

/// Guesses the shape in a `shapes` image from one geometric number: the farthest distance from
/// the shape's centroid to its pixels, over the square root of its area. Circle 1/sqrt(pi) =
/// 0.56, square 1/sqrt(2) = 0.71, equilateral triangle 2 / (sqrt(3) 3^(1/4)) = 0.88, whatever the
/// size, position, rotation and colours.
fn guess_shape(image: &[f32]) -> usize {
    let plane = 32 * 32;
    let lum: Vec<f64> = (0..plane)
        .map(|p| {
            0.299 * image[p] as f64
                + 0.587 * image[plane + p] as f64
                + 0.114 * image[2 * plane + p] as f64
        })
        .collect();
    // The border is background (the shape keeps a pixel of margin); the shape is what stands
    // out from the border's mean by more than half of the largest difference.
    let border: Vec<usize> = (0..32)
        .flat_map(|k| [k, 31 * 32 + k, k * 32, k * 32 + 31])
        .collect();
    let background = border.iter().map(|&p| lum[p]).sum::<f64>() / border.len() as f64;
    let far =
        lum.iter()
            .map(|l| l - background)
            .fold(0.0f64, |m, d| if d.abs() > m.abs() { d } else { m });
    let inside: Vec<(f64, f64)> = (0..plane)
        .filter(|&p| (lum[p] - background) / far > 0.5)
        .map(|p| ((p % 32) as f64, (p / 32) as f64))
        .collect();
    let area = inside.len() as f64;
    let (cx, cy) = inside
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / area, b + y / area));
    let reach = inside
        .iter()
        .map(|&(x, y)| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt())
        .fold(0.0, f64::max);
    let ratio = reach / area.sqrt();
    if ratio < 0.635 {
        0
    } else if ratio < 0.795 {
        1
    } else {
        2
    }
}

#[test]
fn a_geometric_rule_recognises_the_labelled_shape() {
    let d = shapes(300, 5);
    let right = (0..d.len())
        .filter(|&i| guess_shape(d.images.row(i)) == d.labels[i])
        .count();
    let accuracy = right as f64 / d.len() as f64;
    assert!(
        accuracy > 0.9,
        "shape rule accuracy {accuracy}: do labels match the shapes drawn?"
    );
}

// ---- Dataset methods -----------------------------------------------------------------------------

#[test]
fn batch_gathers_images_and_labels_in_the_order_asked() {
    let d = digits(30, 2);
    let (x, y) = d.batch(&[4, 0, 4, 29]);
    assert_eq!(x.shape(), &[4, 1, 28, 28]);
    assert_eq!(y, vec![d.labels[4], d.labels[0], d.labels[4], d.labels[29]]);
    assert_eq!(x.row(0), d.images.row(4));
    assert_eq!(x.row(1), d.images.row(0));
    assert_eq!(x.row(2), d.images.row(4));
    assert_eq!(x.row(3), d.images.row(29));
}

#[test]
fn split_keeps_every_image_once_and_is_deterministic() {
    let d = shapes(50, 4);
    let (train, test) = d.clone().split(12);
    assert_eq!((train.len(), test.len()), (38, 12));
    assert_eq!(test.images.shape(), &[12, 3, 32, 32]);
    assert_eq!(train.images.row(0), d.images.row(0));
    assert_eq!(test.images.row(0), d.images.row(38));
    assert_eq!(test.labels[..], d.labels[38..]);
    assert_eq!((test.classes, test.name.as_str()), (3, "shapes"));
    let (train2, _) = d.split(12);
    assert_eq!(bits(&train.images), bits(&train2.images));
}

#[test]
fn unknown_data_set_names_the_built_in_ones() {
    let err = Dataset::builtin("mnist", 10, 1).unwrap_err().to_string();
    assert!(
        err.contains("\"mnist\"") && err.contains("digits, shapes"),
        "{err}"
    );
    let err = Dataset::builtin("ring", 10, 1).unwrap_err().to_string();
    assert!(err.contains("data::ring"), "{err}");
}

// ---- Batcher -------------------------------------------------------------------------------------

#[test]
fn every_index_once_per_epoch_in_a_new_order_each_epoch() {
    let (n, batch) = (10, 3);
    let mut b = Batcher::new(n, batch, 9);
    assert_eq!(b.batches_per_epoch(), 4);
    let mut orders = Vec::new();
    for epoch in 0..4 {
        assert_eq!(b.epoch(), epoch);
        let mut order = Vec::new();
        for k in 0..4 {
            let indices = b.next_batch();
            assert_eq!(
                indices.len(),
                if k < 3 { 3 } else { 1 },
                "epoch {epoch} batch {k}"
            );
            order.extend(indices);
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..n).collect::<Vec<_>>(),
            "epoch {epoch}: {order:?}"
        );
        orders.push(order);
    }
    assert!(orders.windows(2).all(|w| w[0] != w[1]), "{orders:?}");
    // Another seed, another order.
    assert_ne!(Batcher::new(n, batch, 10).next_batch(), orders[0][..3]);
}

#[test]
fn a_batcher_rebuilt_from_its_state_draws_the_same_batches() {
    // Save in the middle of an epoch and exactly at an epoch's end.
    for steps_before in [0, 5, 7, 8, 13] {
        let mut original = Batcher::new(17, 4, 21);
        for _ in 0..steps_before {
            original.next_batch();
        }
        let state = original.state();
        let mut resumed = Batcher::from_state(&state).unwrap();
        assert_eq!(resumed.state(), state);
        let expected: Vec<Vec<usize>> = original.by_ref().take(12).collect();
        let got: Vec<Vec<usize>> = resumed.by_ref().take(12).collect();
        assert_eq!(got, expected, "resumed after {steps_before} batches");
        assert_eq!(resumed.state(), original.state());
    }
}

#[test]
fn a_bad_batcher_state_is_an_error() {
    let mut state = Batcher::new(5, 2, 1).state();
    state.position = 6;
    let err = Batcher::from_state(&state).unwrap_err().to_string();
    assert!(err.contains("position = 6"), "{err}");
}

// ---- ring ----------------------------------------------------------------------------------------

#[test]
fn ring_modes_sit_on_the_circle_and_samples_around_them() {
    let modes = ring_modes();
    assert_eq!(modes.len(), 8);
    for (k, m) in modes.iter().enumerate() {
        assert!(
            ((m[0].powi(2) + m[1].powi(2)).sqrt() - 2.0).abs() < 1e-12,
            "mode {k}: {m:?}"
        );
    }
    assert_eq!(modes[0], [2.0, 0.0]);
    assert!((modes[2][0]).abs() < 1e-12 && (modes[2][1] - 2.0).abs() < 1e-12);

    let n = 16_000;
    let points = ring(n, 3);
    assert_eq!(points.x.shape(), &[n, 2]);
    assert_eq!(points.len(), n);
    // Per mode: mean within 4 standard errors of the centre, std within 5% of 0.02.
    for (k, m) in modes.iter().enumerate() {
        let members: Vec<usize> = (0..n).filter(|&i| points.labels[i] == k).collect();
        assert_eq!(members.len(), n / 8, "mode {k}");
        for (axis, &centre) in m.iter().enumerate() {
            let xs: Vec<f64> = members
                .iter()
                .map(|&i| points.x.at(i, axis) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
            let se = 0.02 / (xs.len() as f64).sqrt();
            assert!(
                (mean - centre).abs() < 4.0 * se,
                "mode {k} axis {axis}: mean {mean}"
            );
            assert!(
                (var.sqrt() / 0.02 - 1.0).abs() < 0.05,
                "mode {k} axis {axis}: std {}",
                var.sqrt()
            );
        }
    }
    let (x, labels) = points.batch(&[5, 1]);
    assert_eq!(x.row(0), points.x.row(5));
    assert_eq!(labels, vec![points.labels[5], points.labels[1]]);
}

#[test]
fn mode_coverage_counts_modes_hit_and_high_quality_samples() {
    let ideal = ring(2000, 1);
    let (hit, quality) = mode_coverage(&ideal.x, 0.02);
    assert_eq!(hit, 8);
    // Within 3 std of its mode: probability 1 - exp(-9/2) = 0.989 for a 2-D Gaussian.
    assert!((quality - 0.989).abs() < 0.01, "{quality}");

    // Collapsed: every sample near mode 3.
    let collapsed = Tensor::from_fn(&[500, 2], |i| {
        let centre = ring_modes()[3][i % 2] as f32;
        centre + 0.01 * ((i * 7919 % 13) as f32 / 13.0 - 0.5)
    });
    assert_eq!(mode_coverage(&collapsed, 0.02), (1, 1.0));

    // Far from every mode: nothing hit, nothing of quality.
    let lost = Tensor::<f64>::zeros(&[100, 2]);
    assert_eq!(mode_coverage(&lost, 0.02), (0, 0.0));

    // A mode with only a sliver of its share is not hit (less than HIT_SHARE of n / modes).
    let mut data = ideal.x.clone();
    let mut moved = 0;
    for i in 0..ideal.len() {
        if ideal.labels[i] == 5 && moved < 240 {
            data.row_mut(i).copy_from_slice(&[2.0, 0.0]);
            moved += 1;
        }
    }
    assert_eq!(mode_coverage(&data, 0.02).0, 7);

    // Another ring: 5 modes of radius 1 and std 0.1.
    let r = Ring {
        modes: 5,
        radius: 1.0,
        std: 0.1,
    };
    let p = r.sample(1000, 2);
    assert_eq!(r.mode_coverage(&p.x).0, 5);
    assert_eq!(r.nearest_mode([0.0, 1.0]).0, 1);
}

#[test]
fn zero_images_is_an_empty_data_set_not_a_crash() {
    for name in BUILTIN {
        let d = Dataset::builtin(name, 0, 1).unwrap();
        assert!(d.is_empty());
        assert_eq!(d.images.shape()[0], 0);
    }
    assert!(ring(0, 1).is_empty());
}
