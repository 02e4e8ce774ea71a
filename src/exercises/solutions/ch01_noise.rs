//! Chapter 1 exercise, worked solution: the Marsaglia polar method (Marsaglia and Bray, "A
//! convenient method for generating normal variables", SIAM Review, 1964).

use crate::rng::Rng;

/// Two independent N(0, 1) draws by the Marsaglia polar method.
pub fn polar_gaussian_pair(rng: &mut Rng) -> (f64, f64) {
    loop {
        // A uniform point of the square [-1, 1)^2, kept only if it falls inside the unit disc
        // (probability pi / 4). s = 0 is rejected too: its angle is undefined and ln(0) = -inf.
        let u = rng.uniform_range(-1.0, 1.0);
        let v = rng.uniform_range(-1.0, 1.0);
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            // s is uniform on (0, 1), and (u, v) / sqrt(s) = (cos theta, sin theta) with theta
            // uniform: the Box-Muller radius sqrt(-2 ln s) times that unit vector.
            let f = (-2.0 * s.ln() / s).sqrt();
            return (u * f, v * f);
        }
    }
}
