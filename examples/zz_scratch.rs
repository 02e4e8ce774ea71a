use gan::gemm::*;
use gan::Tensor;
use std::time::Instant;
fn main() {
    for &n in &[2048usize] {
        let a = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 7919) % 13) as f32 - 6.0);
        let b = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 104729) % 11) as f32 - 5.0);
        let mut c = Tensor::<f32>::zeros(&[n, n]);
        if n <= 256 {
            let mut r = Tensor::<f32>::zeros(&[n, n]);
            gemm_reference(1.0, a.view(), b.view(), 0.0, r.view_mut());
            gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
            println!("n={n} maxdiff {}", c.max_abs_diff(&r));
        }
        for th in [1, 2] {
            gan::parallel::set_threads(th);
            let mut best = f64::MAX;
            for _ in 0..8 {
                let t = Instant::now();
                gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "n={n} threads={th} {:.1} GFLOP/s",
                2.0 * (n * n * n) as f64 / best / 1e9
            );
        }
    }
}
