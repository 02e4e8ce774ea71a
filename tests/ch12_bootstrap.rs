//! Chapter 12, "Which generator is better?": the statistics. Proves that the paired bootstrap
//! test gives a large p for identical systems and p < 0.05 for a clearly better one; that on small
//! test sets it agrees with the exact sign-flip test within sampling error; that its results depend
//! on the seed alone (not on the thread count); that E[delta(S)] = delta(D_test), the fact behind
//! the 2 delta threshold; the bootstrap interval's coverage of a known mean; and the Student-t
//! interval of random restarts against hand values.
//! The `exercise_*` tests check exercises 12.1 and 12.2; run them on your own code with
//! `cargo test --release --features exercises --test ch12_bootstrap -- exercise_`.

mod common;

use common::TestRng;
use gan::eval::bootstrap::{
    bootstrap_interval, mean_over, paired_bootstrap, paired_bootstrap_scores, resample,
    sign_flip_exact,
};
use gan::eval::frechet::fid;
use gan::eval::summary::summarise;
use gan::exercises::ch12_bootstrap::{fid_interval, win_rate_delta};
use gan::parallel::with_threads;
use gan::rng::Rng;

/// n correct/incorrect answers, each right with probability `rate`.
fn answers(n: usize, rate: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| f64::from(u8::from(rng.uniform() < rate)))
        .collect()
}

#[test]
fn identical_systems_give_a_large_p() {
    let a = answers(300, 0.7, 1);
    let r = paired_bootstrap_scores(&a, &a, 2000, 3);
    assert_eq!((r.delta, r.exceed), (0.0, 0));
    // Equal accuracy from different answers: delta 0, and delta(S) > 0 about half the time.
    let b: Vec<f64> = a.iter().rev().copied().collect();
    let r = paired_bootstrap_scores(&a, &b, 2000, 3);
    println!(
        "equal accuracy, different answers: delta {}, p {}",
        r.delta, r.p_value
    );
    assert!(
        r.delta == 0.0 && r.p_value > 0.3,
        "{} {}",
        r.delta,
        r.p_value
    );
    // Two independent systems of the same true accuracy: p is not small (most of the time;
    // these seeds are fixed).
    let c = answers(300, 0.7, 2);
    let r = paired_bootstrap_scores(&a, &c, 2000, 3);
    println!("same true accuracy: delta {:.4}, p {}", r.delta, r.p_value);
    assert!(r.p_value > 0.05);
}

#[test]
fn a_clearly_better_system_gives_a_small_p() {
    let a = answers(400, 0.85, 4);
    let b = answers(400, 0.65, 5);
    let r = paired_bootstrap_scores(&a, &b, 5000, 1);
    println!(
        "0.85 vs 0.65 on 400 items: delta {:.3}, p {}",
        r.delta, r.p_value
    );
    assert!(r.delta > 0.1 && r.p_value < 0.05);
    // The same test the other way round: B is not better than A.
    let back = paired_bootstrap_scores(&b, &a, 5000, 1);
    assert!(back.p_value > 0.95, "{}", back.p_value);
}

#[test]
fn agrees_with_the_exact_sign_flip_test_on_small_cases() {
    let mut rng = TestRng::new(8);
    let mut worst: f64 = 0.0;
    for case in 0..8 {
        let n = 10 + case;
        // Scores with a small advantage for A.
        let a: Vec<f64> = (0..n).map(|_| rng.uniform() + 0.3).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        let exact = sign_flip_exact(&a, &b);
        let boot = paired_bootstrap_scores(&a, &b, 4000, case as u64).p_value;
        println!("n {n}: exact {exact:.4}, bootstrap {boot:.4}");
        worst = worst.max((exact - boot).abs());
        // Both are estimates of the same tail; the bootstrap's centred spread is a little
        // narrower on tiny sets, so allow a few percentage points beyond sampling error.
        assert!(
            (exact - boot).abs() < 0.05 + 3.0 * (exact * (1.0 - exact) / 4000.0).sqrt(),
            "n {n}: exact {exact}, bootstrap {boot}"
        );
    }
    println!("largest difference {worst:.4}");
    // Hand case: differences (1, 1, 1): only the all-plus pattern reaches 3 -> p = 1/8.
    assert_eq!(sign_flip_exact(&[1.0, 1.0, 1.0], &[0.0; 3]), 0.125);
}

#[test]
fn results_depend_on_the_seed_alone() {
    let a = answers(200, 0.6, 6);
    let b = answers(200, 0.55, 7);
    let one = with_threads(1, || paired_bootstrap_scores(&a, &b, 1000, 42));
    let two = with_threads(2, || paired_bootstrap_scores(&a, &b, 1000, 42));
    assert_eq!(one, two);
    let other = paired_bootstrap_scores(&a, &b, 1000, 43);
    assert_ne!(one.deltas, other.deltas);
    // A resample draws n indices in 0..n with replacement.
    let s = resample(50, &mut Rng::new(1));
    assert!(s.len() == 50 && s.iter().all(|&i| i < 50));
}

#[test]
fn the_bootstrap_distribution_is_centred_on_delta_test() {
    // E[delta(S)] = delta(D_test): why the test compares delta(S) with 2 delta(D_test).
    let a = answers(250, 0.7, 9);
    let b = answers(250, 0.6, 10);
    let r = paired_bootstrap_scores(&a, &b, 8000, 5);
    let mean = r.deltas.iter().sum::<f64>() / r.deltas.len() as f64;
    let sd =
        (r.deltas.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / r.deltas.len() as f64).sqrt();
    println!(
        "delta(D_test) {:.4}, mean delta(S) {mean:.4}, sd {sd:.4}",
        r.delta
    );
    assert!((mean - r.delta).abs() < 4.0 * sd / (8000f64).sqrt());
    // A set-level delta goes through the same function.
    let set_level = paired_bootstrap(250, 100, 5, |s| mean_over(&a, s) - mean_over(&b, s));
    // (the same resamples; the per-item difference is summed in another order)
    for (x, y) in set_level.deltas.iter().zip(&r.deltas) {
        assert!((x - y).abs() < 1e-12, "{x} vs {y}");
    }
}

#[test]
fn a_bootstrap_interval_covers_the_mean() {
    let x: Vec<f64> = (0..400).map(|i| (i % 10) as f64).collect();
    let ci = bootstrap_interval(400, 2000, 1, 0.95, |s| mean_over(&x, s));
    println!("{ci:?}");
    // The standard error of the mean is 2.87 / 20 = 0.14: the interval is about +/- 0.28.
    assert!(ci.low < 4.5 && 4.5 < ci.high && ci.high - ci.low < 0.7 && ci.high - ci.low > 0.4);
}

#[test]
fn restarts_summary_by_hand() {
    let s = summarise(&[1.0, 2.0, 3.0], 0.95);
    assert!((s.mean - 2.0).abs() < 1e-12 && (s.std - 1.0).abs() < 1e-12);
    // t(0.975, 2) = 4.3027: 2 +/- 4.3027 / sqrt 3.
    let half = 4.302_652_729_911_275 / 3f64.sqrt();
    assert!(
        (s.low - (2.0 - half)).abs() < 1e-6 && (s.high - (2.0 + half)).abs() < 1e-6,
        "{s:?}"
    );
    let one = summarise(&[5.0], 0.95);
    assert!(one.std.is_nan() && one.low == f64::NEG_INFINITY);
}

// ---- exercises ---------------------------------------------------------------------------------

#[test]
fn exercise_12_1_fid_interval() {
    let mut rng = Rng::new(3);
    let real = gan::rng::noise::<f32>(&mut rng, 300, 3, 1.0);
    let fake = gan::rng::noise::<f32>(&mut rng, 300, 3, 1.0).map(|v| v + 0.5);
    let ci = fid_interval(&real, &fake, 200, 7);
    let whole = fid(&real, &fake);
    assert!(
        (ci.estimate - whole).abs() < 1e-9,
        "exercise 12.1: the estimate should be the FID of the whole sets ({whole}), found {}",
        ci.estimate
    );
    assert!(
        ci.low < whole && whole < ci.high && ci.level == 0.95,
        "exercise 12.1: a 95% interval should contain the whole-set FID {whole}: found {ci:?}"
    );
    assert_eq!(
        fid_interval(&real, &fake, 200, 7),
        ci,
        "exercise 12.1: the same seed must give the same interval"
    );
}

#[test]
fn exercise_12_2_win_rate_delta() {
    let a = [1.0, 0.0, 0.5, 0.7];
    let b = [0.0, 1.0, 0.5, 0.2];
    assert_eq!(
        win_rate_delta(&a, &b, &[0, 1, 2, 3]),
        0.25,
        "exercise 12.2: 2 wins, 1 loss, 1 tie over 4 items gives (2 - 1) / 4"
    );
    assert_eq!(
        win_rate_delta(&a, &b, &[0, 0, 2]),
        2.0 / 3.0,
        "exercise 12.2: indices may repeat (a bootstrap resample): count item 0 twice"
    );
    // In the paired bootstrap: A wins on most items.
    let x = answers(200, 0.8, 1);
    let y = answers(200, 0.5, 2);
    let r = paired_bootstrap(200, 1000, 1, |s| win_rate_delta(&x, &y, s));
    assert!(
        r.delta > 0.1 && r.p_value < 0.05,
        "exercise 12.2: with win_rate_delta, A (80% right) should beat B (50%): {} {}",
        r.delta,
        r.p_value
    );
}
