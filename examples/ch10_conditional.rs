//! Chapter 10: a class-conditional DCGAN on the built-in digits, trained briefly.
//!
//! cargo run --release --example ch10_conditional
//!
//! G reads z joined with a one-hot label, D reads the image joined with label planes
//! (`src/models/conditional.rs`). Every 50 steps the example prints the losses and a simple
//! measure of whether G draws the digit it was asked for: the share of its samples that lie
//! nearer to the mean real image of their own class than to any other class's mean (10% is
//! chance). It writes `runs/ch10_conditional/samples_<step>.png`: one row per class (0 at the
//! top), one column per noise vector, the same ten vectors in every row and at every step, so
//! a column shows one z drawn as each digit. A minute or so on two cores.

use gan::data::Dataset;
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::io::png::{image_grid, save_png};
use gan::rng::{noise, Rng};
use gan::Tensor;
use std::path::Path;
use std::time::Instant;

const STEPS: usize = 400;
const REPORT_EVERY: usize = 50;
const PICTURES_AT: [usize; 4] = [0, 100, 200, 400];

fn main() -> gan::Result<()> {
    let out = Path::new("runs/ch10_conditional");
    std::fs::create_dir_all(out).map_err(|e| gan::Error::io(out, e))?;
    let config = TrainConfig {
        data: "digits".into(),
        data_size: 6000,
        conditional: true,
        image_size: 28,
        steps: STEPS,
        batch: 32,
        nz: 32,
        ngf: 32,
        ndf: 32,
        // DCGAN's 2e-4 needs more steps than a minute allows; 5e-4 learns the classes sooner.
        lr_g: 5e-4,
        lr_d: 5e-4,
        seed: 1,
        ..TrainConfig::default()
    };
    let data = Dataset::builtin("digits", config.data_size, config.seed)?;
    let means = class_means(&data);
    let classes = data.classes;
    let mut trainer = Trainer::<f32>::new(config.clone(), TrainingData::Images(data))?;
    println!(
        "conditional DCGAN on {} digits: nz {} + {classes} one-hot, ngf = ndf = {}, batch {}, Adam {:e}",
        config.data_size, config.nz, config.ngf, config.batch, config.lr_g
    );
    println!("G:\n{}", trainer.g.net.describe());
    println!("D:\n{}", trainer.d.net.describe());

    // The picture: ten noise vectors, each drawn as every class (row = class).
    let columns = 10;
    let z = noise::<f32>(&mut Rng::new(7), columns, config.nz, 1.0);
    let grid_eps = Tensor::from_fn(&[classes * columns, config.nz], |k| {
        let (row, j) = (k / config.nz, k % config.nz);
        z.at(row % columns, j)
    });
    let grid_labels: Vec<usize> = (0..classes * columns).map(|i| i / columns).collect();
    // The measurement: 50 other samples of every class.
    let eval_eps = noise::<f32>(&mut Rng::new(8), 50 * classes, config.nz, 1.0);
    let eval_labels: Vec<usize> = (0..50 * classes).map(|i| i % classes).collect();

    // The measure on real digits the model never sees, for comparison.
    let held_out = Dataset::builtin("digits", 500, config.seed + 1)?;
    println!(
        "\nreal digits not in the training set (500) score {:.1}% on the measure below",
        100.0 * nearest_mean_agreement(&held_out.images, &held_out.labels, &means)
    );
    println!("\n  step    d_loss   g_loss   D(x)   D(G(z))   nearest class mean = label   seconds");
    let start = Instant::now();
    for step in 0..=STEPS {
        if PICTURES_AT.contains(&step) {
            let images = trainer.sample(&grid_eps, Some(&grid_labels));
            let (w, h, c, pixels) = image_grid(&images, columns);
            let path = out.join(format!("samples_{step:04}.png"));
            save_png(&path, w, h, c, &pixels)?;
        }
        if step == STEPS {
            break;
        }
        let s = trainer.train_step();
        if s.step % REPORT_EVERY == 0 || s.step == 1 {
            let samples = trainer.sample(&eval_eps, Some(&eval_labels));
            let agreement = nearest_mean_agreement(&samples, &eval_labels, &means);
            println!(
                "  {:>4}    {:.3}    {:.3}    {:.2}   {:.2}      {:>5.1}%                    {:.0}",
                s.step,
                s.d_loss,
                s.g_loss,
                s.d_x,
                s.d_g_z,
                100.0 * agreement,
                start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "\nwrote {}/samples_{{{}}}.png (row = class 0..9, column = one z)",
        out.display(),
        PICTURES_AT.map(|s| format!("{s:04}")).join(",")
    );
    Ok(())
}

/// The mean image of each class: [classes][C * H * W].
fn class_means(data: &Dataset) -> Vec<Vec<f64>> {
    let size = data.images.len() / data.len();
    let counts = data.class_counts();
    let mut means = vec![vec![0.0; size]; data.classes];
    for i in 0..data.len() {
        let label = data.labels[i];
        for (m, &v) in means[label].iter_mut().zip(data.images.row(i)) {
            *m += v as f64 / counts[label] as f64;
        }
    }
    means
}

/// The share of samples whose nearest class mean (in squared pixel distance) is their label's.
fn nearest_mean_agreement(samples: &Tensor<f32>, labels: &[usize], means: &[Vec<f64>]) -> f64 {
    let distance = |x: &[f32], m: &[f64]| -> f64 {
        x.iter().zip(m).map(|(&p, &q)| (p as f64 - q).powi(2)).sum()
    };
    let hits = (0..samples.rows())
        .filter(|&i| {
            let x = samples.row(i);
            let nearest = (0..means.len())
                .min_by(|&a, &b| distance(x, &means[a]).total_cmp(&distance(x, &means[b])))
                .expect("at least one class");
            nearest == labels[i]
        })
        .count();
    hits as f64 / samples.rows() as f64
}
