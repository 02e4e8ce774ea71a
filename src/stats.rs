//! Chapter 1 (used again in chapter 12). The statistics that decide whether samples look like
//! the distribution they claim to come from: sample moments, the Kolmogorov-Smirnov and
//! chi-square tests, and the special functions under them (erf, the gamma and beta functions).
//!
//! Everything is f64 and aims at about 1e-13 relative accuracy or better; the tests in
//! `tests/ch01_noise.rs` compare against values computed to 30 digits. The methods are the
//! textbook ones, named where they are used: power series where they converge fast, continued
//! fractions (evaluated by the modified Lentz algorithm) where they do not.

use crate::scalar::Real;

const SQRT_PI: f64 = 1.772_453_850_905_516;
/// Machine precision for the series and continued fractions below.
const EPS: f64 = 1e-16;
/// Stands in for 0 in the Lentz algorithm, where a 0 would divide.
const TINY: f64 = 1e-300;
const MAX_ITERATIONS: usize = 10_000;

// ---- the error function and the normal distribution -------------------------------------------

/// The error function erf(x) = (2 / sqrt(pi)) * integral_0^x exp(-t^2) dt.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x.abs() < 2.0 {
        erf_series(x)
    } else {
        x.signum() * (1.0 - erfc_continued_fraction(x.abs()))
    }
}

/// The complementary error function erfc(x) = 1 - erf(x), accurate also where it is tiny.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x.abs() < 1.0 {
        // Here erfc(x) > erfc(1) ~ 0.16, so the subtraction loses less than one digit.
        1.0 - erf_series(x)
    } else if x > 0.0 {
        erfc_continued_fraction(x)
    } else {
        2.0 - erfc_continued_fraction(-x)
    }
}

/// erf(x) = (2 / sqrt(pi)) exp(-x^2) * sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1)).
///
/// Unlike the Taylor series of erf, every term is positive, so nothing cancels. Used for |x| < 2
/// (at most about 40 terms).
fn erf_series(x: f64) -> f64 {
    let two_x2 = 2.0 * x * x;
    let mut term = x;
    let mut sum = x;
    let mut k = 1.0;
    while term.abs() > sum.abs() * EPS {
        term *= two_x2 / (2.0 * k + 1.0);
        sum += term;
        k += 1.0;
    }
    2.0 / SQRT_PI * (-x * x).exp() * sum
}

/// erfc(x) for x >= 1 by Laplace's continued fraction
///
/// erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + ...)))),
///
/// evaluated forwards by the modified Lentz algorithm (Lentz 1976; Thompson and Barnett 1986).
/// It converges for every x > 0, in about 190 steps at x = 1 and 60 at x = 2.
fn erfc_continued_fraction(x: f64) -> f64 {
    if x > 27.5 {
        return 0.0; // below the smallest subnormal f64
    }
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for n in 1..MAX_ITERATIONS {
        let a = n as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = x + a / c;
        if c.abs() < TINY {
            c = TINY;
        }
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    (-x * x).exp() / (SQRT_PI * f)
}

/// The N(0, 1) density exp(-x^2 / 2) / sqrt(2 pi).
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (std::f64::consts::SQRT_2 * SQRT_PI)
}

/// The N(0, 1) distribution function P(Z <= x) = erfc(-x / sqrt 2) / 2, accurate in both tails.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The x with P(Z <= x) = p for Z ~ N(0, 1), for 0 < p < 1.
pub fn normal_quantile(p: f64) -> f64 {
    quantile_of_symmetric(p, |t| normal_cdf(-t), normal_pdf)
}

// ---- sample moments ---------------------------------------------------------------------------

/// The first four sample moments of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    /// The unbiased variance: sum (x - mean)^2 / (n - 1).
    pub variance: f64,
    /// g1 = m3 / m2^(3/2), with m_k = sum (x - mean)^k / n. 0 for a Gaussian.
    pub skewness: f64,
    /// g2 = m4 / m2^2 - 3. 0 for a Gaussian.
    pub excess_kurtosis: f64,
}

/// Mean, variance, skewness and excess kurtosis, by two passes in f64 (the mean first, then the
/// central sums, which avoids the cancellation of the one-pass formulas). NaN for an empty
/// sample; the variance is NaN for n = 1.
pub fn moments<T: Real>(xs: &[T]) -> Moments {
    let n = xs.len() as f64;
    let mean = mean(xs);
    let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
    for x in xs {
        let d = x.to_f64() - mean;
        let d2 = d * d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    let m2 = s2 / n;
    Moments {
        n: xs.len(),
        mean,
        variance: s2 / (n - 1.0),
        skewness: (s3 / n) / m2.powf(1.5),
        excess_kurtosis: (s4 / n) / (m2 * m2) - 3.0,
    }
}

/// The sample mean, summed in f64.
pub fn mean<T: Real>(xs: &[T]) -> f64 {
    xs.iter().map(|x| x.to_f64()).sum::<f64>() / xs.len() as f64
}

/// The unbiased sample variance, sum (x - mean)^2 / (n - 1).
pub fn variance<T: Real>(xs: &[T]) -> f64 {
    moments(xs).variance
}

/// Counts of `xs` in `bins` equal bins over [lo, hi); values outside (and NaN) are not counted.
pub fn histogram<T: Real>(xs: &[T], lo: f64, hi: f64, bins: usize) -> Vec<u64> {
    assert!(
        lo < hi && bins > 0,
        "histogram: expected lo < hi and bins > 0, found [{lo}, {hi}) and {bins} bins"
    );
    let mut counts = vec![0u64; bins];
    let scale = bins as f64 / (hi - lo);
    for x in xs {
        let x = x.to_f64();
        if x >= lo && x < hi {
            // min: rounding can put a value just below hi into bin `bins`.
            counts[(((x - lo) * scale) as usize).min(bins - 1)] += 1;
        }
    }
    counts
}

// ---- Kolmogorov-Smirnov -----------------------------------------------------------------------

/// The Kolmogorov-Smirnov statistic D = sup_x |F_n(x) - F(x)|: the largest vertical gap between
/// the sample's empirical distribution function F_n and the claimed distribution function `cdf`.
///
/// F_n jumps from i/n to (i+1)/n at the i-th smallest sample, so the supremum is attained just
/// before or at a jump. Samples should be finite; a NaN makes D NaN.
pub fn ks_statistic<T: Real>(samples: &[T], cdf: impl Fn(f64) -> f64) -> f64 {
    assert!(
        !samples.is_empty(),
        "ks_statistic: expected samples, found none"
    );
    let mut sorted: Vec<f64> = samples.iter().map(|x| x.to_f64()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        let f = cdf(x);
        let gap = (f - i as f64 / n).max((i + 1) as f64 / n - f);
        if gap > d || gap.is_nan() {
            d = gap;
        }
    }
    d
}

/// The Kolmogorov distribution's upper tail Q(lambda) = P(K > lambda), the limit of
/// P(sqrt(n) D > lambda) as n grows (Kolmogorov 1933):
///
/// Q(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2).
///
/// That series converges slowly for small lambda; there the equivalent theta-function form
/// 1 - (sqrt(2 pi) / lambda) sum_{j>=1} exp(-(2j-1)^2 pi^2 / (8 lambda^2)) is used instead.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    let mut sum = 0.0;
    if lambda < 1.18 {
        let c = -std::f64::consts::PI.powi(2) / (8.0 * lambda * lambda);
        for j in 1..=20 {
            let k = (2 * j - 1) as f64;
            sum += (c * k * k).exp();
        }
        1.0 - (2.0 * std::f64::consts::PI).sqrt() / lambda * sum
    } else {
        let mut sign = 1.0;
        for j in 1..=20 {
            let j = j as f64;
            sum += sign * (-2.0 * j * j * lambda * lambda).exp();
            sign = -sign;
        }
        (2.0 * sum).clamp(0.0, 1.0)
    }
}

/// The p-value of a KS statistic `d` from `n` samples: P(D >= d) if the samples really follow
/// the claimed distribution. Uses the asymptotic Kolmogorov distribution at the effective
/// lambda = (sqrt n + 0.12 + 0.11 / sqrt n) d (Stephens 1970), good to a few percent for n >= 5
/// and far better for the thousands of samples the tests use.
pub fn ks_p_value(d: f64, n: usize) -> f64 {
    let root_n = (n as f64).sqrt();
    kolmogorov_q((root_n + 0.12 + 0.11 / root_n) * d)
}

// ---- the gamma function and the chi-square distribution --------------------------------------

/// ln Gamma(x) for x > 0.
///
/// Stirling's series (ln Gamma(x) = (x - 1/2) ln x - x + ln(2 pi) / 2 + sum_k B_2k / (2k (2k - 1)
/// x^(2k-1))) is asymptotic, so small x is first shifted up to x >= 10 by
/// Gamma(x) = Gamma(x + m) / (x (x + 1) ... (x + m - 1)). Seven terms then leave an error below
/// 1e-17.
pub fn ln_gamma(x: f64) -> f64 {
    assert!(x > 0.0, "ln_gamma: expected x > 0, found {x}");
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift += x.ln();
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    // The Bernoulli terms B_2k / (2k (2k - 1)) for k = 1..7, applied by Horner's rule in 1/x^2.
    let series = r
        * (1.0 / 12.0
            + r2 * (-1.0 / 360.0
                + r2 * (1.0 / 1260.0
                    + r2 * (-1.0 / 1680.0
                        + r2 * (1.0 / 1188.0 + r2 * (-691.0 / 360_360.0 + r2 * (1.0 / 156.0)))))));
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series - shift
}

/// The regularized lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a), for
/// a > 0, x >= 0. It is the distribution function of a Gamma(a, 1) variable.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    check_gamma_args(a, x);
    if x == 0.0 {
        0.0
    } else if x < a + 1.0 {
        gamma_p_series(a, x)
    } else {
        1.0 - gamma_q_continued_fraction(a, x)
    }
}

/// The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), accurate where it is
/// tiny (the far tail a p-value lives in).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    check_gamma_args(a, x);
    if x == 0.0 {
        1.0
    } else if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_continued_fraction(a, x)
    }
}

fn check_gamma_args(a: f64, x: f64) {
    assert!(
        a > 0.0 && x >= 0.0,
        "incomplete gamma: expected a > 0 and x >= 0, found a = {a}, x = {x}"
    );
}

/// x^a e^-x / Gamma(a), the factor both expansions share, computed in logs to avoid overflow.
fn gamma_prefactor(a: f64, x: f64) -> f64 {
    (a * x.ln() - x - ln_gamma(a)).exp()
}

/// P(a, x) = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) (a + 2) ... (a + n)).
/// All terms are positive and, for x < a + 1, they shrink from the start.
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut ap = a;
    for _ in 0..MAX_ITERATIONS {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            break;
        }
    }
    (sum * gamma_prefactor(a, x)).min(1.0)
}

/// Q(a, x) = x^a e^-x / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a
/// - ...))), Legendre's continued fraction, by the modified Lentz algorithm. Fast for x >= a + 1.
fn gamma_q_continued_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut f = d;
    for i in 1..MAX_ITERATIONS {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    (f * gamma_prefactor(a, x)).clamp(0.0, 1.0)
}

/// Pearson's statistic sum_i (observed_i - expected_i)^2 / expected_i over the bins.
pub fn chi_square_statistic(observed: &[u64], expected: &[f64]) -> f64 {
    assert_eq!(
        observed.len(),
        expected.len(),
        "chi_square_statistic: expected as many expected counts as observed bins"
    );
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum()
}

/// P(X >= statistic) for X chi-square distributed with `dof` degrees of freedom:
/// Q(dof / 2, statistic / 2), since chi-square(k) is Gamma(k / 2, scale 2).
pub fn chi_square_p_value(statistic: f64, dof: usize) -> f64 {
    assert!(dof > 0, "chi_square_p_value: expected dof > 0, found 0");
    gamma_q(dof as f64 / 2.0, statistic.max(0.0) / 2.0)
}

// ---- the beta function and Student's t (for chapter 12) ---------------------------------------

/// ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    assert!(
        a > 0.0 && b > 0.0 && (0.0..=1.0).contains(&x),
        "beta_inc: expected a, b > 0 and 0 <= x <= 1, found a = {a}, b = {b}, x = {x}"
    );
    beta_inc_split(a, b, x, 1.0 - x)
}

/// I_x(a, b) with 1 - x passed separately (`y`), so callers that know it exactly (Student's t
/// near t = 0) lose nothing to the subtraction.
fn beta_inc_split(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    if y == 0.0 {
        return 1.0;
    }
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use the
    // symmetry I_x(a, b) = 1 - I_(1-x)(b, a).
    if x < (a + 1.0) / (a + b + 2.0) {
        beta_prefactor(a, b, x, y) * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - beta_prefactor(b, a, y, x) * beta_continued_fraction(b, a, y) / b
    }
}

/// x^a (1 - x)^b / B(a, b), in logs.
fn beta_prefactor(a: f64, b: f64, x: f64, y: f64) -> f64 {
    (a * x.ln() + b * y.ln() - ln_beta(a, b)).exp()
}

/// The continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))) of I_x(a, b) with
/// d_(2m+1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) and
/// d_(2m) = m (b - m) x / ((a + 2m - 1)(a + 2m)), by the modified Lentz algorithm.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - (a + b) * x / (a + 1.0));
    let mut f = d;
    for m in 1..MAX_ITERATIONS {
        let m = m as f64;
        let m2 = 2.0 * m;
        // The even step d_2m, then the odd step d_(2m+1).
        for coefficient in [
            m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)),
        ] {
            d = 1.0 / clamp(1.0 + coefficient * d);
            c = clamp(1.0 + coefficient / c);
            f *= d * c;
        }
        if (d * c - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

/// The distribution function of Student's t with `nu` > 0 degrees of freedom (`nu` may be
/// infinite: the normal). The tail is P(T > |t|) = I_x(nu / 2, 1 / 2) / 2 with x = nu / (nu + t^2).
pub fn student_t_cdf(t: f64, nu: f64) -> f64 {
    let tail = student_t_tail(t.abs(), nu);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// P(T > t) for t >= 0.
fn student_t_tail(t: f64, nu: f64) -> f64 {
    assert!(nu > 0.0, "Student's t: expected nu > 0, found {nu}");
    if nu.is_infinite() {
        return normal_cdf(-t);
    }
    let t2 = t * t;
    0.5 * beta_inc_split(0.5 * nu, 0.5, nu / (nu + t2), t2 / (nu + t2))
}

/// The density of Student's t with `nu` degrees of freedom.
pub fn student_t_pdf(t: f64, nu: f64) -> f64 {
    if nu.is_infinite() {
        return normal_pdf(t);
    }
    let ln_c =
        ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu) - 0.5 * (nu * std::f64::consts::PI).ln();
    (ln_c - 0.5 * (nu + 1.0) * (t * t / nu).ln_1p()).exp()
}

/// The t with P(T <= t) = p for Student's t with `nu` degrees of freedom, 0 < p < 1: the
/// critical value of a t-test or confidence interval (p = 0.975 for a two-sided 95% interval).
pub fn student_t_quantile(p: f64, nu: f64) -> f64 {
    quantile_of_symmetric(p, |t| student_t_tail(t, nu), |t| student_t_pdf(t, nu))
}

/// Inverts a distribution symmetric about 0, given its upper tail P(X > t) for t >= 0 and its
/// density. Newton's method on the tail, kept inside a bracket that bisection shrinks whenever a
/// Newton step would leave it.
fn quantile_of_symmetric(p: f64, tail: impl Fn(f64) -> f64, pdf: impl Fn(f64) -> f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0,
        "quantile: expected 0 < p < 1, found {p}"
    );
    if p == 0.5 {
        return 0.0;
    }
    let q = p.min(1.0 - p); // solve tail(t) = q for t > 0
    let (mut lo, mut hi) = (0.0, 1.0);
    while tail(hi) > q {
        lo = hi;
        hi *= 2.0;
    }
    let mut t = 0.5 * (lo + hi);
    for _ in 0..MAX_ITERATIONS {
        let excess = tail(t) - q; // > 0 means t is too small
        if excess == 0.0 {
            break;
        } else if excess > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let newton = t + excess / pdf(t);
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let done = (next - t).abs() <= 4.0 * f64::EPSILON * t;
        t = next;
        if done {
            break;
        }
    }
    if p < 0.5 {
        -t
    } else {
        t
    }
}
