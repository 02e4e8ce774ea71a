//! `gan restarts --seeds R`: the first source of variance, randomness in training. Trains R runs
//! that differ only in their seed, judges each on one held-out set with one classifier, and
//! reports every metric's mean, standard deviation and 95 % Student-t confidence interval, with a
//! histogram per metric.

use super::eval::{
    build_eval_set, metrics_table, JudgeOptions, CLASSIFIER_FEATURES, CLASSIFIER_STEPS,
    CLASSIFIER_WIDTH, HELDOUT, HELDOUT_LABELS, N, NOISE_SEED,
};
use super::train::{config as train_config, TRAIN};
use crate::cli::{opt, Command, Flag, Matches};
use crate::error::{Error, Result};
use crate::eval::report::Evaluation;
use crate::eval::summary::{summarise, Summary};
use crate::gan::run::{self, RunOptions};
use crate::io::json::Json;
use crate::io::svg::{Plot, Series};
use crate::io::write_atomic;
use std::path::PathBuf;

/// restarts' own flags; every flag of `gan train` but --out and --resume is accepted too.
const OWN: [Flag; 10] = [
    opt(
        "seeds",
        "R",
        "how many runs (seeds S, S+1, ..., S+R-1 with S = --seed-base)",
        Some("3"),
    ),
    opt(
        "seed-base",
        "S",
        "the first run's seed (default: --seed, i.e. 1)",
        None,
    ),
    opt(
        "out",
        "DIR",
        "where the runs (DIR/seed_<s>), the JSON and the histograms go",
        Some("runs/restarts"),
    ),
    HELDOUT,
    HELDOUT_LABELS,
    N,
    NOISE_SEED,
    CLASSIFIER_STEPS,
    CLASSIFIER_WIDTH,
    CLASSIFIER_FEATURES,
];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn skipped(f: &Flag) -> bool {
    same(f.name, "out") || same(f.name, "resume")
}

const fn copy(f: &Flag) -> Flag {
    Flag {
        name: f.name,
        value: f.value,
        help: f.help,
        default: f.default,
    }
}

const fn count_flags() -> usize {
    let mut n = OWN.len();
    let mut i = 0;
    while i < TRAIN.flags.len() {
        if !skipped(&TRAIN.flags[i]) {
            n += 1;
        }
        i += 1;
    }
    n
}

const COUNT: usize = count_flags();

/// restarts' flags, then train's (built at compile time).
const fn all_flags() -> [Flag; COUNT] {
    let mut out = [const { opt("", "", "", None) }; COUNT];
    let mut n = 0;
    while n < OWN.len() {
        out[n] = copy(&OWN[n]);
        n += 1;
    }
    let mut i = 0;
    while i < TRAIN.flags.len() {
        if !skipped(&TRAIN.flags[i]) {
            out[n] = copy(&TRAIN.flags[i]);
            n += 1;
        }
        i += 1;
    }
    out
}

static FLAGS: [Flag; COUNT] = all_flags();

pub(super) static RESTARTS: Command = Command {
    name: "restarts",
    about: "Train R runs that differ only in their seed; report each metric's mean, std and 95% confidence interval.",
    flags: &FLAGS,
    positionals: "",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let seeds: usize = m.value("seeds")?;
    if seeds == 0 {
        return Err(Error::usage("--seeds must be at least 1"));
    }
    let mut config = train_config(m)?;
    if config.data == "ring" {
        return Err(Error::usage(
            "gan restarts judges images; the ring's runs are compared by mode coverage (chapter 9)",
        ));
    }
    let base: u64 = m.get("seed-base")?.unwrap_or(config.seed);
    let out = PathBuf::from(m.value::<String>("out")?);
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let options = JudgeOptions::from_matches(m)?;
    let mut set = build_eval_set(&config, &out, &options)?;
    let mut evaluations: Vec<(u64, Evaluation)> = Vec::new();
    for r in 0..seeds as u64 {
        let seed = base + r;
        config.seed = seed;
        let run_dir = out.join(format!("seed_{seed}"));
        println!(
            "run {}/{seeds}: seed {seed} -> {}",
            r + 1,
            run_dir.display()
        );
        let summary = run::train(
            config.clone(),
            &RunOptions {
                out: run_dir,
                sample_every: 0,
                save_every: 0,
                quiet: true,
            },
        )?;
        let ckpt = crate::gan::checkpoint::Checkpoint::load(&summary.checkpoint)?;
        let (mut g, prior) = ckpt.generator()?;
        let images = set.sample(&mut g, &prior);
        let e = set.evaluate(&images, ckpt.classes > 0);
        println!(
            "  {}",
            e.metrics
                .iter()
                .map(|(n, v)| format!("{n} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        evaluations.push((seed, e));
    }
    let labels: Vec<String> = evaluations
        .iter()
        .map(|(s, _)| format!("seed {s}"))
        .collect();
    let columns: Vec<(&str, &Evaluation)> = labels
        .iter()
        .map(String::as_str)
        .zip(evaluations.iter().map(|(_, e)| e))
        .collect();
    println!();
    print!("{}", metrics_table(&columns));
    println!();
    println!(
        "{:<22} {:>10} {:>10}   95% confidence interval of the mean (Student t, {} runs)",
        "metric", "mean", "std", seeds
    );
    let mut summaries = Vec::new();
    for (name, _) in &evaluations[0].1.metrics {
        let values: Vec<f64> = evaluations
            .iter()
            .filter_map(|(_, e)| e.metric(name))
            .collect();
        let s = summarise(&values, 0.95);
        println!(
            "{name:<22} {:>10.4} {:>10.4}   [{:.4}, {:.4}]",
            s.mean, s.std, s.low, s.high
        );
        let svg = out.join(format!("hist_{name}.svg"));
        histogram(name, &values, &s).save(&svg)?;
        summaries.push((name.to_string(), values, s));
    }
    let json = Json::Object(vec![
        (
            "seeds".into(),
            Json::Array(
                evaluations
                    .iter()
                    .map(|(s, _)| Json::str(s.to_string()))
                    .collect(),
            ),
        ),
        ("config".into(), config.to_json()),
        (
            "metrics".into(),
            Json::Object(
                summaries
                    .iter()
                    .map(|(name, values, s)| (name.clone(), summary_json(values, s)))
                    .collect(),
            ),
        ),
    ]);
    let json_path = out.join("restarts.json");
    write_atomic(&json_path, json.to_pretty().as_bytes())?;
    println!(
        "wrote {} and {}",
        json_path.display(),
        out.join("hist_<metric>.svg").display()
    );
    Ok(())
}

fn summary_json(values: &[f64], s: &Summary) -> Json {
    let finite = |x: f64| {
        if x.is_finite() {
            Json::Number(x)
        } else {
            Json::Null
        }
    };
    Json::Object(vec![
        (
            "values".into(),
            Json::Array(values.iter().map(|&v| Json::Number(v)).collect()),
        ),
        ("mean".into(), finite(s.mean)),
        ("std".into(), finite(s.std)),
        ("ci95_low".into(), finite(s.low)),
        ("ci95_high".into(), finite(s.high)),
    ])
}

/// A histogram of one metric over the runs, with the mean and its interval marked.
pub(crate) fn histogram(name: &str, values: &[f64], s: &Summary) -> Plot {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.05 * lo.abs().max(1e-3)
    };
    let (lo, hi) = (lo - pad, hi + pad);
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(3, 20);
    let width = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * width).collect();
    let mut counts = vec![0.0; bins];
    for &v in values {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1.0;
    }
    let top = counts.iter().copied().fold(1.0, f64::max);
    let mut plot = Plot::new(&format!("{name} over {} restarts", values.len()))
        .x_label(name)
        .y_label("runs")
        .draw(Series::histogram("runs", &edges, &counts));
    plot = plot.draw(Series::line("mean", &[s.mean, s.mean], &[0.0, top]).color("black"));
    if s.low.is_finite() {
        plot = plot.draw(
            Series::line(
                "95% CI",
                &[s.low, s.low, f64::NAN, s.high, s.high],
                &[0.0, top, f64::NAN, 0.0, top],
            )
            .color("#d62728"),
        );
    }
    plot
}
