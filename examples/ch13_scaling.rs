//! Chapter 13: how the cost of a training step grows with the model.
//!
//! cargo run --release --example ch13_scaling
//!
//! Builds the W64 DCGAN (64 x 64 x 3, nz 100, batch 64) with ngf = ndf = 16, 32, 64 and 128,
//! counts each iteration's FLOPs and parameters, times whole iterations (median of 3 after a
//! warm-up, on all threads), and prints the table with the peak resident memory after each
//! width. Writes `runs/ch13_scaling.svg`: every quantity relative to ngf = 16, on log2 axes, so a
//! quantity that grows as ngf^2 climbs two units per doubling.

use gan::bench::iteration::{iteration_work, peak_resident_bytes, workload};
use gan::bench::{measure_peak, median_seconds, Timing};
use gan::io::svg::{Plot, Series};
use std::path::Path;

fn main() -> gan::Result<()> {
    std::fs::create_dir_all("runs").map_err(|e| gan::Error::io(Path::new("runs"), e))?;
    let timing = Timing {
        min_runs: 3,
        min_seconds: 0.0,
    };
    let peak = measure_peak(&Timing::default());
    let threads = gan::parallel::threads();
    println!(
        "W64 DCGAN at batch 64, {threads} thread(s); measured peak {:.1} GFLOP/s\n",
        peak.for_threads(threads)
    );
    println!(
        "{:>5} {:>11} {:>12} {:>10} {:>9} {:>9} {:>8} {:>9}",
        "ngf", "parameters", "GFLOP/iter", "ms/iter", "images/s", "GFLOP/s", "of peak", "peak RSS"
    );
    let w64 = workload("W64").expect("a built-in workload");
    let mut rows: Vec<[f64; 5]> = Vec::new();
    for width in [16, 32, 64, 128] {
        let mut trainer = w64.with_width(width).trainer(1)?;
        let (work, params) = iteration_work(&mut trainer);
        let flops: f64 = work.iter().map(|w| w.flops).sum();
        let seconds = median_seconds(&timing, || {
            trainer.train_step();
        });
        let rss = peak_resident_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0);
        let rate = flops / seconds / 1e9;
        println!(
            "{width:>5} {params:>11} {:>12.2} {:>10.1} {:>9.1} {rate:>9.1} {:>7.1}% {rss:>6.0} MiB",
            flops / 1e9,
            seconds * 1e3,
            64.0 / seconds,
            100.0 * rate / peak.for_threads(threads)
        );
        rows.push([width as f64, params as f64, flops, seconds, 64.0 / seconds]);
    }

    let x: Vec<f64> = rows.iter().map(|r| (r[0] / 16.0).log2()).collect();
    let relative =
        |k: usize| -> Vec<f64> { rows.iter().map(|r| (r[k] / rows[0][k]).log2()).collect() };
    let plot = Plot::new("W64 DCGAN: growth with width, relative to ngf = 16")
        .x_label("log2(ngf / 16)")
        .y_label("log2(value / value at ngf 16)")
        .draw(Series::line("FLOPs per iteration", &x, &relative(2)))
        .draw(Series::line("parameters", &x, &relative(1)))
        .draw(Series::line("seconds per iteration", &x, &relative(3)))
        .draw(Series::line("images per second", &x, &relative(4)));
    let path = Path::new("runs/ch13_scaling.svg");
    plot.save(path)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
