//! Chapter 1. Noise: the generator's input z ~ N(0, sigma^2 I), made from random bits.
//!
//! Three layers, each small enough to check by hand (the derivations are in
//! `chapters/01-noise.md`):
//!
//! 1. Random bits. [`SplitMix64`] (Steele, Lea and Flood, "Fast splittable pseudorandom number
//!    generators", OOPSLA 2014) turns any 64-bit seed, even 0, into well-mixed words; those fill
//!    the 256-bit state of xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom
//!    number generators", 2018), which makes the stream. Period 2^256 - 1, fast, and it passes
//!    the standard statistical batteries. Both are reproduced from their published descriptions
//!    and checked against the published outputs in `tests/ch01_noise.rs`.
//! 2. Uniform floats. The top 53 bits of a word are an integer k < 2^53, and k / 2^53 is an
//!    exact f64 on [0, 1): 53 is the f64 significand width, so every such value is representable
//!    and equally spaced. Shifting to (k + 1) / 2^53 gives (0, 1], safe under `ln`.
//! 3. Gaussians by the Box-Muller transform (Box and Muller, "A note on the generation of random
//!    normal deviates", 1958): two uniforms give two independent N(0, 1) draws, and both are used.
//!
//! A training run that must resume exactly saves [`Rng::state`] and [`Rng::cached_gaussian`] and
//! rebuilds the generator with [`Rng::from_state`].

use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// 2^-53: the spacing of the uniform floats.
const TWO_POW_MINUS_53: f64 = 1.0 / (1u64 << 53) as f64;

/// SplitMix64: a 64-bit counter passed through a bijective mixing function.
///
/// Used only to expand a seed into xoshiro's state: consecutive seeds give unrelated states, and
/// no seed gives the all-zero state xoshiro cannot leave.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        // The counter steps by the golden-ratio constant (odd, so the period is 2^64) ...
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }
}

/// ... and each counter value goes through two xor-shift-multiply rounds (a variant of the
/// MurmurHash3 finaliser), a bijection on u64 that flips about half the output bits for any one
/// input bit.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The project's random number generator: xoshiro256** plus a cached second Gaussian.
#[derive(Clone, Debug, PartialEq)]
pub struct Rng {
    s: [u64; 4],
    /// Box-Muller makes Gaussians in pairs; the second waits here for the next [`Rng::gaussian`].
    cached_gaussian: Option<f64>,
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        // Four consecutive SplitMix64 outputs are distinct (mix64 is a bijection of distinct
        // counters), so they are never all zero.
        Rng {
            s,
            cached_gaussian: None,
        }
    }

    /// The 256-bit xoshiro state. Together with [`Rng::cached_gaussian`] it is the whole state.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The Gaussian that the next [`Rng::gaussian`] call will return without drawing, if any.
    pub fn cached_gaussian(&self) -> Option<f64> {
        self.cached_gaussian
    }

    /// Rebuilds a generator saved with [`Rng::state`] and [`Rng::cached_gaussian`]; it continues
    /// the saved stream exactly. The all-zero state is refused: xoshiro would output zeros forever.
    pub fn from_state(state: [u64; 4], cached_gaussian: Option<f64>) -> Result<Self> {
        if state == [0; 4] {
            return Err(Error::msg(
                "Rng::from_state: expected a xoshiro256** state with at least one nonzero word, \
                 found [0, 0, 0, 0]",
            ));
        }
        if let Some(g) = cached_gaussian {
            if !g.is_finite() {
                return Err(Error::msg(format!(
                    "Rng::from_state: expected a finite cached Gaussian, found {g}"
                )));
            }
        }
        Ok(Rng {
            s: state,
            cached_gaussian,
        })
    }

    /// xoshiro256**: the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        // The "**" scrambler: multiply, rotate, multiply. It hides the linear structure of the
        // state update from the output.
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        // The linear engine: xors, a shift and a rotation (a linear map over GF(2)^256 with
        // period 2^256 - 1 from any nonzero state).
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Advances the state by 2^128 steps at the cost of 256, using the jump polynomial published
    /// with xoshiro256**. Streams that start one jump apart never overlap unless one of them draws
    /// 2^128 numbers.
    pub fn jump(&mut self) {
        const JUMP: [u64; 4] = [
            0x180e_c6d3_3cfd_0aba,
            0xd5a6_1266_f0c9_392c,
            0xa958_2618_e03f_c9aa,
            0x39ab_dc45_29b1_661c,
        ];
        // The 2^128-th power of the transition matrix, written as a polynomial in it: the new
        // state is the xor of the states at the steps where the polynomial has a 1 bit.
        let mut acc = [0u64; 4];
        for word in JUMP {
            for bit in 0..64 {
                if word & (1u64 << bit) != 0 {
                    for (a, s) in acc.iter_mut().zip(self.s) {
                        *a ^= s;
                    }
                }
                self.next_u64();
            }
        }
        self.s = acc;
        self.cached_gaussian = None;
    }

    /// An independent generator for another consumer, e.g. one per worker. The child gets the
    /// next 2^128 numbers of this stream and this generator jumps past them (see [`Rng::jump`]),
    /// so the two never overlap. Deterministic: the same parent state gives the same child.
    pub fn split(&mut self) -> Rng {
        let child = Rng {
            s: self.s,
            cached_gaussian: None,
        };
        self.jump();
        child
    }

    /// A generator for the named `stream` (0, 1, 2, ...), derived from this one without
    /// advancing it: `rng.fork(0)` for noise and `rng.fork(1)` for data order, say. The stream
    /// number and the state are hashed by SplitMix64 into a fresh seed; different streams land on
    /// unrelated points of the 2^256 cycle.
    pub fn fork(&self, stream: u64) -> Rng {
        // The constant (the first fraction bits of sqrt 2) is arbitrary: it only keeps stream 0
        // from hashing the same as a zero word.
        let mut h = mix64(stream ^ 0x6a09_e667_f3bc_c908);
        for w in self.s {
            h = mix64(h ^ w);
        }
        Rng::new(h)
    }

    // ---- uniform numbers ------------------------------------------------------------------------

    /// A uniform f64 on [0, 1): 53 random bits scaled by 2^-53.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * TWO_POW_MINUS_53
    }

    /// A uniform f64 on (0, 1]: never 0, so `ln` of it is finite.
    pub fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * TWO_POW_MINUS_53
    }

    /// A uniform f64 on [lo, hi).
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        assert!(
            lo < hi,
            "uniform_range: expected lo < hi, found [{lo}, {hi})"
        );
        let x = lo + (hi - lo) * self.uniform();
        // Rounding of the product can land on hi itself when the range is wide; keep it half-open.
        if x < hi {
            x
        } else {
            lo
        }
    }

    /// A uniform integer on 0..n, exactly unbiased (Lemire, "Fast random integer generation in
    /// an interval", 2019). `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below: expected n > 0, found 0");
        let n = n as u64;
        // The high word of x * n is floor(x * n / 2^64), a number in 0..n. Each value gets either
        // floor(2^64 / n) or that plus one of the x's; rejecting the 2^64 mod n x's whose low
        // word falls below that remainder evens the count.
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n; // (2^64 - n) mod n == 2^64 mod n
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as usize
    }

    /// Shuffles `items` in place, every permutation equally likely (Fisher-Yates, in Durstenfeld's
    /// in-place form): position i swaps with a uniform position in 0..=i, from the end down.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    // ---- Gaussian numbers -----------------------------------------------------------------------

    /// Two independent N(0, 1) draws by Box-Muller: radius sqrt(-2 ln u1), angle 2 pi u2, and the
    /// point's two Cartesian coordinates. (Derivation: chapter 1, "Box-Muller".)
    pub fn gaussian_pair(&mut self) -> (f64, f64) {
        let u1 = self.uniform_open0(); // (0, 1]: ln(u1) is finite
        let u2 = self.uniform();
        let radius = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        (radius * cos, radius * sin)
    }

    /// One N(0, 1) draw. Calls alternate between making a Box-Muller pair (returning the first)
    /// and returning the cached second, so no random bits are wasted.
    pub fn gaussian(&mut self) -> f64 {
        if let Some(g) = self.cached_gaussian.take() {
            return g;
        }
        let (first, second) = self.gaussian_pair();
        self.cached_gaussian = Some(second);
        first
    }

    /// One N(mu, sigma^2) draw: mu + sigma z with z ~ N(0, 1).
    pub fn normal(&mut self, mu: f64, sigma: f64) -> f64 {
        mu + sigma * self.gaussian()
    }

    /// Fills `out` with independent N(mu, sigma^2) draws, made in f64 and rounded once to `T`.
    pub fn fill_normal<T: Real>(&mut self, out: &mut [T], mu: f64, sigma: f64) {
        for x in out {
            *x = T::from_f64(self.normal(mu, sigma));
        }
    }
}

/// The generator's input: a batch of noise vectors z ~ N(0, sigma^2 I), one per row.
///
/// `z: [batch, dim]`, every element an independent N(0, sigma^2) draw. (The lecture: "Usually
/// p_noise(z) = Gaussian(0, sigma^2 I)".)
pub fn noise<T: Real>(rng: &mut Rng, batch: usize, dim: usize, sigma: f64) -> Tensor<T> {
    let mut z = Tensor::zeros(&[batch, dim]);
    rng.fill_normal(z.as_mut_slice(), 0.0, sigma);
    z
}
