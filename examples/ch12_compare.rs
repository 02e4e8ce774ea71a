//! Chapter 12: which generator is better, the minimax loss or the non-saturating one?
//!
//! Trains a small class-conditional DCGAN on the built-in digits three times with each loss
//! (seeds 1-3), judges every run on one held-out set with one classifier, reports each loss's
//! mean and 95 % confidence interval over the restarts, and ends with the paired bootstrap test
//! and a histogram of its resampled deltas. Writes `runs/ch12_compare/`. A few minutes on two
//! cores.
//!
//! ```text
//! cargo run --release --example ch12_compare
//! ```

use gan::data::Dataset;
use gan::eval::bootstrap::{mean_over, paired_bootstrap, PairedBootstrap};
use gan::eval::frechet::{fit_gaussian, frechet_distance};
use gan::eval::report::{gather_rows, EvalSet, Evaluation};
use gan::eval::summary::summarise;
use gan::eval::{train_classifier, ClassifierConfig, ClassifierTraining};
use gan::gan::loss::GeneratorLoss;
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::io::svg::{Plot, Series};
use std::path::Path;
use std::time::Instant;

const SEEDS: u64 = 3;
const STEPS: usize = 300;
const HELD_OUT: usize = 1000;

fn main() -> gan::Result<()> {
    let out = Path::new("runs/ch12_compare");
    std::fs::create_dir_all(out).map_err(|e| gan::Error::io(out, e))?;
    let start = Instant::now();

    // The judge: a classifier trained on digits the GANs never see, and a held-out set.
    let judge_data = Dataset::builtin("digits", 5000, 1001)?;
    let heldout = Dataset::builtin("digits", HELD_OUT, 1002)?;
    let config = ClassifierConfig {
        width: 16,
        features: 64,
        ..ClassifierConfig::new(1, 28, 10)
    };
    let training = ClassifierTraining {
        steps: 400,
        ..ClassifierTraining::default()
    };
    let mut classifier = train_classifier(
        &judge_data.images,
        &judge_data.labels,
        config,
        &training,
        &mut |step, loss| {
            if step % 100 == 0 {
                println!("classifier step {step}: loss {loss:.3}");
            }
        },
    )?;
    let accuracy =
        gan::eval::classifier::accuracy(&mut classifier, &heldout.images, &heldout.labels);
    println!("classifier: held-out accuracy {accuracy:.3}\n");
    let train_data = Dataset::builtin("digits", 6000, 1)?;
    let mut set = EvalSet::new(classifier, heldout, &train_data, 0);

    // R restarts of each loss.
    let losses = [GeneratorLoss::Minimax, GeneratorLoss::NonSaturating];
    let mut results: Vec<Vec<Evaluation>> = Vec::new();
    for loss in losses {
        let mut runs = Vec::new();
        for seed in 1..=SEEDS {
            let config = TrainConfig {
                loss,
                seed,
                steps: STEPS,
                batch: 32,
                nz: 32,
                ngf: 16,
                ndf: 16,
                data_size: train_data.len(),
                ..TrainConfig::default()
            };
            let mut trainer =
                Trainer::<f32>::new(config, TrainingData::Images(train_data.clone()))?;
            for _ in 0..STEPS {
                trainer.train_step();
            }
            let images = set.sample(&mut trainer.g, &trainer.prior);
            let e = set.evaluate(&images, true);
            println!(
                "{:>14} seed {seed}: fid {:7.2}  accuracy {:.3}  recall {:.3}   ({:.0} s)",
                loss.name(),
                e.metric("fid").unwrap(),
                e.metric("accuracy").unwrap(),
                e.metric("recall").unwrap(),
                start.elapsed().as_secs_f64()
            );
            runs.push(e);
        }
        results.push(runs);
    }

    // Randomness in training: mean and 95 % interval over the restarts.
    println!("\nover {SEEDS} restarts (mean, 95% Student-t interval):");
    for (loss, runs) in losses.iter().zip(&results) {
        for metric in ["fid", "accuracy"] {
            let values: Vec<f64> = runs.iter().map(|e| e.metric(metric).unwrap()).collect();
            let s = summarise(&values, 0.95);
            println!(
                "{:>14} {metric:<8} {:8.3}  [{:.3}, {:.3}]",
                loss.name(),
                s.mean,
                s.low,
                s.high
            );
        }
    }

    // Randomness in the test data: the paired bootstrap. Per held-out item, each loss's score is
    // its correctness averaged over its restarts; delta = non-saturating minus minimax.
    let per_item = |runs: &[Evaluation]| -> Vec<f64> {
        (0..set.len())
            .map(|i| runs.iter().map(|e| e.correct[i]).sum::<f64>() / runs.len() as f64)
            .collect()
    };
    let (mm, ns) = (per_item(&results[0]), per_item(&results[1]));
    let diff: Vec<f64> = ns.iter().zip(&mm).map(|(a, b)| a - b).collect();
    let accuracy_test = paired_bootstrap(set.len(), 10_000, 0, |s| mean_over(&diff, s));
    report(
        "conditional accuracy (non-saturating - minimax)",
        &accuracy_test,
    );

    // FID of the seed-1 runs, recomputed on each resample (minimax FID - non-saturating FID).
    let (real, fm, fn_) = (
        &set.test_features,
        &results[0][0].features,
        &results[1][0].features,
    );
    let fid_test = paired_bootstrap(set.len(), 1000, 0, |s| {
        let r = fit_gaussian(&gather_rows(real, s));
        frechet_distance(&r, &fit_gaussian(&gather_rows(fm, s)))
            - frechet_distance(&r, &fit_gaussian(&gather_rows(fn_, s)))
    });
    report("FID, seed 1 (minimax - non-saturating)", &fid_test);

    println!("\nhistogram of delta(S_b), accuracy test ('|' marks 2 delta(D_test)):");
    print_histogram(&accuracy_test.deltas, 2.0 * accuracy_test.delta);
    let path = out.join("bootstrap_accuracy.svg");
    svg_histogram(&accuracy_test, &path)?;
    println!(
        "wrote {} ({:.0} s in all)",
        path.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report(what: &str, r: &PairedBootstrap) {
    println!(
        "\n{what}: delta(D_test) = {:.4}\n  v = {} of B = {} resamples had delta(S) > 2 delta: p = {:.4}{}",
        r.delta,
        r.exceed,
        r.samples,
        r.p_value,
        if r.delta <= 0.0 {
            "  (delta <= 0: no advantage to test)"
        } else if r.p_value < 0.05 {
            "  -> significant at 0.05"
        } else {
            "  -> not significant"
        }
    );
}

/// Bins of the resampled deltas, drawn with '#'.
fn print_histogram(deltas: &[f64], mark: f64) {
    let (lo, hi) = deltas
        .iter()
        .fold((mark, mark), |(a, b), &d| (a.min(d), b.max(d)));
    let bins = 15;
    let width = ((hi - lo) / bins as f64).max(1e-12);
    let mut counts = vec![0usize; bins];
    for &d in deltas {
        counts[(((d - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1);
    for (i, &c) in counts.iter().enumerate() {
        let left = lo + i as f64 * width;
        let marker = if (left..left + width).contains(&mark) {
            '|'
        } else {
            ' '
        };
        println!("{left:>8.4} {marker} {}", "#".repeat(c * 50 / top.max(1)));
    }
}

fn svg_histogram(r: &PairedBootstrap, path: &Path) -> gan::Result<()> {
    let (lo, hi) = r
        .deltas
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &d| {
            (a.min(d), b.max(d))
        });
    let bins = 30;
    let width = ((hi - lo) / bins as f64).max(1e-12);
    let edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * width).collect();
    let mut counts = vec![0.0; bins];
    for &d in &r.deltas {
        counts[(((d - lo) / width) as usize).min(bins - 1)] += 1.0;
    }
    let top = counts.iter().copied().fold(1.0, f64::max);
    Plot::new("paired bootstrap: delta(S_b), accuracy")
        .x_label("delta")
        .y_label("resamples")
        .draw(Series::histogram("delta(S_b)", &edges, &counts))
        .draw(Series::line("2 delta(D_test)", &[2.0 * r.delta; 2], &[0.0, top]).color("#d62728"))
        .save(path)
}
