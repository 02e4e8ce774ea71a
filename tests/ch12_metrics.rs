//! Chapter 12, "Which generator is better?": the metrics. Proves the cyclic Jacobi eigensolver on
//! hand cases and, on random symmetric matrices, that A = V diag(lambda) V^T with V orthonormal
//! (proptest), and that the symmetric square root squares back; the Fréchet distance's known
//! answers (equal Gaussians 0, diagonal covariances in closed form, a shift adds |mu1 - mu2|^2);
//! conditional accuracy and class spread by hand; precision and recall of identical sets (1, 1),
//! of far-apart sets (0, 0) and of a collapsed set (high precision, low recall); the GEMM distance
//! against the plain loop; and the memorisation check telling copies from fresh draws.

mod common;

use common::TestRng;
use gan::eval::classes::{class_spread, conditional_accuracy};
use gan::eval::eigen::{sqrt_symmetric, symmetric_eigen, symmetric_eigenvalues};
use gan::eval::frechet::{fid, fit_gaussian, frechet_distance, Gaussian};
use gan::eval::memorisation::{memorisation, nearest_distances, quantile};
use gan::eval::precision_recall::{
    knn_sq_radii, pairwise_sq_distances, pairwise_sq_distances_reference, precision_recall,
};
use gan::gemm::{matmul, Op};
use gan::Tensor;
use proptest::prelude::*;

fn random_symmetric(n: usize, seed: u64) -> Tensor<f64> {
    let b: Tensor<f64> = TestRng::new(seed).tensor(&[n, n]);
    b.zip_map(&b.transpose(), |x, y| x + y)
}

fn reconstruct(values: &[f64], v: &Tensor<f64>) -> Tensor<f64> {
    let n = values.len();
    let scaled = Tensor::from_fn(&[n, n], |k| v.at(k / n, k % n) * values[k % n]);
    matmul(&scaled, Op::N, v, Op::T)
}

#[test]
fn jacobi_on_hand_cases() {
    // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1)/sqrt 2 and (1, 1)/sqrt 2.
    let a = Tensor::from_vec(&[2, 2], vec![2.0f64, 1.0, 1.0, 2.0]).unwrap();
    let e = symmetric_eigen(&a);
    assert!(
        (e.values[0] - 1.0).abs() < 1e-14 && (e.values[1] - 3.0).abs() < 1e-14,
        "{:?}",
        e.values
    );
    let v1 = (e.vectors.at(0, 1), e.vectors.at(1, 1));
    assert!((v1.0.abs() - 0.5f64.sqrt()).abs() < 1e-14 && (v1.0 - v1.1).abs() < 1e-14);
    // Diagonal: nothing to rotate, values sorted.
    let d = Tensor::from_vec(&[3, 3], vec![5.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 2.0]).unwrap();
    assert_eq!(symmetric_eigenvalues(&d), vec![-1.0, 2.0, 5.0]);
    // [[4, 1, 0], [1, 4, 1], [0, 1, 4]]: 4 - sqrt 2, 4, 4 + sqrt 2.
    let t = Tensor::from_vec(&[3, 3], vec![4.0, 1.0, 0.0, 1.0, 4.0, 1.0, 0.0, 1.0, 4.0]).unwrap();
    let got = symmetric_eigenvalues(&t);
    let want = [4.0 - 2f64.sqrt(), 4.0, 4.0 + 2f64.sqrt()];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-13, "{got:?} vs {want:?}");
    }
    // 1 x 1 and f32.
    let one = Tensor::from_vec(&[1, 1], vec![7.0f32]).unwrap();
    assert_eq!(symmetric_eigen(&one).values, vec![7.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn jacobi_reconstructs_random_symmetric_matrices(n in 1usize..24, seed in 0u64..1000) {
        let a = random_symmetric(n, seed);
        let e = symmetric_eigen(&a);
        let back = reconstruct(&e.values, &e.vectors);
        let scale = a.max_abs().max(1.0);
        prop_assert!(back.max_abs_diff(&a) / scale < 1e-12, "A = V L V^T off by {}", back.max_abs_diff(&a));
        let vtv = matmul(&e.vectors, Op::T, &e.vectors, Op::N);
        let eye = Tensor::from_fn(&[n, n], |k| if k / n == k % n { 1.0 } else { 0.0 });
        prop_assert!(vtv.max_abs_diff(&eye) < 1e-12);
        prop_assert!(e.values.windows(2).all(|w| w[0] <= w[1]));
        // The values-only path agrees; the trace is preserved.
        let values = symmetric_eigenvalues(&a);
        for (x, y) in values.iter().zip(&e.values) {
            prop_assert!((x - y).abs() < 1e-12 * scale);
        }
        let trace: f64 = (0..n).map(|i| a.at(i, i)).sum();
        prop_assert!((values.iter().sum::<f64>() - trace).abs() < 1e-11 * scale * n as f64);
    }

    #[test]
    fn the_square_root_squares_back(n in 1usize..16, seed in 0u64..1000) {
        // B B^T is positive semi-definite.
        let b: Tensor<f64> = TestRng::new(seed).tensor(&[n, n]);
        let a = matmul(&b, Op::N, &b, Op::T);
        let r = sqrt_symmetric(&a);
        prop_assert!(r.max_abs_diff(&r.transpose()) < 1e-12);
        let rr = matmul(&r, Op::N, &r, Op::N);
        prop_assert!(rr.max_abs_diff(&a) < 1e-10 * a.max_abs().max(1.0), "off by {}", rr.max_abs_diff(&a));
    }

    #[test]
    fn gemm_distances_match_the_plain_loop(m in 1usize..20, n in 1usize..20, d in 1usize..13, seed in 0u64..100) {
        let mut rng = TestRng::new(seed);
        let (a, b): (Tensor<f32>, Tensor<f32>) = (rng.tensor(&[m, d]), rng.tensor(&[n, d]));
        let fast = pairwise_sq_distances(&a, &b);
        let slow = pairwise_sq_distances_reference(&a, &b);
        prop_assert!(fast.max_abs_diff(&slow) < 1e-12 * d as f64 * 4.0);
    }
}

fn diag_gaussian(mean: Vec<f64>, var: &[f64]) -> Gaussian {
    let n = var.len();
    Gaussian {
        mean,
        cov: Tensor::from_fn(&[n, n], |k| if k / n == k % n { var[k / n] } else { 0.0 }),
    }
}

#[test]
fn frechet_distance_known_answers() {
    // Equal Gaussians: 0, for any covariance.
    let b: Tensor<f64> = TestRng::new(9).tensor(&[6, 6]);
    let g = Gaussian {
        mean: vec![0.3; 6],
        cov: matmul(&b, Op::N, &b, Op::T),
    };
    assert!(
        frechet_distance(&g, &g) < 1e-10,
        "{}",
        frechet_distance(&g, &g)
    );
    // Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt s1 - sqrt s2)^2.
    let (v1, v2) = ([1.0, 4.0, 9.0, 0.25], [4.0, 1.0, 9.0, 1.0]);
    let a = diag_gaussian(vec![0.0, 1.0, 2.0, 3.0], &v1);
    let c = diag_gaussian(vec![1.0, 1.0, 0.0, 3.0], &v2);
    let want: f64 = 1.0
        + 4.0
        + v1.iter()
            .zip(&v2)
            .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
            .sum::<f64>();
    let got = frechet_distance(&a, &c);
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // Symmetric in its arguments, even for full covariances.
    let b2: Tensor<f64> = TestRng::new(10).tensor(&[6, 6]);
    let h = Gaussian {
        mean: vec![0.0; 6],
        cov: matmul(&b2, Op::N, &b2, Op::T),
    };
    let (gh, hg) = (frechet_distance(&g, &h), frechet_distance(&h, &g));
    assert!((gh - hg).abs() < 1e-10 * gh, "{gh} vs {hg}");
}

#[test]
fn fid_of_samples() {
    // Two large samples of the same distribution are close; a shifted one is |shift|^2 away.
    let mut rng = gan::rng::Rng::new(4);
    let x = gan::rng::noise::<f64>(&mut rng, 4000, 3, 1.0);
    let y = gan::rng::noise::<f64>(&mut rng, 4000, 3, 1.0);
    let same = fid(&x, &y);
    assert!(same < 0.01, "{same}");
    let shifted = y.map(|v| v + 1.0);
    let d = fid(&x, &shifted);
    assert!((d - 3.0).abs() < 0.1, "{d}");
    // The fit: unbiased covariance.
    let g = fit_gaussian(&Tensor::from_vec(&[2, 1], vec![0.0f32, 2.0]).unwrap());
    assert_eq!((g.mean[0], g.cov.at(0, 0)), (1.0, 2.0));
}

#[test]
fn class_metrics_by_hand() {
    assert_eq!(conditional_accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), 0.75);
    let uniform = class_spread(&[0, 1, 2, 3, 0, 1, 2, 3], 4);
    assert_eq!((uniform.covered, uniform.coverage), (4, 1.0));
    assert!((uniform.entropy_bits - 2.0).abs() < 1e-12);
    // Collapse onto one class: coverage 1/4, entropy 0.
    let collapsed = class_spread(&[2; 8], 4);
    assert_eq!((collapsed.covered, collapsed.entropy_bits), (1, 0.0));
    assert_eq!(collapsed.counts, vec![0, 0, 8, 0]);
    // A class seen once among 100 is below a quarter of its fair share (25 / 4).
    let mut p = vec![0; 50];
    p.extend(vec![1; 49]);
    p.push(2);
    assert_eq!(class_spread(&p, 4).covered, 2);
}

#[test]
fn precision_and_recall_known_answers() {
    let mut rng = TestRng::new(2);
    let real: Tensor<f64> = rng.tensor(&[60, 4]);
    let same = precision_recall(&real, &real.clone(), 3);
    assert_eq!((same.precision, same.recall), (1.0, 1.0));
    let far = real.map(|x| x + 100.0);
    let apart = precision_recall(&real, &far, 3);
    assert_eq!((apart.precision, apart.recall), (0.0, 0.0));
    // Collapse: every fake near one real point -> precision high, recall low.
    let centre = real.row(0).to_vec();
    let collapsed = Tensor::from_fn(&[60, 4], |k| centre[k % 4] + 1e-3 * ((k % 7) as f64 - 3.0));
    let pr = precision_recall(&real, &collapsed, 3);
    assert!(pr.precision > 0.9 && pr.recall < 0.2, "{pr:?}");
    // k-NN radii by hand on a line: points 0, 1, 3, 6.
    let line = Tensor::from_vec(&[4, 1], vec![0.0, 1.0, 3.0, 6.0]).unwrap();
    assert_eq!(knn_sq_radii(&line, 1), vec![1.0, 1.0, 4.0, 9.0]);
    assert_eq!(knn_sq_radii(&line, 2), vec![9.0, 4.0, 9.0, 25.0]);
}

#[test]
fn memorisation_tells_copies_from_fresh_draws() {
    let mut rng = TestRng::new(5);
    let train: Tensor<f64> = rng.tensor(&[300, 6]);
    let heldout: Tensor<f64> = rng.tensor(&[100, 6]);
    let fresh: Tensor<f64> = rng.tensor(&[100, 6]);
    let honest = memorisation(&fresh, &heldout, &train);
    assert!(
        (honest.ratio - 1.0).abs() < 0.25 && honest.closer_than_heldout < 0.15,
        "{honest:?}"
    );
    let copies = Tensor::from_vec(&[100, 6], train.as_slice()[..600].to_vec()).unwrap();
    let copied = memorisation(&copies, &heldout, &train);
    assert!(
        copied.ratio < 1e-6 && copied.closer_than_heldout == 1.0,
        "{copied:?}"
    );
    // Nearest distances in blocks equal the plain minimum.
    let d = nearest_distances(&fresh, &train);
    let full = pairwise_sq_distances_reference(&fresh, &train);
    for (i, x) in d.iter().enumerate() {
        let want = full
            .row(i)
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .sqrt();
        assert!((x - want).abs() < 1e-12);
    }
    assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), 2.0);
    assert_eq!(quantile(&[1.0, 2.0], 0.25), 1.25);
}
