//! Chapter 1, Noise. Proves that:
//! - the random bits are xoshiro256** and SplitMix64 exactly as published, reproducible from a
//!   seed, and resumable from a saved state (including the cached Gaussian);
//! - the uniform floats, the integer ranges and the shuffle are uniform (chi-square tests);
//! - Box-Muller gives N(0, 1): four sample moments within 5 standard errors, a Kolmogorov-Smirnov
//!   test against normal_cdf, and uncorrelated pair outputs; `normal` and `noise` scale it;
//! - the statistics behind those checks (erf, the incomplete gamma and beta functions, the KS
//!   and chi-square p-values, Student's t) match values computed to 30 digits;
//! - the checks have teeth: they reject near-misses (the twelve-uniforms approximation, a shift
//!   of 0.01 sigma, a biased modulo);
//! - the exercise `polar_gaussian_pair` passes the same checks (tests `exercise_polar_*`).
//!
//! Every statistical test uses fixed seeds, so it is deterministic; the level it uses is stated.

// Reference values are quoted with all the digits they were computed to.
#![allow(clippy::excessive_precision)]

use gan::exercises::ch01_noise::polar_gaussian_pair;
use gan::rng::{noise, Rng, SplitMix64};
use gan::stats::*;
use proptest::prelude::*;

/// Samples for the moment and KS checks.
const N: usize = 1_000_000;
/// How many standard errors a sample moment may stray from its true value. A correct generator
/// strays this far with probability about 6e-7 per moment.
const Z: f64 = 5.0;
/// The smallest p-value a chi-square or KS test may give before we call the samples non-uniform
/// or non-Gaussian.
const LEVEL: f64 = 1e-4;

/// The moments of N(mu, sigma^2) samples, each compared with its true value in units of its
/// standard error: SE(mean) = sigma / sqrt n, SE(var) = sigma^2 sqrt(2 / n),
/// SE(skewness) = sqrt(6 / n), SE(excess kurtosis) = sqrt(24 / n). Returns what is off.
fn moment_failures(xs: &[f64], mu: f64, sigma: f64) -> Vec<String> {
    let m = moments(xs);
    let n = xs.len() as f64;
    let checks = [
        ("mean", m.mean, mu, sigma / n.sqrt()),
        (
            "variance",
            m.variance,
            sigma * sigma,
            sigma * sigma * (2.0 / n).sqrt(),
        ),
        ("skewness", m.skewness, 0.0, (6.0 / n).sqrt()),
        ("excess kurtosis", m.excess_kurtosis, 0.0, (24.0 / n).sqrt()),
    ];
    checks
        .iter()
        .filter(|(_, got, want, se)| got.is_nan() || (got - want).abs() > Z * se)
        .map(|(name, got, want, se)| {
            format!(
                "{name} = {got:.5}, expected {want} +- {:.5} ({Z} standard errors): off by {:.1} SE",
                Z * se,
                (got - want).abs() / se
            )
        })
        .collect()
}

/// A proptest configuration that does not write regression files (the blank exercise would
/// leave one behind on every run).
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(n)
    }
}

fn gaussians(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.gaussian()).collect()
}

fn polar_gaussians(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut xs = Vec::with_capacity(n);
    while xs.len() < n {
        let (a, b) = polar_gaussian_pair(&mut rng);
        xs.push(a);
        xs.push(b);
    }
    xs.truncate(n);
    xs
}

/// |got - want| <= tol * max(|want|, tiny), with both numbers in the message.
#[track_caller]
fn assert_rel(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= tol,
        "{what}: got {got:e}, want {want:e}, relative error {err:.2e} > {tol:e}"
    );
}

// ---- random bits ------------------------------------------------------------------------------

#[test]
fn xoshiro256starstar_matches_the_published_outputs_from_state_1_2_3_4() {
    // The reference outputs published with the algorithm for the state {1, 2, 3, 4}.
    let mut rng = Rng::from_state([1, 2, 3, 4], None).unwrap();
    let got: Vec<u64> = (0..10).map(|_| rng.next_u64()).collect();
    assert_eq!(
        got,
        [
            11520,
            0,
            1509978240,
            1215971899390074240,
            1216172134540287360,
            607988272756665600,
            16172922978634559625,
            8476171486693032832,
            10595114339597558777,
            2904607092377533576,
        ]
    );
}

#[test]
fn splitmix64_matches_the_published_outputs() {
    let mut sm = SplitMix64::new(0);
    let got: Vec<u64> = (0..4).map(|_| sm.next_u64()).collect();
    assert_eq!(
        got,
        [
            0xe220a8397b1dcdaf,
            0x6e789e6aa1b965f4,
            0x06c45d188009454f,
            0xf88bb8a8724c81ec
        ]
    );
    let mut sm = SplitMix64::new(1234567);
    let got: Vec<u64> = (0..3).map(|_| sm.next_u64()).collect();
    assert_eq!(
        got,
        [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423
        ]
    );
}

#[test]
fn same_seed_gives_the_same_stream() {
    let (mut a, mut b) = (Rng::new(42), Rng::new(42));
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    assert_eq!(gaussians(7, 1000), gaussians(7, 1000));
}

#[test]
fn different_seeds_give_different_streams() {
    // Neighbouring seeds too: SplitMix64 scatters them across the state space.
    let first_words: Vec<Vec<u64>> = (0..16u64)
        .map(|seed| {
            let mut rng = Rng::new(seed);
            (0..4).map(|_| rng.next_u64()).collect()
        })
        .collect();
    for i in 0..first_words.len() {
        for j in 0..i {
            for (x, y) in first_words[i].iter().zip(&first_words[j]) {
                assert_ne!(x, y, "seeds {i} and {j} share an output");
            }
        }
    }
}

#[test]
fn state_round_trip_continues_the_identical_stream() {
    let mut rng = Rng::new(2024);
    for _ in 0..10 {
        rng.next_u64();
    }
    rng.gaussian(); // an odd number of gaussian() calls: a second Gaussian is now cached
    assert!(rng.cached_gaussian().is_some());
    let mut resumed = Rng::from_state(rng.state(), rng.cached_gaussian()).unwrap();
    assert_eq!(resumed, rng);
    for i in 0..1000 {
        // A mix of every kind of draw, compared bit for bit.
        let (a, b) = match i % 4 {
            0 => (rng.gaussian(), resumed.gaussian()),
            1 => (rng.uniform(), resumed.uniform()),
            2 => (rng.normal(1.0, 3.0), resumed.normal(1.0, 3.0)),
            _ => (rng.below(1000) as f64, resumed.below(1000) as f64),
        };
        assert_eq!(a.to_bits(), b.to_bits(), "draw {i} differs after resuming");
    }
}

#[test]
fn from_state_refuses_the_all_zero_state() {
    let err = Rng::from_state([0; 4], None).unwrap_err().to_string();
    assert!(err.contains("nonzero"), "{err}");
    assert!(Rng::from_state([1, 0, 0, 0], Some(f64::NAN)).is_err());
}

#[test]
fn jump_is_a_function_of_the_state_that_commutes_with_stepping() {
    // The jump is a polynomial in the one-step transition, so jumping then stepping equals
    // stepping then jumping. (A wrong constant would still commute; the constants themselves are
    // the published ones.)
    let mut a = Rng::new(5);
    let mut b = a.clone();
    a.jump();
    a.next_u64();
    b.next_u64();
    b.jump();
    assert_eq!(a.state(), b.state());
    assert_ne!(a.state(), Rng::new(5).state());
}

#[test]
fn split_and_fork_are_deterministic_and_give_distinct_streams() {
    let mut parent = Rng::new(9);
    let child = parent.split();
    let mut again = Rng::new(9);
    assert_eq!(again.split(), child);
    assert_eq!(again, parent);
    assert_ne!(child.state(), parent.state());
    // The child takes over the parent's stream where it stood.
    let mut fresh = Rng::new(9);
    let mut child = child;
    assert_eq!(child.next_u64(), fresh.next_u64());

    let root = Rng::new(9);
    let (mut f0, mut f1) = (root.fork(0), root.fork(1));
    assert_eq!(root, Rng::new(9), "fork must not advance its parent");
    assert_eq!(root.fork(0), f0);
    let (x0, x1): (Vec<u64>, Vec<u64>) = (0..8).map(|_| (f0.next_u64(), f1.next_u64())).unzip();
    assert!(x0.iter().zip(&x1).all(|(a, b)| a != b));
}

// ---- uniform numbers --------------------------------------------------------------------------

#[test]
fn uniform_draws_stay_in_their_ranges_on_the_2_pow_minus_53_grid() {
    let mut rng = Rng::new(1);
    let two53 = (1u64 << 53) as f64;
    let (mut lo, mut hi) = (1.0f64, 0.0f64);
    for _ in 0..100_000 {
        let u = rng.uniform();
        assert!((0.0..1.0).contains(&u), "uniform() = {u} outside [0, 1)");
        assert_eq!((u * two53).fract(), 0.0, "uniform() = {u} is not k / 2^53");
        lo = lo.min(u);
        hi = hi.max(u);
        let v = rng.uniform_open0();
        assert!(v > 0.0 && v <= 1.0, "uniform_open0() = {v} outside (0, 1]");
        assert!(v.ln().is_finite());
        let w = rng.uniform_range(-3.0, 5.0);
        assert!((-3.0..5.0).contains(&w), "uniform_range(-3, 5) = {w}");
    }
    assert!(
        lo < 1e-3 && hi > 1.0 - 1e-3,
        "100000 draws span only [{lo}, {hi}]"
    );
}

#[test]
fn uniform_passes_a_chi_square_test_with_100_bins() {
    // 10^6 draws in 100 equal bins: 10^4 expected per bin, 99 degrees of freedom.
    let mut rng = Rng::new(11);
    let xs: Vec<f64> = (0..N).map(|_| rng.uniform()).collect();
    let counts = histogram(&xs, 0.0, 1.0, 100);
    assert_eq!(counts.iter().sum::<u64>(), N as u64);
    let stat = chi_square_statistic(&counts, &[N as f64 / 100.0; 100]);
    let p = chi_square_p_value(stat, 99);
    assert!(
        p > LEVEL,
        "chi-square = {stat:.1} on 99 dof, p = {p:.2e} <= {LEVEL}"
    );
}

/// Chi-square p-value of the values of `draw` (in 0..bins) against uniform.
fn uniformity_p(bins: usize, draws: usize, mut draw: impl FnMut() -> usize) -> f64 {
    let mut counts = vec![0u64; bins];
    for _ in 0..draws {
        counts[draw()] += 1;
    }
    let expected = vec![draws as f64 / bins as f64; bins];
    chi_square_p_value(chi_square_statistic(&counts, &expected), bins - 1)
}

#[test]
fn below_is_unbiased() {
    let mut rng = Rng::new(12);
    assert_eq!(rng.below(1), 0);
    for n in [2, 7, 10, 97] {
        let p = uniformity_p(n, 200_000, || rng.below(n));
        assert!(p > LEVEL, "below({n}): chi-square p = {p:.2e} <= {LEVEL}");
    }
}

#[cfg(target_pointer_width = "64")]
#[test]
fn below_is_unbiased_where_a_plain_modulo_is_not() {
    // n = 3 * 2^62. `next_u64() % n` would land in the first third [0, 2^62) half of the time;
    // the rejection step makes each third 1/3.
    let n = 3usize << 62;
    let mut rng = Rng::new(13);
    let p = uniformity_p(3, 60_000, || rng.below(n) >> 62);
    assert!(
        p > LEVEL,
        "below(3 * 2^62) thirds: chi-square p = {p:.2e} <= {LEVEL}"
    );
    let mut rng = Rng::new(13);
    let naive = uniformity_p(3, 60_000, || ((rng.next_u64() % n as u64) >> 62) as usize);
    assert!(
        naive < 1e-100,
        "the plain modulo should fail this test, p = {naive:e}"
    );
}

#[test]
fn shuffle_returns_a_permutation() {
    let mut rng = Rng::new(14);
    for len in [0, 1, 2, 5, 100] {
        let mut v: Vec<usize> = (0..len).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..len).collect::<Vec<_>>());
    }
}

#[test]
fn shuffle_is_uniform_over_the_six_permutations_of_three_items() {
    let mut rng = Rng::new(15);
    let p = uniformity_p(6, 60_000, || {
        let mut v = [0usize, 1, 2];
        rng.shuffle(&mut v);
        // The permutation's index 0..6: which item went first, then the order of the other two.
        2 * v[0] + usize::from(v[1] > v[2])
    });
    assert!(
        p > LEVEL,
        "shuffle of 3 items: chi-square p = {p:.2e} <= {LEVEL}"
    );
}

// ---- Gaussian numbers -------------------------------------------------------------------------

#[test]
fn box_muller_moments_match_n01() {
    let fails = moment_failures(&gaussians(21, N), 0.0, 1.0);
    assert!(
        fails.is_empty(),
        "Box-Muller, {N} draws:\n{}",
        fails.join("\n")
    );
}

#[test]
fn box_muller_passes_kolmogorov_smirnov_against_normal_cdf() {
    let xs = gaussians(22, N);
    let d = ks_statistic(&xs, normal_cdf);
    let p = ks_p_value(d, xs.len());
    assert!(
        p > LEVEL,
        "KS D = {d:.2e} from {N} draws, p = {p:.2e} <= {LEVEL}"
    );
}

#[test]
fn box_muller_pair_outputs_are_uncorrelated() {
    // Independent N(0, 1) x and y have corr(x, y) = 0 and corr(x^2, y^2) = 0; each sample
    // correlation then has standard error about 1 / sqrt(n).
    let mut rng = Rng::new(23);
    let n = 200_000;
    let (xs, ys): (Vec<f64>, Vec<f64>) = (0..n).map(|_| rng.gaussian_pair()).unzip();
    let square = |v: &[f64]| v.iter().map(|x| x * x).collect::<Vec<_>>();
    let bound = Z / (n as f64).sqrt();
    let r = correlation(&xs, &ys);
    let r2 = correlation(&square(&xs), &square(&ys));
    assert!(r.abs() < bound, "corr(x, y) = {r:.4}, bound {bound:.4}");
    assert!(
        r2.abs() < bound,
        "corr(x^2, y^2) = {r2:.4}, bound {bound:.4}"
    );
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

#[test]
fn gaussian_returns_both_outputs_of_each_pair() {
    let mut by_pair = Rng::new(24);
    let mut one_by_one = Rng::new(24);
    for _ in 0..100 {
        let (a, b) = by_pair.gaussian_pair();
        assert_eq!(one_by_one.gaussian(), a);
        assert_eq!(one_by_one.gaussian(), b);
    }
}

#[test]
fn normal_scales_by_sigma_and_shifts_by_mu() {
    let (mu, sigma) = (3.0, 0.5);
    let mut rng = Rng::new(25);
    let xs: Vec<f64> = (0..200_000).map(|_| rng.normal(mu, sigma)).collect();
    let fails = moment_failures(&xs, mu, sigma);
    assert!(
        fails.is_empty(),
        "normal({mu}, {sigma}):\n{}",
        fails.join("\n")
    );
    // fill_normal draws the same numbers, rounded to the element type.
    let mut a = Rng::new(26);
    let mut b = Rng::new(26);
    let mut out = [0.0f32; 9];
    a.fill_normal(&mut out, mu, sigma);
    for x in out {
        assert_eq!(x, b.normal(mu, sigma) as f32);
    }
}

#[test]
fn noise_is_a_batch_by_dim_tensor_of_n0_sigma2_draws() {
    let sigma = 0.7;
    let z = noise::<f32>(&mut Rng::new(27), 512, 100, sigma);
    assert_eq!(z.shape(), &[512, 100]);
    let xs: Vec<f64> = z.as_slice().iter().map(|&x| x as f64).collect();
    let fails = moment_failures(&xs, 0.0, sigma);
    assert!(
        fails.is_empty(),
        "noise(512, 100, {sigma}):\n{}",
        fails.join("\n")
    );
    // Reproducible from the seed, in either precision.
    let z64 = noise::<f64>(&mut Rng::new(27), 512, 100, sigma);
    assert_eq!(z64.cast::<f32>(), z);
    assert_eq!(
        noise::<f32>(&mut Rng::new(27), 0, 100, sigma).shape(),
        &[0, 100]
    );
}

#[test]
fn the_checks_reject_the_twelve_uniforms_approximation() {
    // The sum of 12 uniforms minus 6 has mean 0 and variance 1 but excess kurtosis -1/10 and
    // no tails beyond +-6: the kurtosis check must see it.
    let mut rng = Rng::new(28);
    let xs: Vec<f64> = (0..N)
        .map(|_| (0..12).map(|_| rng.uniform()).sum::<f64>() - 6.0)
        .collect();
    let fails = moment_failures(&xs, 0.0, 1.0);
    assert!(
        fails.iter().any(|f| f.starts_with("excess kurtosis")),
        "expected a kurtosis failure, found {fails:?}"
    );
}

#[test]
fn the_ks_test_rejects_a_shift_of_a_hundredth_sigma() {
    let xs: Vec<f64> = gaussians(29, N).iter().map(|x| x + 0.01).collect();
    let p = ks_p_value(ks_statistic(&xs, normal_cdf), N);
    assert!(
        p < LEVEL,
        "KS should reject N(0.01, 1) as N(0, 1) with {N} draws, p = {p:.2e}"
    );
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn box_muller_mean_and_variance_hold_for_any_seed(seed in any::<u64>()) {
        let n = 20_000;
        let m = moments(&gaussians(seed, n));
        let n = n as f64;
        prop_assert!(m.mean.abs() < Z / n.sqrt(), "seed {}: mean {}", seed, m.mean);
        prop_assert!((m.variance - 1.0).abs() < Z * (2.0 / n).sqrt(), "seed {}: variance {}", seed, m.variance);
    }
}

// ---- the exercise: the Marsaglia polar method -------------------------------------------------

const POLAR_HINT: &str = "look at polar_gaussian_pair in src/exercises/ch01_noise.rs: u and v \
    uniform on [-1, 1), keep only 0 < s = u^2 + v^2 < 1, scale both by sqrt(-2 ln(s) / s)";

#[test]
fn exercise_polar_moments_match_n01() {
    let fails = moment_failures(&polar_gaussians(31, N), 0.0, 1.0);
    assert!(
        fails.is_empty(),
        "polar method, {N} draws:\n{}\nHint: {POLAR_HINT}",
        fails.join("\n")
    );
}

#[test]
fn exercise_polar_passes_kolmogorov_smirnov_against_normal_cdf() {
    let xs = polar_gaussians(32, N);
    let d = ks_statistic(&xs, normal_cdf);
    let p = ks_p_value(d, xs.len());
    assert!(
        p > LEVEL,
        "polar method: KS D = {d:.2e} from {N} draws, p = {p:.2e} <= {LEVEL}.\nHint: {POLAR_HINT}"
    );
}

#[test]
fn exercise_polar_pair_outputs_are_uncorrelated() {
    let mut rng = Rng::new(33);
    let n = 200_000;
    let (xs, ys): (Vec<f64>, Vec<f64>) = (0..n).map(|_| polar_gaussian_pair(&mut rng)).unzip();
    let square = |v: &[f64]| v.iter().map(|x| x * x).collect::<Vec<_>>();
    let bound = Z / (n as f64).sqrt();
    let r = correlation(&xs, &ys);
    let r2 = correlation(&square(&xs), &square(&ys));
    assert!(
        r.abs() < bound && r2.abs() < bound,
        "polar method: corr(x, y) = {r:.4}, corr(x^2, y^2) = {r2:.4}, bound {bound:.4}: the two \
         outputs of a pair must be independent.\nHint: {POLAR_HINT}"
    );
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn exercise_polar_mean_and_variance_hold_for_any_seed(seed in any::<u64>()) {
        let n = 20_000;
        let m = moments(&polar_gaussians(seed, n));
        let n = n as f64;
        prop_assert!(m.mean.abs() < Z / n.sqrt(), "seed {}: mean {}. Hint: {}", seed, m.mean, POLAR_HINT);
        prop_assert!(
            (m.variance - 1.0).abs() < Z * (2.0 / n).sqrt(),
            "seed {}: variance {}. Hint: {}", seed, m.variance, POLAR_HINT
        );
    }
}

// ---- the statistics ---------------------------------------------------------------------------
// Reference values computed with 40-digit arithmetic (mpmath's erf, erfc, ncdf, loggamma,
// gammainc and betainc), rounded to 17 significant digits.

#[test]
fn erf_and_erfc_match_reference_values() {
    let table = [
        // x, erf(x), erfc(x)
        (1e-10, 1.128379167095512615e-10, 0.99999999988716208329),
        (0.1, 0.1124629160182848984, 0.8875370839817151016),
        (0.5, 0.52049987781304653768, 0.47950012218695346232),
        (1.0, 0.84270079294971486934, 0.15729920705028513066),
        (1.5, 0.96610514647531072707, 0.033894853524689272933),
        (1.999, 0.99530155665137051232, 0.0046984433486294876811),
        (2.0, 0.99532226501895273416, 0.0046777349810472658379),
        (2.5, 0.99959304798255504106, 0.00040695201744495893956),
        (3.0, 0.99997790950300141456, 0.000022090496998585441373),
        (4.0, 0.99999998458274209972, 1.5417257900280018852e-8),
        (5.0, 0.99999999999846254021, 1.5374597944280348502e-12),
        (-0.7, -0.67780119383741844228, 1.6778011938374184423),
    ];
    for (x, want_erf, want_erfc) in table {
        assert_rel(&format!("erf({x})"), erf(x), want_erf, 1e-14);
        assert_rel(&format!("erfc({x})"), erfc(x), want_erfc, 1e-13);
        assert_rel(&format!("erf({})", -x), erf(-x), -want_erf, 1e-14);
    }
    for (x, want) in [
        (6.0, 2.1519736712498913117e-17),
        (10.0, 2.088487583762544757e-45),
        (15.0, 7.2129941724512066666e-100),
        (26.0, 5.6631924088561428465e-296),
    ] {
        assert_rel(&format!("erfc({x})"), erfc(x), want, 1e-13);
    }
    assert_eq!(erf(f64::INFINITY), 1.0);
    assert_eq!(erfc(f64::INFINITY), 0.0);
    assert!(erf(f64::NAN).is_nan());
}

#[test]
fn normal_cdf_pdf_and_quantile_match_reference_values() {
    for (x, want) in [
        (-8.0, 6.2209605742717841235e-16),
        (-3.0, 0.0013498980316300945267),
        (0.0, 0.5),
        (1.0, 0.84134474606854294859),
        (3.0, 0.99865010196836990547),
    ] {
        assert_rel(&format!("normal_cdf({x})"), normal_cdf(x), want, 1e-13);
    }
    assert_rel("normal_pdf(0)", normal_pdf(0.0), 0.3989422804014327, 1e-15);
    assert_rel("normal_pdf(2)", normal_pdf(2.0), 0.05399096651318806, 1e-14);
    assert_rel(
        "normal_quantile(0.975)",
        normal_quantile(0.975),
        1.9599639845400542355,
        1e-13,
    );
    assert_rel(
        "normal_quantile(1e-10)",
        normal_quantile(1e-10),
        -6.3613409024040562047,
        1e-12,
    );
}

#[test]
fn moments_of_a_small_sample_are_exact() {
    let m = moments(&[1.0f64, 2.0, 3.0, 10.0]);
    assert_eq!(m.n, 4);
    assert_eq!(m.mean, 4.0);
    assert_rel("variance", m.variance, 50.0 / 3.0, 1e-15);
    assert_rel("skewness", m.skewness, 1.0182337649086284, 1e-14);
    assert_rel("excess kurtosis", m.excess_kurtosis, -0.7696, 1e-14);
    assert_eq!(mean(&[1.0f32, 2.0]), 1.5);
    assert_eq!(variance(&[1.0f32, 3.0]), 2.0);
    assert_eq!(
        histogram(&[0.0, 0.5, 0.99, 1.0, -0.1], 0.0, 1.0, 2),
        vec![1, 2]
    );
}

#[test]
fn ks_statistic_of_a_hand_computed_sample() {
    // Against U(0, 1): the gaps are 1/3 - 0.1 before the first point and 0.9 - 2/3 at the last.
    let d = ks_statistic(&[0.9, 0.1, 0.5], |x| x.clamp(0.0, 1.0));
    assert_rel("D", d, 7.0 / 30.0, 1e-14);
}

#[test]
fn kolmogorov_and_ks_p_values_match_reference_values() {
    for (lambda, want) in [
        (0.3, 0.99999069419866543338),
        (0.5, 0.96394524366487509439),
        (0.8, 0.54414241157419807674),
        (1.0, 0.2699996716773545212),
        (1.1, 0.17771819260640118377),
        (1.2, 0.11224966667072498483),
        (1.3580986393225506, 0.05),
        (1.6276236115189503, 0.01),
        (2.0, 0.00067092525577969534654),
        (3.0, 3.0459959489425256872e-8),
    ] {
        assert_rel(
            &format!("kolmogorov_q({lambda})"),
            kolmogorov_q(lambda),
            want,
            1e-13,
        );
    }
    assert_eq!(kolmogorov_q(0.0), 1.0);
    // Large n: sqrt(n) D is lambda, so D = 1.358 / sqrt(n) is the 5% critical value.
    let n = 1_000_000;
    let p = ks_p_value(1.3580986393225506 / 1000.0, n);
    assert!(
        (p - 0.05).abs() < 1e-3,
        "ks_p_value at the 5% critical value: {p}"
    );
}

#[test]
fn ln_gamma_matches_reference_values() {
    for (x, want) in [
        (0.5, 0.57236494292470008707),
        (1.5, -0.12078223763524522235),
        (3.0, std::f64::consts::LN_2),
        (7.3, 7.1478925230222486921),
        (10.0, 12.801827480081469611),
        (100.0, 359.13420536957539878),
        (1e-5, 11.512919692895825626),
        (0.001, 6.9071788853838536617),
    ] {
        // Absolute error for |ln Gamma| < 1: near its zeros at 1 and 2 the value is a small
        // difference of numbers near 13 and only its absolute error can be small.
        let err = (ln_gamma(x) - want).abs() / want.abs().max(1.0);
        assert!(
            err < 1e-14,
            "ln_gamma({x}) = {:e}, want {want:e}, error {err:.1e}",
            ln_gamma(x)
        );
    }
    assert!(ln_gamma(1.0).abs() < 1e-15 && ln_gamma(2.0).abs() < 1e-15);
}

#[test]
fn incomplete_gamma_matches_reference_values() {
    for (a, x, p, q) in [
        (0.5, 0.5, 0.68268949213708589717, 0.31731050786291410283),
        (1.0, 1.0, 0.6321205588285576784, 0.3678794411714423216),
        (3.0, 2.0, 0.32332358381693654053, 0.67667641618306345947),
        (10.0, 5.0, 0.031828057306204811737, 0.96817194269379518826),
        (10.0, 15.0, 0.93014633930059023231, 0.069853660699409767692),
        (50.0, 40.0, 0.070335066659394954437, 0.92966493334060504556),
        (2.5, 0.1, 0.00088613878881244260674, 0.99911386121118755739),
        (
            100.0,
            130.0,
            0.99724959163269347372,
            0.002750408367306526277,
        ),
    ] {
        assert_rel(&format!("gamma_p({a}, {x})"), gamma_p(a, x), p, 1e-13);
        assert_rel(&format!("gamma_q({a}, {x})"), gamma_q(a, x), q, 1e-13);
    }
    assert_eq!(gamma_p(2.0, 0.0), 0.0);
    assert_eq!(gamma_q(2.0, 0.0), 1.0);
}

#[test]
fn chi_square_p_value_matches_reference_values() {
    for (stat, dof, want) in [
        (3.841458820694124, 1, 0.050000000000000057435), // the 5% critical values
        (18.307038053275146, 10, 0.050000000000000006706),
        (124.34210840188, 100, 0.050000031571633539138),
        (1.0, 1, 0.31731050786291410283),
        (50.0, 10, 2.6690834249044956397e-7),
        (200.0, 99, 8.1939118914221110885e-9),
    ] {
        assert_rel(
            &format!("chi_square_p_value({stat}, {dof})"),
            chi_square_p_value(stat, dof),
            want,
            1e-12,
        );
    }
    assert_eq!(chi_square_statistic(&[10, 30], &[20.0, 20.0]), 10.0);
}

#[test]
fn incomplete_beta_matches_reference_values() {
    for (a, b, x, want) in [
        (2.0, 3.0, 0.4, 0.5248),
        (0.5, 0.5, 0.3, 0.36901011956554537504),
        (10.0, 2.0, 0.9, 0.6973568802),
        (1.0, 1.0, 0.25, 0.25),
    ] {
        assert_rel(
            &format!("beta_inc({a}, {b}, {x})"),
            beta_inc(a, b, x),
            want,
            1e-13,
        );
    }
}

#[test]
fn student_t_cdf_matches_closed_forms_and_reference_values() {
    for t in [-30.0, -2.0, -0.3, 0.0, 0.7, 4.0, 100.0] {
        // nu = 1 is the Cauchy distribution; nu = 2 has a closed form too.
        let cauchy = 0.5 + f64::atan(t) / std::f64::consts::PI;
        assert_rel(
            &format!("t_cdf({t}, 1)"),
            student_t_cdf(t, 1.0),
            cauchy,
            1e-13,
        );
        let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
        assert_rel(&format!("t_cdf({t}, 2)"), student_t_cdf(t, 2.0), two, 1e-13);
    }
    for (t, nu, want) in [
        (0.5, 3.0, 0.67427601757592444628),
        (2.0, 5.0, 0.94903026058507081537),
        (-1.3, 12.0, 0.10900858554175713662),
        (10.0, 1.5, 0.98817032244318922186),
        (40.0, 3.0, 0.99998280965960542074),
    ] {
        assert_rel(
            &format!("t_cdf({t}, {nu})"),
            student_t_cdf(t, nu),
            want,
            1e-13,
        );
    }
    assert_eq!(student_t_cdf(1.0, f64::INFINITY), normal_cdf(1.0));
}

#[test]
fn student_t_quantile_matches_tabled_critical_values() {
    for (p, nu, want) in [
        (0.975, 1.0, 12.706204736174693314),
        (0.975, 2.0, 4.3026527297494617894),
        (0.975, 5.0, 2.5705818356363147828),
        (0.975, 10.0, 2.2281388519862742245),
        (0.975, 30.0, 2.0422724563012378878),
        (0.95, 10.0, 1.8124611228116758693),
        (0.995, 20.0, 2.8453397097861080688),
        (0.9995, 3.0, 12.923978636687964322),
        (0.6, 7.0, 0.26316686135202275215),
        (0.025, 4.0, -2.7764451051977943036),
        (0.975, 1000.0, 1.9623390808264081039),
        (0.975, 2.5, 3.5746548420036817607),
        (0.975, f64::INFINITY, 1.9599639845400542355),
    ] {
        assert_rel(
            &format!("t_quantile({p}, {nu})"),
            student_t_quantile(p, nu),
            want,
            1e-12,
        );
    }
    assert_eq!(student_t_quantile(0.5, 3.0), 0.0);
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn student_t_quantile_inverts_the_cdf(p in 1e-6f64..0.999999, nu in 0.5f64..200.0) {
        let t = student_t_quantile(p, nu);
        let back = student_t_cdf(t, nu);
        prop_assert!((back - p).abs() <= 1e-12 * p.min(1.0 - p).max(1e-3), "p {} nu {}: t {} cdf {}", p, nu, t, back);
    }
}
