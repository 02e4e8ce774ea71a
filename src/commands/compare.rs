//! `gan compare RUN_A RUN_B`: is one generator better than the other, or could the difference be
//! the luck of the test set? The paired bootstrap test of chapter 12.
//!
//! Both runs are judged on ONE held-out set by ONE classifier (trained on their common data,
//! cached in RUN_A), with the same noise draw per item, so item i of the test set pairs A's
//! sample with B's sample for the same real image, class and noise.

use super::eval::{
    build_eval_set, load_run, metrics_table, JudgeOptions, CLASSIFIER_FEATURES, CLASSIFIER_STEPS,
    CLASSIFIER_WIDTH, HELDOUT, HELDOUT_LABELS, N, NOISE_SEED,
};
use super::THREADS;
use crate::cli::{opt, Command, Matches};
use crate::error::{Error, Result};
use crate::eval::bootstrap::{mean_over, paired_bootstrap, PairedBootstrap};
use crate::eval::frechet::{fit_gaussian, frechet_distance};
use crate::eval::memorisation::quantile;
use crate::eval::report::{gather_rows, higher_is_better, EvalSet, Evaluation};
use crate::io::json::Json;
use crate::io::write_atomic;
use std::path::Path;

pub(super) const COMPARE: Command = Command {
    name: "compare",
    about: "Paired bootstrap test: is generator A better than B on a metric, beyond the luck of the test set?",
    flags: &[
        opt("metric", "M", "accuracy (conditional runs; the default for them), fid (the default otherwise), precision or recall", None),
        opt("b", "B", "bootstrap resamples (default 10000; 1000 for fid, whose every resample needs two eigen-decompositions)", None),
        opt("seed", "S", "draws the resamples", Some("0")),
        HELDOUT, HELDOUT_LABELS, N, NOISE_SEED, CLASSIFIER_STEPS, CLASSIFIER_WIDTH, CLASSIFIER_FEATURES,
        opt("json", "FILE", "also write the result as JSON", None),
        THREADS,
    ],
    positionals: "RUN_A RUN_B",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let [a, b] = &m.positionals[..] else {
        return Err(Error::usage(format!(
            "gan compare takes two runs (run directories or checkpoint files), found {}",
            m.positionals.len()
        )));
    };
    let (path_a, ckpt_a) = load_run(Path::new(a))?;
    let (path_b, ckpt_b) = load_run(Path::new(b))?;
    let (ca, cb) = (&ckpt_a.config, &ckpt_b.config);
    if ca.data != cb.data || ca.image_size != cb.image_size || ca.labels != cb.labels {
        return Err(Error::usage(format!(
            "{} ({} {}x{}) and {} ({} {}x{}) were trained on different data: one held-out set \
             cannot judge both",
            path_a.display(),
            ca.data,
            ca.image_size,
            ca.image_size,
            path_b.display(),
            cb.data,
            cb.image_size,
            cb.image_size
        )));
    }
    let conditional = ckpt_a.classes > 0 && ckpt_b.classes > 0;
    let metric = m
        .text("metric")
        .unwrap_or(if conditional { "accuracy" } else { "fid" })
        .to_string();
    if !["accuracy", "fid", "precision", "recall"].contains(&metric.as_str()) {
        return Err(Error::usage(format!(
            "--metric {metric}: choose accuracy, fid, precision or recall"
        )));
    }
    if metric == "accuracy" && !conditional {
        return Err(Error::usage(
            "--metric accuracy needs two class-conditional generators; try --metric fid",
        ));
    }
    let samples: usize = match m.get("b")? {
        Some(b) => b,
        None if metric == "fid" => 1000,
        None => 10_000,
    };
    if samples == 0 {
        return Err(Error::usage("--b must be at least 1"));
    }
    let seed: u64 = m.value("seed")?;
    let options = JudgeOptions::from_matches(m)?;
    let dir = path_a.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut set = build_eval_set(ca, &dir, &options)?;
    let mut evaluate = |ckpt: &crate::gan::checkpoint::Checkpoint| -> Result<Evaluation> {
        let (mut g, prior) = ckpt.generator()?;
        let images = set.sample(&mut g, &prior);
        Ok(set.evaluate(&images, ckpt.classes > 0))
    };
    let ea = evaluate(&ckpt_a)?;
    let eb = evaluate(&ckpt_b)?;
    println!("A: {}\nB: {}", path_a.display(), path_b.display());
    print!("{}", metrics_table(&[("A", &ea), ("B", &eb)]));

    // delta(S) = how much better A is than B on the items S (any sign).
    let a_better = match ea.metric(&metric).zip(eb.metric(&metric)) {
        Some((x, y)) => (x > y) == higher_is_better(&metric) || x == y,
        None => true,
    };
    let (better, worse, better_name, worse_name) = if a_better {
        (&ea, &eb, "A", "B")
    } else {
        (&eb, &ea, "B", "A")
    };
    let result = test(&set, &metric, better, worse, samples, seed);
    let lo = quantile(&result.deltas, 0.025);
    let hi = quantile(&result.deltas, 0.975);
    println!();
    if result.delta == 0.0 {
        println!(
            "metric {metric}: A and B tie on the {} held-out items",
            set.len()
        );
    } else {
        println!(
            "metric {metric}: {better_name} is better by delta = {:.4} on the {} held-out items",
            result.delta,
            set.len()
        );
    }
    println!("95% bootstrap interval of delta: [{lo:.4}, {hi:.4}]");
    println!(
        "paired bootstrap: v = {} of B = {} resamples had delta(S) > 2 delta(D_test): p = {:.4}",
        result.exceed, result.samples, result.p_value
    );
    println!("{}", verdict(&result, better_name, worse_name, &metric));
    if let Some(path) = m.text("json") {
        let json = Json::Object(vec![
            ("a".into(), Json::str(path_a.display().to_string())),
            ("b".into(), Json::str(path_b.display().to_string())),
            ("metric".into(), Json::str(&metric)),
            ("better".into(), Json::str(better_name)),
            ("delta".into(), Json::Number(result.delta)),
            ("exceed".into(), Json::Number(result.exceed as f64)),
            ("resamples".into(), Json::Number(result.samples as f64)),
            ("p_value".into(), Json::Number(result.p_value)),
            ("delta_low".into(), Json::Number(lo)),
            ("delta_high".into(), Json::Number(hi)),
            ("metrics_a".into(), super::eval::metrics_json(&ea)),
            ("metrics_b".into(), super::eval::metrics_json(&eb)),
        ]);
        write_atomic(Path::new(path), json.to_pretty().as_bytes())?;
        println!("wrote {path}");
    }
    Ok(())
}

/// The paired bootstrap of "`better` is better than `worse`" on `metric`.
fn test(
    set: &EvalSet,
    metric: &str,
    better: &Evaluation,
    worse: &Evaluation,
    samples: usize,
    seed: u64,
) -> PairedBootstrap {
    let n = set.len();
    let per_item =
        |x: &[f64], y: &[f64]| -> Vec<f64> { x.iter().zip(y).map(|(p, q)| p - q).collect() };
    match metric {
        "fid" => {
            // A set-level metric, recomputed on each resample: the real features, and each
            // generator's features, at the same items.
            let (real, fb, fw) = (&set.test_features, &better.features, &worse.features);
            paired_bootstrap(n, samples, seed, |s| {
                let r = fit_gaussian(&gather_rows(real, s));
                frechet_distance(&r, &fit_gaussian(&gather_rows(fw, s)))
                    - frechet_distance(&r, &fit_gaussian(&gather_rows(fb, s)))
            })
        }
        _ => {
            let diff = match metric {
                "accuracy" => per_item(&better.correct, &worse.correct),
                "precision" => per_item(&better.fake_in_real, &worse.fake_in_real),
                _ => per_item(&better.real_in_fake, &worse.real_in_fake),
            };
            paired_bootstrap(n, samples, seed, |s| mean_over(&diff, s))
        }
    }
}

/// The result in words.
fn verdict(r: &PairedBootstrap, better: &str, worse: &str, metric: &str) -> String {
    if r.delta == 0.0 {
        return format!(
            "verdict: A and B score the same {metric} on this test set; nothing to test."
        );
    }
    if r.p_value < 0.05 {
        format!(
            "verdict: {better} is better than {worse} on {metric} (p = {:.4} < 0.05): a test set \
             this size rarely shows an advantage this large by chance.",
            r.p_value
        )
    } else {
        format!(
            "verdict: not significant (p = {:.4} >= 0.05): {better}'s advantage on {metric} could be \
             the luck of the test set; more held-out items (--n) or more runs would tell.",
            r.p_value
        )
    }
}
