//! Chapters 2 and 13. The transposing copies of packing, eight steps at a time with AVX.
//!
//! When each lane of a panel is contiguous along k (a row-major A; a transposed B, such as the
//! column matrix of a weight gradient), packing is a transpose: W lanes of length `depth` become
//! `depth` steps of W values. The plain loops in `pack.rs` move one value per instruction. Here
//! eight steps of eight lanes are loaded as eight registers, transposed in registers (the
//! classic unpack / shuffle / permute sequence) and stored as eight steps. For a thin product,
//! such as the weight gradient of a layer with 3 input channels, packing is a third of the time,
//! and this makes it several times faster. The values are only moved, never computed, so the
//! result is the same bits as the plain loops' (tested in `pack.rs`). The same 8 x 8 transpose
//! turns a run of images batch innermost and back ([`transpose_blocks_f32`], used by
//! `layers::im2col::transpose`, whose test covers it).

use std::arch::x86_64::*;

/// Whether this CPU can run [`transpose_lanes_f32`] and [`transpose_blocks_f32`].
pub(crate) fn supported() -> bool {
    is_x86_feature_detected!("avx")
}

/// `out[p * W + i] = lanes[i][p]` for the steps p in 0..depth rounded down to a multiple of 8;
/// returns how many steps it did. W is at most 8 or a multiple of 8.
///
/// # Safety
/// The CPU supports AVX ([`supported`]); every lane holds at least `depth` values and `out` at
/// least `depth * W`.
#[target_feature(enable = "avx")]
pub(super) unsafe fn transpose_lanes_f32<const W: usize>(
    lanes: &[&[f32]; W],
    depth: usize,
    out: &mut [f32],
) -> usize {
    debug_assert!(W <= 8 || W.is_multiple_of(8));
    debug_assert!(lanes.iter().all(|l| l.len() >= depth) && out.len() >= depth * W);
    let blocks = depth / 8;
    // The lanes of a group beyond W (when W < 8) read as zeros and are not stored.
    let live = W.min(8);
    let end = out.len();
    let out = out.as_mut_ptr();
    // Group by group of 8 lanes: the lanes are often a multiple of 4 KiB apart (rows of a
    // column matrix), and more than 8 of them at once would evict each other from L1.
    for g in 0..W.div_ceil(8) {
        for b in 0..blocks {
            let p0 = 8 * b;
            let mut rows = [_mm256_setzero_ps(); 8];
            for (r, row) in rows.iter_mut().enumerate().take(live) {
                *row = _mm256_loadu_ps(lanes[8 * g + r].as_ptr().add(p0));
            }
            let steps = transpose8(rows);
            for (q, step) in steps.iter().enumerate() {
                let at = (p0 + q) * W + 8 * g;
                if at + 8 <= end {
                    // With W < 8 the store runs into the next step, which is written after.
                    _mm256_storeu_ps(out.add(at), *step);
                } else {
                    let mut values = [0.0f32; 8];
                    _mm256_storeu_ps(values.as_mut_ptr(), *step);
                    std::ptr::copy_nonoverlapping(values.as_ptr(), out.add(at), live);
                }
            }
        }
    }
    8 * blocks
}

/// `dst[(8 * bj + b) * dst_stride + 8 * bi + a] = src[(8 * bi + a) * src_stride + 8 * bj + b]`
/// for the 8 x 8 blocks (bi, bj) of a [8 * row_blocks, 8 * col_blocks] region: the transpose
/// of a region, block by block in registers (the batch-innermost layouts of chapter 13).
///
/// # Safety
/// The CPU supports AVX ([`supported`]); the region lies in `src` with rows `src_stride` apart
/// and its transpose in `dst` with rows `dst_stride` apart.
#[target_feature(enable = "avx")]
pub(crate) unsafe fn transpose_blocks_f32(
    src: *const f32,
    src_stride: usize,
    dst: *mut f32,
    dst_stride: usize,
    row_blocks: usize,
    col_blocks: usize,
) {
    for bi in 0..row_blocks {
        for bj in 0..col_blocks {
            let from = src.add(8 * bi * src_stride + 8 * bj);
            let rows: [__m256; 8] =
                std::array::from_fn(|a| _mm256_loadu_ps(from.add(a * src_stride)));
            let to = dst.add(8 * bj * dst_stride + 8 * bi);
            for (b, column) in transpose8(rows).iter().enumerate() {
                _mm256_storeu_ps(to.add(b * dst_stride), *column);
            }
        }
    }
}

/// Rows r[0..8] of an 8 x 8 block -> its columns.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // Pairs of rows interleaved: [r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]], ...
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // Fours: s0 = [r0[0] r1[0] r2[0] r3[0] | r0[4] r1[4] r2[4] r3[4]], ...
    let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    // Halves joined: column j = [rows 0-3 | rows 4-7] of j.
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}
