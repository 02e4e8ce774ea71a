//! Chapter 14. The binomial tail: how likely is a match of at least k of n bits by chance?
//!
//! If an image carries no watermark, the decoder's n bits are compared with a key drawn at
//! random, independently of the decoder: each bit then matches with probability 1/2, and the
//! number of matching bits X is Binomial(n, 1/2). A verification reports
//!
//! ```text
//!   p-value = P(X >= k) = sum_{j=k}^{n} C(n, j) p^j (1 - p)^(n - j)        (p = 1/2: 2^-n sum C(n, j))
//! ```
//!
//! Every term is positive, so summing the tail directly never cancels. The terms are formed in
//! log space, ln C(n, j) + j ln p + (n - j) ln(1 - p), and added by log-sum-exp around the
//! largest, so that nothing overflows (C(1000, 500) is about 1e299) and tiny tails such as
//! P(X >= 32) = 2^-32 for n = 32, or 2^-1000 for n = 1000, keep all their digits.

/// ln P(X >= k) for X ~ Binomial(n, p): exact up to rounding, for any n, k and p in [0, 1].
/// `f64::NEG_INFINITY` when the probability is 0 (k > n, or p = 0 and k > 0).
pub fn ln_binomial_tail(n: u64, k: u64, p: f64) -> f64 {
    assert!(
        (0.0..=1.0).contains(&p),
        "binomial_tail: p must be a probability, found {p}"
    );
    if k == 0 {
        return 0.0; // X >= 0 always
    }
    if k > n || p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return 0.0; // X = n >= k
    }
    let (ln_p, ln_q) = (p.ln(), (-p).ln_1p());
    // ln C(n, j) for j = 0, 1, ...: C(n, j + 1) = C(n, j) (n - j) / (j + 1).
    let mut ln_choose = 0.0;
    let mut ln_terms = Vec::with_capacity((n - k + 1) as usize);
    for j in 0..=n {
        if j >= k {
            ln_terms.push(ln_choose + j as f64 * ln_p + (n - j) as f64 * ln_q);
        }
        ln_choose += ((n - j) as f64).ln() - ((j + 1) as f64).ln();
    }
    log_sum_exp(&ln_terms)
}

/// P(X >= k) for X ~ Binomial(n, p). Underflows to 0 only below about 1e-308; use
/// [`ln_binomial_tail`] to compare tails smaller than that.
pub fn binomial_tail(n: u64, k: u64, p: f64) -> f64 {
    ln_binomial_tail(n, k, p).exp()
}

/// The p-value of a watermark verification: P(at least `matches` of `bits` fair coin flips
/// come up right).
pub fn match_p_value(matches: usize, bits: usize) -> f64 {
    binomial_tail(bits as u64, matches as u64, 0.5)
}

/// ln sum_i e^(x_i), computed around the largest term so that no exponential overflows.
fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}
