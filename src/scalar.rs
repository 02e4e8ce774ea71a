//! Chapter 2. One scalar trait for f32 and f64, so every numeric routine is written once:
//! training runs in f32, gradient checks run the very same code in f64.

use crate::gemm::Kernel;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real number type: `f32` or `f64`.
///
/// Only what the chapters use is here. `from_f64` / `to_f64` cross between the two precisions
/// (constants are written once, in f64, and converted).
pub trait Real:
    Copy
    + Send
    + Sync
    + Default
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    /// The type's name as safetensors and NumPy spell it ("F32", "<f4").
    const SAFETENSORS_DTYPE: &'static str;
    const NPY_DESCR: &'static str;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }

    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
    /// tanh as the Tanh layer computes it: for f32 a version that vectorises (`fast_math.rs`,
    /// within a few units in the last place), for f64 the library's.
    fn tanh_layer(self) -> Self;
    fn abs(self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn is_finite(self) -> bool;
    fn max(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    /// `self * a + b`, rounded once where the hardware has a fused multiply-add.
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// The byte form used by every file format of this project: little endian.
    fn to_le_bytes_vec(self, out: &mut Vec<u8>);
    fn from_le_slice(bytes: &[u8]) -> Self;
    const BYTES: usize;

    /// The GEMM micro-kernels for this type, fastest first (see `gemm::kernel`).
    fn gemm_kernels() -> &'static [Kernel<Self>];
}

macro_rules! impl_real {
    ($t:ty, $st:expr, $npy:expr, $kernels:ident, $tanh_layer:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const SAFETENSORS_DTYPE: &'static str = $st;
            const NPY_DESCR: &'static str = $npy;
            const BYTES: usize = std::mem::size_of::<$t>();

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn tanh_layer(self) -> Self {
                $tanh_layer(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            fn to_le_bytes_vec(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn gemm_kernels() -> &'static [Kernel<Self>] {
                &crate::gemm::kernel::$kernels
            }
            fn from_le_slice(bytes: &[u8]) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(&bytes[..std::mem::size_of::<$t>()]);
                <$t>::from_le_bytes(b)
            }
        }
    };
}

impl_real!(f32, "F32", "<f4", F32_KERNELS, crate::fast_math::tanh_f32);
impl_real!(f64, "F64", "<f8", F64_KERNELS, f64::tanh);

#[cfg(test)]
mod tests {
    use super::Real;

    fn generic_norm<T: Real>(xs: &[T]) -> T {
        xs.iter().map(|&x| x * x).sum::<T>().sqrt()
    }

    #[test]
    fn one_body_serves_both_precisions() {
        assert_eq!(generic_norm(&[3.0f32, 4.0]), 5.0);
        assert_eq!(generic_norm(&[3.0f64, 4.0]), 5.0);
        let mut bytes = Vec::new();
        1.5f32.to_le_bytes_vec(&mut bytes);
        assert_eq!(f32::from_le_slice(&bytes), 1.5);
    }
}
