//! Chapter 13 exercises: worked solutions.

/// Exercise 13.1: 2 N C_out H' W' C_in kH kW.
pub fn conv2d_pass_flops(
    batch: usize,
    c_in: usize,
    c_out: usize,
    out_hw: (usize, usize),
    kernel: (usize, usize),
) -> f64 {
    let outputs = batch * c_out * out_hw.0 * out_hw.1;
    let dot_length = c_in * kernel.0 * kernel.1;
    2.0 * outputs as f64 * dot_length as f64
}

/// Exercise 13.2: the slower of the two limits sets the time.
pub fn roofline_fraction(flops: f64, bytes: f64, peak_gflops: f64, bandwidth_gbytes: f64) -> f64 {
    let compute_seconds = flops / (peak_gflops * 1e9);
    let memory_seconds = bytes / (bandwidth_gbytes * 1e9);
    let seconds = compute_seconds.max(memory_seconds);
    flops / seconds / (peak_gflops * 1e9)
}
