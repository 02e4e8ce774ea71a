//! Micro-kernels: the innermost part of GEMM, one file per instruction set.
//!
//! A kernel computes one MR x NR tile of C from a packed panel of A (MR rows) and a packed panel
//! of B (NR columns), keeping the whole tile in registers while it walks k:
//!
//! ```text
//!   C[i, j] <- alpha * sum_p A_panel[p * MR + i] * B_panel[p * NR + j] + beta * C[i, j]
//! ```
//!
//! The tile of C is row-major with row stride `rsc`. When beta is 0, C is not read. Every kernel
//! sums over p in increasing order, so the result depends on the kernel but never on threads.
//! The fastest kernel this CPU supports is chosen once, at run time, by feature detection.

mod generic;
pub mod peak;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;

use crate::scalar::Real;

/// The kernel signature: `(k, a_panel, b_panel, c_tile, rsc, alpha, beta)`.
///
/// # Safety
/// `a_panel` holds k * MR values, `b_panel` k * NR values, `c_tile` an MR x NR tile with row
/// stride `rsc`, and the CPU has the kernel's instruction set.
pub type KernelFn<T> = unsafe fn(usize, *const T, *const T, *mut T, usize, T, T);

/// The same tile with B's rows read where they lie instead of from a packed panel:
/// `(k, a_panel, b, offsets, c_tile, rsc, alpha, beta)`, row p of B being the NR values at
/// `b + offsets[p]`. A direct convolution (chapter 13) reads its window straight from the image
/// this way; the sum is the one [`KernelFn`] takes, step for step, so the bits are the same.
///
/// # Safety
/// As for [`KernelFn`], with `offsets` holding k values and every row of B inside its buffer.
pub type KernelRowsFn<T> = unsafe fn(usize, *const T, *const T, *const usize, *mut T, usize, T, T);

/// The dot-product form, for a product C (+)= A B^T whose operands both lie along k (chapter 13):
/// `(k, a, lda, b, c, ldc, m, n, accumulate)` computes, for i < m <= [`DOT_M`] and
/// j < n <= [`DOT_N`],
///
/// ```text
///   C[i * ldc + j] (+)= sum_p A[i * lda + p] * B_j[p]
/// ```
///
/// reading no packed panel at all; where B_j[p] lies is given by [`DotsB`]. SIMD kernels keep
/// one register of partial sums per (i, j), lane l summing the p with p % LANES == l, and add
/// the lanes up in one fixed tree at the end ([`lanes_sum`]); the p past the last full register
/// follow one by one. The result depends on the kernel, never on threads, nor on whether B's
/// rows are whole or in pieces.
///
/// # Safety
/// Row i of A holds k values from `a + i * lda`, every B_j[p] lies in B's buffer, `c` is an
/// m x n tile with row stride `ldc`, and the CPU has the kernel's instruction set.
pub type DotsFn<T> = unsafe fn(usize, *const T, usize, DotsB<T>, *mut T, usize, usize, usize, bool);

/// Where the dot-product form reads the rows of B: B_j[p] is at
/// `base + rows[j] + (p / piece) * pitch + p % piece`. A row in memory is one piece of k values;
/// a convolution's window row is read straight from the image, one piece per output row
/// (`piece` = W', a multiple of the lanes, `pitch` the distance between the image rows read).
#[derive(Clone, Copy, Debug)]
pub struct DotsB<T> {
    pub base: *const T,
    pub rows: [usize; DOT_N],
    pub piece: usize,
    pub pitch: usize,
}

/// The largest tile of the dot-product form: 4 rows of A against 3 rows of B, 12 sums. An AVX2
/// core then holds 12 accumulators, 3 rows of B and 1 of A in its 16 registers, and each step
/// does 12 fused multiply-adds against 7 loads.
pub const DOT_M: usize = 4;
pub const DOT_N: usize = 3;

/// One part of the thin-output form's sum: `k` steps, A's values packed `[k][THIN_M]` at `a`,
/// and B's row p at `b_offset + p * stride` (plus each register's own offset). Before its
/// steps, the kernel asks for the `prefetch_lines` 64-byte lines from `prefetch` on to be
/// brought into the cache (data that a later product reads from memory; none if 0).
#[derive(Clone, Copy, Debug)]
pub struct ThinSegment<T> {
    pub k: usize,
    pub a: *const T,
    pub b_offset: usize,
    pub prefetch: *const T,
    pub prefetch_lines: usize,
}

/// The thin-output form, for a product whose C has only [`THIN_M`] rows (chapter 13: the input
/// gradient of a layer that reads an RGB image): `(segments, n_segments, b, stride, vec_at, c,
/// ldc)` computes a tile of THIN_M rows by [`THIN_VECTORS`] registers,
///
/// ```text
///   C[i * ldc + v * LANES + l] = sum over the segments s in order, and p < k_s in order, of
///                                a_s[p * THIN_M + i] * b[off_s + p * stride + vec_at[v] + l]
/// ```
///
/// Each register v of a row of C reads its own place in B's rows, so a tile may cover the ends
/// of two image rows. 12 accumulators, 3 broadcasts of A and 1 register of B fill the 16
/// registers of AVX2; each step does 12 fused multiply-adds against 7 loads.
///
/// # Safety
/// Every segment's A holds k * THIN_M values, every value of B read lies in its buffer, `c` is
/// a THIN_M x (THIN_VECTORS * LANES) tile with row stride `ldc`, and the CPU has the kernel's
/// instruction set.
pub type ThinFn<T> =
    unsafe fn(*const ThinSegment<T>, usize, *const T, usize, *const usize, *mut T, usize);

/// Rows of C in a tile of the thin-output form, and vector registers per row.
pub const THIN_M: usize = 3;
pub const THIN_VECTORS: usize = 4;

/// The lanes of a register of partial sums added up pairwise, neighbours first: for 8 lanes
/// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), the order in which horizontal adds of a
/// vector unit take them. The SIMD dot kernels add in this order.
#[inline(always)]
pub fn lanes_sum<T: Real, const L: usize>(mut lanes: [T; L]) -> T {
    let mut width = 1;
    while width < L {
        for l in (0..L).step_by(2 * width) {
            lanes[l] += lanes[l + width];
        }
        width *= 2;
    }
    lanes[0]
}

/// The alignment, in bytes, that the rows of a tile stored past the caches need.
pub const STREAM_ALIGN: usize = 32;

/// Makes every store past the caches that this thread made visible to the others, as a plain
/// store is (x86 `sfence`; nothing elsewhere).
#[inline(always)]
pub fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// A micro-kernel and its tile size.
pub struct Kernel<T> {
    /// A name for tables and test messages, e.g. "avx2-fma 6x16".
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    run: KernelFn<T>,
    run_rows: KernelRowsFn<T>,
    /// [`KernelRowsFn`] with C written by non-temporal stores, past the caches, where the CPU
    /// has them: C's rows must start on a multiple of [`STREAM_ALIGN`] bytes, and beta be 0.
    run_rows_stream: Option<KernelRowsFn<T>>,
    dots: DotsFn<T>,
    thin: ThinFn<T>,
    /// Columns of C in a tile of the thin-output form ([`THIN_VECTORS`] registers).
    pub thin_width: usize,
    /// Whether this CPU can run it.
    supported: fn() -> bool,
}

impl<T> Kernel<T> {
    pub fn is_supported(&self) -> bool {
        (self.supported)()
    }

    /// Runs the kernel on one tile.
    ///
    /// # Safety
    /// As for [`KernelFn`]; [`Kernel::is_supported`] must be true.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)] // the BLAS micro-kernel contract, one name per operand
    pub(crate) unsafe fn run(
        &self,
        k: usize,
        a: *const T,
        b: *const T,
        c: *mut T,
        rsc: usize,
        alpha: T,
        beta: T,
    ) {
        (self.run)(k, a, b, c, rsc, alpha, beta)
    }

    /// Runs the kernel on one tile whose rows of B start at `b + offsets[p]`.
    ///
    /// # Safety
    /// As for [`KernelRowsFn`]; [`Kernel::is_supported`] must be true.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn run_rows(
        &self,
        k: usize,
        a: *const T,
        b: *const T,
        offsets: *const usize,
        c: *mut T,
        rsc: usize,
        alpha: T,
        beta: T,
    ) {
        (self.run_rows)(k, a, b, offsets, c, rsc, alpha, beta)
    }

    /// Whether [`Kernel::run_rows_stream`] stores past the caches (otherwise it is
    /// [`Kernel::run_rows`]).
    pub fn streams(&self) -> bool {
        self.run_rows_stream.is_some()
    }

    /// Runs the dot-product form on one tile of at most [`DOT_M`] x [`DOT_N`].
    ///
    /// # Safety
    /// As for [`DotsFn`]; [`Kernel::is_supported`] must be true.
    #[inline(always)]
    pub(crate) unsafe fn dots(
        &self,
        k: usize,
        (a, lda): (*const T, usize),
        b: DotsB<T>,
        (c, ldc): (*mut T, usize),
        (m, n): (usize, usize),
        accumulate: bool,
    ) {
        debug_assert!(m <= DOT_M && n <= DOT_N && b.piece > 0);
        (self.dots)(k, a, lda, b, c, ldc, m, n, accumulate)
    }

    /// Runs the thin-output form on one tile.
    ///
    /// # Safety
    /// As for [`ThinFn`]; [`Kernel::is_supported`] must be true.
    #[inline(always)]
    pub(crate) unsafe fn thin(
        &self,
        segments: &[ThinSegment<T>],
        (b, stride): (*const T, usize),
        vec_at: &[usize; THIN_VECTORS],
        (c, ldc): (*mut T, usize),
    ) {
        (self.thin)(
            segments.as_ptr(),
            segments.len(),
            b,
            stride,
            vec_at.as_ptr(),
            c,
            ldc,
        )
    }
}

impl<T: Real> Kernel<T> {
    /// [`Kernel::run_rows`] with beta 0, its tile stored past the caches when the kernel can
    /// ([`Kernel::streams`]): the same values, for an output far larger than the caches that
    /// nobody reads soon. A stored tile may reach memory late: call [`store_fence`] before
    /// another thread reads it.
    ///
    /// # Safety
    /// As for [`KernelRowsFn`]; `c` and `c + rsc` start on a multiple of [`STREAM_ALIGN`]
    /// bytes; [`Kernel::is_supported`] must be true.
    #[inline(always)]
    pub(crate) unsafe fn run_rows_stream(
        &self,
        k: usize,
        a: *const T,
        b: *const T,
        offsets: *const usize,
        c: *mut T,
        rsc: usize,
    ) {
        let run = self.run_rows_stream.unwrap_or(self.run_rows);
        run(k, a, b, offsets, c, rsc, T::ONE, T::ZERO)
    }
}

// Each scalar lists its kernels, fastest first ([`Real::gemm_kernels`] returns these).
pub(crate) static F32_KERNELS: [Kernel<f32>; KERNELS_PER_TYPE] = [
    #[cfg(target_arch = "x86_64")]
    x86_avx512::F32,
    #[cfg(target_arch = "x86_64")]
    x86_avx2::F32,
    generic::F32,
];

pub(crate) static F64_KERNELS: [Kernel<f64>; KERNELS_PER_TYPE] = [
    #[cfg(target_arch = "x86_64")]
    x86_avx512::F64,
    #[cfg(target_arch = "x86_64")]
    x86_avx2::F64,
    generic::F64,
];

#[cfg(target_arch = "x86_64")]
const KERNELS_PER_TYPE: usize = 3;
#[cfg(not(target_arch = "x86_64"))]
const KERNELS_PER_TYPE: usize = 1;

/// Every kernel for `T` that this CPU can run, fastest first (tests compare each one).
pub fn supported_kernels<T: Real>() -> impl Iterator<Item = &'static Kernel<T>> {
    T::gemm_kernels().iter().filter(|k| k.is_supported())
}

/// The kernel [`super::gemm`] uses for `T` on this CPU. `GAN_KERNEL=generic` (or another
/// kernel's name prefix) picks a slower one, to compare.
pub fn best_kernel<T: Real>() -> &'static Kernel<T> {
    let wanted = std::env::var("GAN_KERNEL").ok();
    supported_kernels::<T>()
        .find(|k| wanted.as_deref().is_none_or(|w| k.name.starts_with(w)))
        .unwrap_or_else(|| {
            supported_kernels::<T>()
                .next()
                .expect("the generic kernel always runs")
        })
}

fn always() -> bool {
    true
}

/// Writes one x86 SIMD kernel: an MR x (2 * LANES) tile, two vector registers per row of C.
/// The AVX2 and AVX-512 kernels are this one body with different intrinsics, and each comes in
/// two forms that differ only in where row p of B is read: `$name` from a packed panel
/// ([`KernelFn`]), `$rows` from `b + offsets[p]` ([`KernelRowsFn`]). Given `stream: $srows =
/// $sstore`, a third form `$srows` is `$rows` with its tile stored by `$sstore` (past the caches).
#[cfg(target_arch = "x86_64")]
macro_rules! x86_tile_kernel {
    ($name:ident, $rows:ident, $features:literal, $t:ty, $mr:literal, $lanes:literal, $vec:ty, $zero:ident,
     $load:ident, $store:ident, $splat:ident, $fmadd:ident, $mul:ident
     $(, stream: $srows:ident = $sstore:ident)?) => {
        /// # Safety
        /// See [`super::KernelFn`].
        #[target_feature(enable = $features)]
        unsafe fn $name(
            k: usize,
            a: *const $t,
            b: *const $t,
            c: *mut $t,
            rsc: usize,
            alpha: $t,
            beta: $t,
        ) {
            const NR: usize = 2 * $lanes;
            super::x86_tile_kernel!(@body $t, $mr, $lanes, $vec, $zero, $load, $store, $splat, $fmadd, $mul;
                k, a, |p: usize| b.add(p * NR), c, rsc, alpha, beta)
        }

        super::x86_tile_kernel!(@rows $rows, $features, $t, $mr, $lanes, $vec, $zero, $load, $store,
            $splat, $fmadd, $mul);
        $(super::x86_tile_kernel!(@rows $srows, $features, $t, $mr, $lanes, $vec, $zero, $load,
            $sstore, $splat, $fmadd, $mul);)?
    };
    (@rows $rows:ident, $features:literal, $t:ty, $mr:literal, $lanes:literal, $vec:ty, $zero:ident,
     $load:ident, $store:ident, $splat:ident, $fmadd:ident, $mul:ident) => {
        /// # Safety
        /// See [`super::KernelRowsFn`].
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $rows(
            k: usize,
            a: *const $t,
            b: *const $t,
            offsets: *const usize,
            c: *mut $t,
            rsc: usize,
            alpha: $t,
            beta: $t,
        ) {
            super::x86_tile_kernel!(@body $t, $mr, $lanes, $vec, $zero, $load, $store, $splat, $fmadd, $mul;
                k, a, |p: usize| b.add(*offsets.add(p)), c, rsc, alpha, beta)
        }
    };
    (@body $t:ty, $mr:literal, $lanes:literal, $vec:ty, $zero:ident, $load:ident, $store:ident,
     $splat:ident, $fmadd:ident, $mul:ident; $k:ident, $a:ident, $row:expr, $c:ident, $rsc:ident,
     $alpha:ident, $beta:ident) => {{
        let row_of_b = $row;
        let mut acc0: [$vec; $mr] = [$zero(); $mr];
        let mut acc1: [$vec; $mr] = [$zero(); $mr];
        // One step of k: a rank-1 update of the tile by a column of A and a row of B.
        let mut step = |p: usize| {
            let b_row = row_of_b(p);
            let b0 = $load(b_row);
            let b1 = $load(b_row.add($lanes));
            for i in 0..$mr {
                let ai = $splat(*$a.add(p * $mr + i));
                acc0[i] = $fmadd(ai, b0, acc0[i]);
                acc1[i] = $fmadd(ai, b1, acc1[i]);
            }
        };
        // Unrolled by 4 so that loop bookkeeping does not compete with the FMAs for issue slots.
        let mut p = 0;
        while p + 4 <= $k {
            step(p);
            step(p + 1);
            step(p + 2);
            step(p + 3);
            p += 4;
        }
        while p < $k {
            step(p);
            p += 1;
        }
        // C <- alpha * acc + beta * C, and C is not read when beta is 0.
        let va = $splat($alpha);
        for i in 0..$mr {
            let row = $c.add(i * $rsc);
            let mut r0 = $mul(va, acc0[i]);
            let mut r1 = $mul(va, acc1[i]);
            if $beta != 0.0 {
                let vb = $splat($beta);
                r0 = $fmadd(vb, $load(row), r0);
                r1 = $fmadd(vb, $load(row.add($lanes)), r1);
            }
            $store(row, r0);
            $store(row.add($lanes), r1);
        }
    }};
}
#[cfg(target_arch = "x86_64")]
use x86_tile_kernel;

/// Writes one x86 SIMD dot-product kernel ([`DotsFn`]): `$name` picks the tile body compiled
/// for the tile's shape, so that every accumulator of it stays in a register.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_dots_kernel {
    ($name:ident, $body:ident, $features:literal, $t:ty, $lanes:literal, $vec:ty, $zero:ident,
     $load:ident, $fmadd:ident, $group:literal, $sums:ident) => {
        /// # Safety
        /// See [`super::DotsFn`].
        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn $name(
            k: usize,
            a: *const $t,
            lda: usize,
            b: super::DotsB<$t>,
            c: *mut $t,
            ldc: usize,
            m: usize,
            n: usize,
            accumulate: bool,
        ) {
            let args = (k, a, lda, b, c, ldc, accumulate);
            match (m, n) {
                (4, 3) => $body::<4, 3>(args),
                (4, 2) => $body::<4, 2>(args),
                (4, 1) => $body::<4, 1>(args),
                (3, 3) => $body::<3, 3>(args),
                (3, 2) => $body::<3, 2>(args),
                (3, 1) => $body::<3, 1>(args),
                (2, 3) => $body::<2, 3>(args),
                (2, 2) => $body::<2, 2>(args),
                (2, 1) => $body::<2, 1>(args),
                (1, 3) => $body::<1, 3>(args),
                (1, 2) => $body::<1, 2>(args),
                (1, 1) => $body::<1, 1>(args),
                _ => {}
            }
        }

        /// An M x N tile of dot products, M and N known when compiled.
        ///
        /// # Safety
        /// See [`super::DotsFn`].
        #[target_feature(enable = $features)]
        #[allow(clippy::type_complexity)]
        unsafe fn $body<const M: usize, const N: usize>(
            (k, a, lda, b, c, ldc, accumulate): (
                usize,
                *const $t,
                usize,
                super::DotsB<$t>,
                *mut $t,
                usize,
                bool,
            ),
        ) {
            let mut acc = [[$zero(); N]; M];
            let full = k - k % $lanes;
            // Piece by piece (a whole row of B is one piece), a register of lanes at a time.
            let (mut start, mut piece_at) = (0, 0);
            while start < full {
                let end = full.min(start + b.piece);
                let mut rows = [b.base; N];
                for j in 0..N {
                    rows[j] = b.base.add(b.rows[j] + piece_at);
                }
                let mut p = start;
                while p < end {
                    let q = p - start;
                    let mut bv = [$zero(); N];
                    for j in 0..N {
                        bv[j] = $load(rows[j].add(q));
                    }
                    for i in 0..M {
                        let av = $load(a.add(i * lda + p));
                        for j in 0..N {
                            acc[i][j] = $fmadd(av, bv[j], acc[i][j]);
                        }
                    }
                    p += $lanes;
                }
                start = end;
                piece_at += b.pitch;
            }
            // The lanes of every register added up, $group registers at a time ($sums).
            let mut sums = [[0.0 as $t; N]; M];
            let mut first = 0;
            while first < M * N {
                let mut group = [$zero(); $group];
                for g in 0..$group.min(M * N - first) {
                    group[g] = acc[(first + g) / N][(first + g) % N];
                }
                let s = $sums(group);
                for g in 0..$group.min(M * N - first) {
                    sums[(first + g) / N][(first + g) % N] = s[g];
                }
                first += $group;
            }
            for i in 0..M {
                for j in 0..N {
                    let mut sum = sums[i][j];
                    for p in full..k {
                        let b_jp = b.rows[j] + (p / b.piece) * b.pitch + p % b.piece;
                        sum = (*a.add(i * lda + p)).mul_add(*b.base.add(b_jp), sum);
                    }
                    let cij = c.add(i * ldc + j);
                    *cij = if accumulate { *cij + sum } else { sum };
                }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
use x86_dots_kernel;

/// Writes one x86 SIMD kernel of the thin-output form ([`ThinFn`]).
#[cfg(target_arch = "x86_64")]
macro_rules! x86_thin_kernel {
    ($name:ident, $features:literal, $t:ty, $lanes:literal, $vec:ty, $zero:ident, $load:ident,
     $store:ident, $splat:ident, $fmadd:ident) => {
        /// # Safety
        /// See [`super::ThinFn`].
        #[target_feature(enable = $features)]
        pub(super) unsafe fn $name(
            segments: *const super::ThinSegment<$t>,
            n_segments: usize,
            b: *const $t,
            stride: usize,
            vec_at: *const usize,
            c: *mut $t,
            ldc: usize,
        ) {
            let at = [*vec_at, *vec_at.add(1), *vec_at.add(2), *vec_at.add(3)];
            let mut acc = [[$zero(); 4]; 3];
            for s in 0..n_segments {
                let segment = *segments.add(s);
                for line in 0..segment.prefetch_lines {
                    let at = segment.prefetch.cast::<i8>().wrapping_add(64 * line);
                    _mm_prefetch::<_MM_HINT_T1>(at);
                }
                let (mut a, mut row) = (segment.a, b.add(segment.b_offset));
                for _ in 0..segment.k {
                    let (a0, a1, a2) = ($splat(*a), $splat(*a.add(1)), $splat(*a.add(2)));
                    for v in 0..4 {
                        let bv = $load(row.add(at[v]));
                        acc[0][v] = $fmadd(a0, bv, acc[0][v]);
                        acc[1][v] = $fmadd(a1, bv, acc[1][v]);
                        acc[2][v] = $fmadd(a2, bv, acc[2][v]);
                    }
                    a = a.add(3);
                    row = row.add(stride);
                }
            }
            for i in 0..3 {
                for v in 0..4 {
                    $store(c.add(i * ldc + v * $lanes), acc[i][v]);
                }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
use x86_thin_kernel;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A tile from rows of B scattered through a buffer, against the same rows packed: the same
    /// bits, for every kernel this CPU runs, any depth (including 0 and odd ones), both betas.
    fn rows_match_packed<T: Real>(k: usize, gaps: &[usize], beta: T, seed: u64) {
        let mut rng = crate::rng::Rng::new(seed);
        for kernel in supported_kernels::<T>() {
            let (mr, nr) = (kernel.mr, kernel.nr);
            let a: Vec<T> = (0..k * mr).map(|_| T::from_f64(rng.gaussian())).collect();
            // Row p of B starts `gaps[p]` values after the end of row p - 1.
            let mut offsets = Vec::with_capacity(k);
            let mut end = 0;
            for p in 0..k {
                offsets.push(end + gaps[p % gaps.len()]);
                end = offsets[p] + nr;
            }
            let b: Vec<T> = (0..end).map(|_| T::from_f64(rng.gaussian())).collect();
            let packed: Vec<T> = offsets
                .iter()
                .flat_map(|&o| b[o..o + nr].iter().copied())
                .collect();
            let c0: Vec<T> = (0..mr * nr).map(|_| T::from_f64(rng.gaussian())).collect();
            let (mut want, mut got) = (c0.clone(), c0);
            let alpha = T::from_f64(0.75);
            // SAFETY: every buffer holds what the kernel reads, and the CPU runs the kernel.
            unsafe {
                kernel.run(
                    k,
                    a.as_ptr(),
                    packed.as_ptr(),
                    want.as_mut_ptr(),
                    nr,
                    alpha,
                    beta,
                );
                let (b, o) = (b.as_ptr(), offsets.as_ptr());
                kernel.run_rows(k, a.as_ptr(), b, o, got.as_mut_ptr(), nr, alpha, beta);
            }
            assert!(
                want == got,
                "kernel {}: k = {k}, beta {beta:?}",
                kernel.name
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(64) })]

        #[test]
        fn a_tile_from_rows_in_place_is_the_tile_from_a_packed_panel(
            k in 0usize..40, gaps in proptest::collection::vec(0usize..50, 1..6),
            beta_is_zero in any::<bool>(), seed in any::<u64>(),
        ) {
            let beta = if beta_is_zero { 0.0 } else { -1.25 };
            rows_match_packed::<f32>(k, &gaps, beta as f32, seed);
            rows_match_packed::<f64>(k, &gaps, beta, seed);
        }
    }
}
