//! Chapter 2 "Matrices and GEMM". Proves that the fast GEMM computes what the triple loop
//! computes, for every kernel this CPU can run, on random shapes (1, primes, sizes that are not a
//! multiple of any tile), all four transpose combinations, any alpha and beta, strided views;
//! that its result is bitwise the same for 1, 2, 3 and 4 threads; and checks the exercises.

use gan::exercises::ch02_gemm::{matmul_ikj, pack_b_panels};
use gan::gemm::kernel::{best_kernel, supported_kernels};
use gan::gemm::{
    gemm, gemm_implicit, gemm_reference, gemm_with_kernel, matmul, Kernel, MatMut, MatRef, Op,
    PackB,
};
use gan::parallel::with_threads;
use gan::{Real, Tensor};
use proptest::prelude::*;

/// Deterministic test data in [-1, 1) (SplitMix64 bits; the crate's generator is chapter 1's).
fn random_tensor<T: Real>(shape: &[usize], seed: u64) -> Tensor<T> {
    let mut state = seed;
    Tensor::from_fn(shape, |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        T::from_f64((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
    })
}

/// A stored matrix whose op() is [rows, cols].
fn operand<T: Real>(op: Op, rows: usize, cols: usize, seed: u64) -> Tensor<T> {
    match op {
        Op::N => random_tensor(&[rows, cols], seed),
        Op::T => random_tensor(&[cols, rows], seed),
    }
}

/// Largest |fast - reference| relative to the size of the terms that were summed.
#[allow(clippy::too_many_arguments)]
fn fast_vs_reference<T: Real>(
    kernel: &Kernel<T>,
    m: usize,
    n: usize,
    k: usize,
    ops: (Op, Op),
    alpha: f64,
    beta: f64,
    seed: u64,
) -> f64 {
    let a = operand::<T>(ops.0, m, k, seed);
    let b = operand::<T>(ops.1, k, n, seed + 1);
    let c0 = random_tensor::<T>(&[m, n], seed + 2);
    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
    let mut fast = c0.clone();
    gemm_with_kernel(
        kernel,
        alpha,
        a.view().op(ops.0),
        b.view().op(ops.1),
        beta,
        fast.view_mut(),
    );
    let mut reference = c0.clone();
    gemm_reference(
        alpha,
        a.view().op(ops.0),
        b.view().op(ops.1),
        beta,
        reference.view_mut(),
    );
    // Each element sums k products of terms below 1 in size, times |alpha|, plus |beta|.
    let scale = k as f64 * alpha.to_f64().abs() + beta.to_f64().abs() + 1.0;
    fast.max_abs_diff(&reference).to_f64() / scale
}

const OPS: [(Op, Op); 4] = [
    (Op::N, Op::N),
    (Op::N, Op::T),
    (Op::T, Op::N),
    (Op::T, Op::T),
];

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(2),
        Just(7),
        Just(13),
        Just(17),
        Just(31),
        Just(97),
        1usize..80
    ]
}

fn scalars() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(-0.5), Just(2.3)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_kernel_matches_the_triple_loop_f64(m in dims(), n in dims(), k in dims(), op in 0usize..4,
                                                alpha in scalars(), beta in scalars(), seed in any::<u64>()) {
        for kernel in supported_kernels::<f64>() {
            let err = fast_vs_reference(kernel, m, n, k, OPS[op], alpha, beta, seed);
            prop_assert!(err < 1e-14, "kernel {} m={m} n={n} k={k} ops={:?}: relative error {err:e}", kernel.name, OPS[op]);
        }
    }

    #[test]
    fn every_kernel_matches_the_triple_loop_f32(m in dims(), n in dims(), k in dims(), op in 0usize..4,
                                                alpha in scalars(), beta in scalars(), seed in any::<u64>()) {
        for kernel in supported_kernels::<f32>() {
            let err = fast_vs_reference(kernel, m, n, k, OPS[op], alpha, beta, seed);
            prop_assert!(err < 1e-6, "kernel {} m={m} n={n} k={k} ops={:?}: relative error {err:e}", kernel.name, OPS[op]);
        }
    }
}

/// B as a rule, B[p, j] = f(p, j), packed value by value: the plainest source of panels, to
/// check that the GEMM asks for every panel it uses and puts it where the kernel reads it.
struct RuleB {
    k: usize,
    n: usize,
    values: Vec<f64>,
}

impl PackB<f64> for RuleB {
    fn dims(&self) -> (usize, usize) {
        (self.k, self.n)
    }

    fn pack(
        &self,
        row0: usize,
        depth: usize,
        col0: usize,
        cols: usize,
        nr: usize,
        out: &mut [f64],
    ) {
        for (q, panel) in out.chunks_exact_mut(nr * depth).enumerate() {
            for p in 0..depth {
                for j in 0..nr {
                    let col = q * nr + j;
                    panel[p * nr + j] = if col < cols {
                        self.values[(row0 + p) * self.n + col0 + col]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// gemm_implicit with B given as a source of panels gives gemm's bits on the same B, across
    /// the KC, MC and NR boundaries.
    #[test]
    fn implicit_b_gives_the_bits_of_gemm(m in 2usize..200, n in 2usize..80, k in 2usize..600,
                                         beta in scalars(), seed in any::<u64>()) {
        let a = random_tensor::<f64>(&[m, k], seed);
        let b = random_tensor::<f64>(&[k, n], seed + 1);
        let c0 = random_tensor::<f64>(&[m, n], seed + 2);
        let mut want = c0.clone();
        gemm(0.5, a.view(), b.view(), beta, want.view_mut());
        let rule = RuleB { k, n, values: b.as_slice().to_vec() };
        let mut got = c0.clone();
        gemm_implicit(0.5, a.view(), &rule, beta, got.view_mut());
        prop_assert_eq!(want.as_slice(), got.as_slice());
    }
}

#[test]
fn shapes_that_cross_every_block_boundary() {
    // Past KC (512) in k, past MC (192) in m and several panels in n, so that the blocking loops,
    // the packing of partial panels and the edge tiles all run.
    for kernel in supported_kernels::<f64>() {
        for &(m, n, k) in &[(193, 37, 515), (200, 129, 1030), (6, 16, 512), (385, 5, 3)] {
            for ops in OPS {
                let err = fast_vs_reference(kernel, m, n, k, ops, 0.75, -1.25, 42);
                assert!(
                    err < 1e-14,
                    "kernel {} m={m} n={n} k={k} ops={ops:?}: relative error {err:e}",
                    kernel.name
                );
            }
        }
    }
}

#[test]
fn beta_zero_never_reads_c() {
    // BLAS semantics: with beta = 0, C is output only, even when it holds NaN.
    let a = random_tensor::<f32>(&[9, 11], 1);
    let b = random_tensor::<f32>(&[11, 23], 2);
    for kernel in supported_kernels::<f32>() {
        let mut c = Tensor::full(&[9, 23], f32::NAN);
        gemm_with_kernel(kernel, 1.0, a.view(), b.view(), 0.0, c.view_mut());
        assert!(
            c.all_finite(),
            "kernel {} read C although beta = 0",
            kernel.name
        );
    }
    // k = 0 is the empty sum: C <- beta * C.
    let mut c = Tensor::full(&[2, 3], 4.0f64);
    let empty = Tensor::<f64>::zeros(&[2, 0]);
    let empty_b = Tensor::<f64>::zeros(&[0, 3]);
    gemm(1.0, empty.view(), empty_b.view(), 0.5, c.view_mut());
    assert_eq!(c.as_slice(), &[2.0; 6]);
}

#[test]
fn strided_views_in_and_out() {
    // op(A) is a 5 x 4 window inside a 9 x 10 matrix; C is a 5 x 3 window of a 7 x 8 matrix.
    let big_a = random_tensor::<f64>(&[9, 10], 3);
    let b = random_tensor::<f64>(&[4, 3], 4);
    let a = MatRef::with_strides(&big_a.as_slice()[12..], 5, 4, 10, 1);
    let mut fast = random_tensor::<f64>(&[7, 8], 5);
    let mut reference = fast.clone();
    gemm(
        2.0,
        a,
        b.view(),
        1.0,
        MatMut::with_row_stride(&mut fast.as_mut_slice()[9..], 5, 3, 8),
    );
    gemm_reference(
        2.0,
        a,
        b.view(),
        1.0,
        MatMut::with_row_stride(&mut reference.as_mut_slice()[9..], 5, 3, 8),
    );
    assert!(fast.max_abs_diff(&reference) < 1e-14);
    // Elements outside the window are untouched.
    let untouched = random_tensor::<f64>(&[7, 8], 5);
    assert_eq!(fast.as_slice()[..9], untouched.as_slice()[..9]);
}

#[test]
fn bitwise_identical_for_any_thread_count() {
    for &(m, n, k) in &[(300, 257, 600), (64, 1000, 129), (1, 4000, 70)] {
        let a = random_tensor::<f32>(&[m, k], 7);
        let b = random_tensor::<f32>(&[k, n], 8);
        let run = |threads: usize| {
            let mut c = random_tensor::<f32>(&[m, n], 9);
            with_threads(threads, || gemm(0.5, a.view(), b.view(), 1.5, c.view_mut()));
            c
        };
        let one = run(1);
        for threads in 2..=4 {
            let many = run(threads);
            let same = one
                .as_slice()
                .iter()
                .zip(many.as_slice())
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "m={m} n={n} k={k}: {threads} threads differ from 1 thread"
            );
        }
    }
}

#[test]
fn matmul_matches_hand_computed() {
    let a = Tensor::from_rows(&[&[1.0f64, 2.0], &[3.0, 4.0]]).unwrap();
    let b = Tensor::from_rows(&[&[5.0, 6.0], &[7.0, 8.0]]).unwrap();
    assert_eq!(
        matmul(&a, Op::N, &b, Op::N).as_slice(),
        &[19.0, 22.0, 43.0, 50.0]
    );
    assert_eq!(
        matmul(&a, Op::T, &b, Op::N).as_slice(),
        &[26.0, 30.0, 38.0, 44.0]
    );
    assert_eq!(
        matmul(&a, Op::N, &b, Op::T).as_slice(),
        &[17.0, 23.0, 39.0, 53.0]
    );
}

#[test]
fn the_fast_kernel_is_the_one_tested_on_this_cpu() {
    // If this CPU has AVX2 and FMA, gemm must use a SIMD kernel, and that kernel is among the
    // ones the property tests above compared with the triple loop.
    #[cfg(target_arch = "x86_64")]
    if std::env::var("GAN_KERNEL").is_err()
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        assert!(
            best_kernel::<f32>().name.starts_with("avx"),
            "gemm chose {}",
            best_kernel::<f32>().name
        );
        assert!(
            best_kernel::<f64>().name.starts_with("avx"),
            "gemm chose {}",
            best_kernel::<f64>().name
        );
    }
    let names: Vec<&str> = supported_kernels::<f32>().map(|k| k.name).collect();
    println!("kernels this CPU runs (f32): {names:?}");
    assert!(names.contains(&best_kernel::<f32>().name));
}

#[test]
#[should_panic(expected = "expected [m, k] x [k, n] -> [m, n]")]
fn mismatched_shapes_are_reported() {
    let a = Tensor::<f32>::zeros(&[2, 3]);
    let mut c = Tensor::<f32>::zeros(&[2, 2]);
    gemm(1.0, a.view(), a.view(), 0.0, c.view_mut());
}

// ---- exercises ---------------------------------------------------------------------------------

#[test]
fn exercise_2_1_matmul_ikj() {
    for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (13, 2, 17)] {
        let a = random_tensor::<f64>(&[m, k], 11);
        let b = random_tensor::<f64>(&[k, n], 12);
        let mut c = Tensor::full(&[m, n], 99.0);
        matmul_ikj(m, n, k, a.as_slice(), b.as_slice(), c.as_mut_slice());
        let mut expected = Tensor::zeros(&[m, n]);
        gemm_reference(1.0, a.view(), b.view(), 0.0, expected.view_mut());
        let err = c.max_abs_diff(&expected);
        assert!(
            err < 1e-12,
            "exercise 2.1: matmul_ikj({m}x{k} times {k}x{n}) is off by {err:e}. Did you zero C first, and \
             does C[i, j] get A[i, p] * B[p, j] for every p?"
        );
    }
}

#[test]
fn exercise_2_2_pack_b_panels() {
    // B is 3 x 5 holding 10 * row + column; panels of 2 columns.
    let b = Tensor::<f64>::from_fn(&[3, 5], |i| (10 * (i / 5) + i % 5) as f64);
    let packed = pack_b_panels(3, 5, 2, b.as_slice());
    let expected = [
        0.0, 1.0, 10.0, 11.0, 20.0, 21.0, // panel 0: columns 0 and 1, row by row
        2.0, 3.0, 12.0, 13.0, 22.0, 23.0, // panel 1: columns 2 and 3
        4.0, 0.0, 14.0, 0.0, 24.0, 0.0, //   panel 2: column 4 and a column of zeros
    ];
    assert_eq!(
        packed, expected,
        "exercise 2.2: the packed panels are in the wrong order. Panel q, row p, column j goes to \
         q * k * nr + p * nr + j, and missing columns are 0"
    );
}
