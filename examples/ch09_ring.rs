//! Chapter 9: watch Algorithm 1 learn the ring of eight Gaussians, and watch it collapse.
//!
//! cargo run --release --example ch09_ring
//!
//! Trains the 2-D GAN (fully connected G and D, `src/models/mlp.rs`) three times from the same
//! seed: k = 1 with the non-saturating loss, k = 5 (five D updates per G update), and k = 1
//! with the minimax loss. For each it prints, as training goes, how many of the eight modes G
//! covers (`data::mode_coverage`) and how G's samples spread over the modes, and writes
//! scatter plots of real and generated points at several steps, and the losses, to
//! `runs/ch09_ring/`. About half a minute on two cores.

use gan::data::{mode_coverage, ring, ring_modes, Points};
use gan::gan::loss::GeneratorLoss;
use gan::gan::train::{StepStats, TrainConfig, Trainer, TrainingData};
use gan::io::svg::{Plot, Series};
use gan::rng::{noise, Rng};
use gan::Tensor;
use std::path::Path;
use std::time::Instant;

/// The ring's standard deviation: a sample within 3 of these of a mode is "high quality".
const RING_STD: f64 = 0.02;
const ITERATIONS: usize = 3000;
/// When to measure and when to draw.
const REPORT_AT: [usize; 8] = [0, 100, 250, 500, 1000, 1500, 2000, 3000];
const DRAW_AT: [usize; 5] = [0, 100, 500, 1000, 3000];

fn main() -> gan::Result<()> {
    let out = Path::new("runs/ch09_ring");
    std::fs::create_dir_all(out).map_err(|e| gan::Error::io(out, e))?;
    let base = TrainConfig {
        data: "ring".into(),
        data_size: 10_000,
        conditional: false,
        image_size: 0,
        batch: 128,
        hidden: 64,
        lr_g: 1e-3,
        lr_d: 1e-3,
        seed: 1,
        ..TrainConfig::default() // Adam (0.5, 0.999), nz = 100
    };
    let runs = [
        (
            "k1",
            "k = 1, non-saturating",
            1,
            GeneratorLoss::NonSaturating,
        ),
        (
            "k5",
            "k = 5, non-saturating",
            5,
            GeneratorLoss::NonSaturating,
        ),
        ("minimax", "k = 1, minimax", 1, GeneratorLoss::Minimax),
    ];
    let real = ring(base.data_size, 1);
    let mut summary = Vec::new();
    for (tag, title, k, loss) in runs {
        let config = TrainConfig {
            d_steps_per_g_step: k,
            loss,
            ..base.clone()
        };
        summary.push((title, train_one(tag, title, config, &real, out)?));
    }

    println!("\nafter {ITERATIONS} iterations (1000 samples from the same fixed noise):");
    println!("  run                      modes hit   high quality   samples per mode");
    for (title, (hit, quality, counts)) in summary {
        println!("  {title:<24} {hit:>5} / 8   {quality:>12.3}   {counts:?}");
    }
    println!("\npictures and loss curves: {}/", out.display());
    Ok(())
}

/// Trains one configuration, printing coverage as it goes; returns the final
/// (modes hit, high-quality fraction, samples nearest each mode).
fn train_one(
    tag: &str,
    title: &str,
    config: TrainConfig,
    real: &Points,
    out: &Path,
) -> gan::Result<(usize, f64, Vec<usize>)> {
    let mut trainer = Trainer::<f32>::new(config.clone(), TrainingData::Points(real.clone()))?;
    // One fixed set of noise vectors, so the pictures show the same samples moving.
    let eps = noise::<f32>(&mut Rng::new(99), 1000, config.nz, 1.0);
    println!(
        "\n{title}: {ITERATIONS} iterations of k = {} D steps and one G step, batch {}",
        config.d_steps_per_g_step, config.batch
    );
    println!("   step   modes hit   high quality   mean distance   samples nearest each mode");
    let start = Instant::now();
    let mut log: Vec<StepStats> = Vec::new();
    let mut last = (0, 0.0, Vec::new());
    for step in 0..=ITERATIONS {
        if REPORT_AT.contains(&step) || DRAW_AT.contains(&step) {
            let samples = trainer.sample(&eps, None);
            let (hit, quality) = mode_coverage(&samples, RING_STD);
            let (counts, distance) = nearest_modes(&samples);
            if REPORT_AT.contains(&step) {
                println!(
                    "  {step:>5}   {hit:>5} / 8   {quality:>12.3}   {distance:>13.3}   {counts:?}"
                );
            }
            if DRAW_AT.contains(&step) {
                let path = out.join(format!("{tag}_step_{step:05}.svg"));
                scatter(&path, &format!("{title}, step {step}"), real, &samples)?;
            }
            last = (hit, quality, counts);
        }
        if step < ITERATIONS {
            log.push(trainer.train_step());
        }
    }
    let path = out.join(format!("{tag}_loss.svg"));
    loss_plot(&path, title, &log)?;
    println!(
        "  {:.1} s; D(x) {:.2}, D(G(z)) {:.2} at the last step; wrote {tag}_step_*.svg and {}",
        start.elapsed().as_secs_f64(),
        log.last().map_or(0.0, |s| s.d_x),
        log.last().map_or(0.0, |s| s.d_g_z),
        path.display()
    );
    Ok(last)
}

/// How many samples lie nearest each mode, and the mean distance to the nearest mode.
fn nearest_modes(x: &Tensor<f32>) -> (Vec<usize>, f64) {
    let modes = ring_modes();
    let mut counts = vec![0; modes.len()];
    let mut total = 0.0;
    for i in 0..x.rows() {
        let (px, py) = (x.at(i, 0) as f64, x.at(i, 1) as f64);
        let (k, d) = modes
            .iter()
            .map(|m| ((px - m[0]).powi(2) + (py - m[1]).powi(2)).sqrt())
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |best, (k, d)| {
                    if d < best.1 {
                        (k, d)
                    } else {
                        best
                    }
                },
            );
        counts[k] += 1;
        total += d;
    }
    (counts, total / x.rows() as f64)
}

/// Real points (grey) and generated ones (blue) on the same axes.
fn scatter(path: &Path, title: &str, real: &Points, fake: &Tensor<f32>) -> gan::Result<()> {
    let column = |t: &Tensor<f32>, j: usize, n: usize| -> Vec<f64> {
        (0..n).map(|i| t.at(i, j) as f64).collect()
    };
    let n = real.len().min(1000);
    Plot::new(title)
        .size(480.0, 480.0)
        .x_range(-3.0, 3.0)
        .y_range(-3.0, 3.0)
        .draw(
            Series::points("real", &column(&real.x, 0, n), &column(&real.x, 1, n)).color("#999999"),
        )
        .draw(
            Series::points(
                "generated",
                &column(fake, 0, fake.rows()),
                &column(fake, 1, fake.rows()),
            )
            .color("#1f77b4"),
        )
        .save(path)
}

/// D's loss, G's loss, D(x) and D(G(z)) over the iterations, as `gan train` draws loss.svg.
fn loss_plot(path: &Path, title: &str, log: &[StepStats]) -> gan::Result<()> {
    let steps: Vec<f64> = log.iter().map(|s| s.step as f64).collect();
    let series = |f: fn(&StepStats) -> f64| -> Vec<f64> { log.iter().map(f).collect() };
    Plot::new(&format!("{title}: losses and D's beliefs"))
        .x_label("iteration")
        .draw(Series::line("D loss", &steps, &series(|s| s.d_loss)).color("#d62728"))
        .draw(Series::line("G loss", &steps, &series(|s| s.g_loss)).color("#1f77b4"))
        .draw(Series::line("mean D(x)", &steps, &series(|s| s.d_x)).color("#2ca02c"))
        .draw(Series::line("mean D(G(z))", &steps, &series(|s| s.d_g_z)).color("#ff7f0e"))
        .save(path)
}
