//! Chapter 1 exercise: the Marsaglia polar method.
//!
//! Box-Muller (`Rng::gaussian_pair`) needs a logarithm, a square root, a sine and a cosine per
//! pair. Marsaglia's polar method avoids the sine and cosine: pick a uniform point in the unit
//! disc by rejection, and its angle is already uniform. See chapter 1, "Exercise".
//!
//! Check your work with
//! `cargo test --release --features exercises --test ch01_noise -- exercise_`

use crate::rng::Rng;

/// Two independent N(0, 1) draws by the Marsaglia polar method.
pub fn polar_gaussian_pair(rng: &mut Rng) -> (f64, f64) {
    let _ = rng;
    // TODO: loop { draw u, v uniform on [-1, 1); s = u^2 + v^2; if 0 < s < 1, return
    //       (u * f, v * f) with f = sqrt(-2 ln(s) / s) }
    todo!(
        "polar_gaussian_pair: draw u and v with rng.uniform_range(-1.0, 1.0), reject the point \
         unless 0 < s = u*u + v*v < 1, then return (u * f, v * f) with f = sqrt(-2 ln(s) / s). \
         Chapter 1, section 'Exercise', derives why."
    )
}
