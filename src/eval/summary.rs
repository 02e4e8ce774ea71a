//! Chapter 12. Random restarts: the first source of variance, randomness in training.
//!
//! Train R times with R seeds and report each metric as mean +/- a 95 % confidence interval for
//! the mean (and a histogram), not a single run's number. With R runs, sample mean m and sample
//! standard deviation s (divided by R - 1), the interval is
//!
//! ```text
//!   m +/- t(0.975, R - 1) s / sqrt(R)
//! ```
//!
//! where t(0.975, R - 1) is Student's t quantile (`stats::student_t_quantile`): with few runs, s
//! underestimates the spread often enough that the normal 1.96 would be too narrow (t is 4.30 for
//! R = 3, 2.26 for R = 10).

use crate::stats::student_t_quantile;

/// Mean, standard deviation and confidence interval of a few measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// The sample standard deviation (n - 1); NaN for one value.
    pub std: f64,
    /// The confidence interval for the mean; (-inf, inf) for one value.
    pub low: f64,
    pub high: f64,
    pub level: f64,
}

/// Summarises `xs` with a `level` (e.g. 0.95) Student-t confidence interval for the mean.
pub fn summarise(xs: &[f64], level: f64) -> Summary {
    let n = xs.len();
    assert!(n > 0, "summarise: no values");
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Summary {
            n,
            mean,
            std: f64::NAN,
            low: f64::NEG_INFINITY,
            high: f64::INFINITY,
            level,
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let half = student_t_quantile(0.5 + level / 2.0, (n - 1) as f64) * std / (n as f64).sqrt();
    Summary {
        n,
        mean,
        std,
        low: mean - half,
        high: mean + half,
        level,
    }
}
