//! Chapter 13 exercises.
//!
//! Run `cargo test --release --features exercises --test ch13_scaling -- exercise_` until all
//! pass. The worked solutions are in `solutions/ch13_scaling.rs` (read them afterwards).

/// Exercise 13.1: the FLOPs of one pass of a convolution (forward, backward-to-input and
/// backward-to-weight are each one product of this size).
///
/// - `batch`: N; `c_in`, `c_out`: channels; `out_hw`: (H', W') of the output;
///   `kernel`: (kH, kW).
///
/// Count 2 FLOPs (a multiply and an add) per multiply-add.
pub fn conv2d_pass_flops(
    batch: usize,
    c_in: usize,
    c_out: usize,
    out_hw: (usize, usize),
    kernel: (usize, usize),
) -> f64 {
    let _ = (batch, c_in, c_out, out_hw, kernel);
    todo!(
        "every one of the N * C_out * H' * W' outputs is a dot product of length C_in * kH * kW; \
         2 FLOPs per multiply-add (chapters/13-scaling-up.md, 'Counting the work')"
    )
}

/// Exercise 13.2: the roofline bound of a pass, as a fraction of peak.
///
/// A pass that must move at least `bytes` between memory and the cores and does `flops`
/// arithmetic cannot run faster than either limit allows: it takes at least
/// max(flops / peak, bytes / bandwidth) seconds. Return the best fraction of `peak_gflops` it
/// can reach: its FLOPs over that time, over the peak (so at most 1).
///
/// - `peak_gflops`: GFLOP/s; `bandwidth_gbytes`: GB/s (both 10^9).
pub fn roofline_fraction(flops: f64, bytes: f64, peak_gflops: f64, bandwidth_gbytes: f64) -> f64 {
    let _ = (flops, bytes, peak_gflops, bandwidth_gbytes);
    todo!(
        "time >= max(flops / (peak_gflops * 1e9), bytes / (bandwidth_gbytes * 1e9)); the answer is \
         flops / time / (peak_gflops * 1e9) (chapters/13-scaling-up.md, 'The roofline')"
    )
}
