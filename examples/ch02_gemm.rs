//! Chapter 2: what each idea in the fast GEMM buys, as a staircase of measured GFLOP/s.
//!
//! cargo run --release --example ch02_gemm
//!
//! Steps: 1. the triple loop (`gemm_reference`), 2. blocking + packing with the portable kernel,
//! 3. the same with the SIMD micro-kernel this CPU supports, 4. on all threads. Then it checks
//! that the fast result matches the triple loop and is bitwise the same for 1 and all threads.

use gan::bench::{measure_peak, median_seconds, Timing};
use gan::gemm::kernel::{best_kernel, supported_kernels};
use gan::gemm::{gemm, gemm_reference, gemm_with_kernel, Kernel};
use gan::parallel::{threads, with_threads};
use gan::Tensor;

fn main() {
    let timing = Timing {
        min_runs: 3,
        min_seconds: 0.2,
    };
    let peak = measure_peak(&timing);
    println!(
        "measured peak: {:.1} GFLOP/s on 1 thread, {:.1} on {} threads\n",
        peak.one_thread, peak.all_threads, peak.threads
    );
    let generic = supported_kernels::<f32>()
        .last()
        .expect("the portable kernel always runs");
    let fast = best_kernel::<f32>();
    println!(
        "{:>5}  {:>13} {:>15} {:>15} {:>15}",
        "n",
        "triple loop",
        generic.name,
        fast.name,
        format!("+ {} threads", threads())
    );
    for n in [64, 128, 256, 512] {
        let a = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 7) % 13) as f32 / 13.0 - 0.5);
        let b = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 5) % 11) as f32 / 11.0 - 0.5);
        let mut c = Tensor::<f32>::zeros(&[n, n]);
        let gflops = |seconds: f64| 2.0 * (n * n * n) as f64 / seconds / 1e9;
        let mut time = |threads: usize, kernel: Option<&Kernel<f32>>| {
            with_threads(threads, || {
                median_seconds(&timing, || match kernel {
                    None => gemm_reference(1.0, a.view(), b.view(), 0.0, c.view_mut()),
                    Some(k) => gemm_with_kernel(k, 1.0, a.view(), b.view(), 0.0, c.view_mut()),
                })
            })
        };
        let reference = gflops(time(1, None));
        let portable = gflops(time(1, Some(generic)));
        let simd = gflops(time(1, Some(fast)));
        let all = gflops(time(threads(), Some(fast)));
        println!("{n:>5}  {reference:>13.2} {portable:>15.2} {simd:>15.2} {all:>15.2}   GFLOP/s");
    }

    // Same numbers, whoever computes them.
    let n = 300;
    let a = Tensor::<f32>::from_fn(&[n, n], |i| (i % 17) as f32 - 8.0);
    let b = Tensor::<f32>::from_fn(&[n, n], |i| (i % 19) as f32 - 9.0);
    let mut expected = Tensor::zeros(&[n, n]);
    gemm_reference(1.0, a.view(), b.view(), 0.0, expected.view_mut());
    let mut one = Tensor::zeros(&[n, n]);
    with_threads(1, || gemm(1.0, a.view(), b.view(), 0.0, one.view_mut()));
    let mut all = Tensor::zeros(&[n, n]);
    gemm(1.0, a.view(), b.view(), 0.0, all.view_mut());
    println!(
        "\nfast vs triple loop, n = {n}: largest difference {}",
        one.max_abs_diff(&expected)
    );
    println!(
        "1 thread vs {} threads: bitwise equal = {}",
        threads(),
        one == all
    );
}
