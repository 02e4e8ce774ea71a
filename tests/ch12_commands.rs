//! Chapter 12, "Which generator is better?": the commands, end to end on tiny configurations.
//! `gan eval` writes its table, eval.json and per-item scores, and caches its classifier (reused
//! on a second call, retrained for other settings); `gan compare` pairs two runs, prints delta, p
//! and a verdict, and refuses runs of different data; `gan restarts` trains R seeds and writes
//! mean, std, a 95 % interval and a histogram per metric. Runs on the built-in digits and on a
//! user .npy file (images + labels, written here from the built-in shapes).

use gan::data::{files::resize_square, Dataset};
use gan::io::json::Json;
use gan::io::npy;
use std::path::{Path, PathBuf};
use std::process::Command;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gan-ch12-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `gan ARGS` on 2 threads; returns (success, stdout + stderr).
fn gan(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .env("GAN_THREADS", "2")
        .output()
        .expect("the gan binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn ok(args: &[&str]) -> String {
    let (success, text) = gan(args);
    assert!(success, "gan {} failed:\n{text}", args.join(" "));
    text
}

const TINY_GAN: &[&str] = &[
    "--steps",
    "12",
    "--batch",
    "8",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--nz",
    "8",
    "--data-size",
    "200",
    "--quiet",
    "--sample-every",
    "0",
    "--save-every",
    "0",
];
const TINY_JUDGE: &[&str] = &[
    "--n",
    "60",
    "--classifier-steps",
    "60",
    "--classifier-width",
    "4",
    "--classifier-features",
    "8",
];

fn train(out: &str, extra: &[&str]) {
    let mut args = vec!["train", "--out", out];
    args.extend_from_slice(TINY_GAN);
    args.extend_from_slice(extra);
    ok(&args);
}

fn with_judge(mut args: Vec<&str>) -> Vec<&str> {
    args.extend_from_slice(TINY_JUDGE);
    args
}

#[test]
fn eval_and_compare_on_the_builtin_digits() {
    let tmp = TempDir::new("digits");
    let (a, b) = (tmp.path("a"), tmp.path("b"));
    train(&a, &["--seed", "1"]);
    train(&b, &["--seed", "2", "--loss", "minimax"]);

    let text = ok(&with_judge(vec!["eval", "--checkpoint", &a]));
    assert!(text.contains("training the judging classifier"), "{text}");
    for metric in [
        "fid",
        "accuracy",
        "coverage",
        "precision",
        "recall",
        "memorisation_ratio",
    ] {
        assert!(text.contains(metric), "no {metric} in:\n{text}");
    }
    let json =
        Json::parse(&std::fs::read_to_string(Path::new(&a).join("eval.json")).unwrap()).unwrap();
    let fid = json
        .get("metrics")
        .and_then(|m| m.get("fid"))
        .and_then(Json::as_f64)
        .unwrap();
    assert!(fid.is_finite() && fid >= 0.0);
    let scores = npy::load(&Path::new(&a).join("eval.scores.npy")).unwrap();
    assert_eq!(scores.shape, vec![60, 3]);
    assert!(Path::new(&a).join("classifier.safetensors").exists());
    // The second call reuses the cached classifier; other settings retrain it.
    let again = ok(&with_judge(vec!["eval", "--checkpoint", &a]));
    assert!(
        !again.contains("training the judging classifier"),
        "{again}"
    );
    let mut other = with_judge(vec!["eval", "--checkpoint", &a]);
    other.extend(["--classifier-features", "6"]);
    assert!(ok(&other).contains("other data or settings"));

    // compare: table with both columns, delta, p, verdict; deterministic given --seed.
    let args = with_judge(vec!["compare", &a, &b, "--b", "500", "--seed", "3"]);
    let first = ok(&args);
    for part in ["A: ", "B: ", "paired bootstrap", "p = ", "verdict:"] {
        assert!(first.contains(part), "no '{part}' in:\n{first}");
    }
    assert_eq!(
        first
            .lines()
            .filter(|l| l.contains("p = "))
            .collect::<Vec<_>>(),
        ok(&args)
            .lines()
            .filter(|l| l.contains("p = "))
            .collect::<Vec<_>>()
    );
    // A run compared with itself: no difference, nothing significant.
    let json_path = tmp.path("self.json");
    let same = ok(&with_judge(vec![
        "compare", &a, &a, "--metric", "fid", "--b", "50", "--json", &json_path,
    ]));
    assert!(same.contains("tie"), "{same}");
    let j = Json::parse(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(j.get("delta").and_then(Json::as_f64), Some(0.0));
    // Mistakes are clear errors.
    let (success, text) = gan(&["compare", &a]);
    assert!(!success && text.contains("two runs"), "{text}");
    let (success, text) = gan(&with_judge(vec!["compare", &a, &b, "--metric", "style"]));
    assert!(!success && text.contains("--metric style"), "{text}");
}

#[test]
fn restarts_and_user_data_files() {
    let tmp = TempDir::new("files");
    // A user data set: built-in shapes at 16 x 16, as .npy images + labels.
    let shapes = resize_square(&Dataset::builtin("shapes", 300, 5).unwrap(), 16).unwrap();
    let write = |name: &str, set: &Dataset| {
        let images = tmp.path(&format!("{name}.npy"));
        std::fs::write(
            &images,
            npy::encode_f32(set.images.shape(), set.images.as_slice()),
        )
        .unwrap();
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        let label_path = tmp.path(&format!("{name}.labels.npy"));
        std::fs::write(&label_path, npy::encode_i64(&[labels.len()], &labels)).unwrap();
        (images, label_path)
    };
    let (train_set, heldout_set) = shapes.split(80);
    let (images, labels) = write("train", &train_set);
    let (held, held_labels) = write("heldout", &heldout_set);

    let out = tmp.path("restarts");
    let mut args = vec![
        "restarts",
        "--seeds",
        "3",
        "--out",
        &out,
        "--data",
        &images,
        "--labels",
        &labels,
        "--heldout",
        &held,
        "--heldout-labels",
        &held_labels,
    ];
    args.extend_from_slice(TINY_GAN);
    args.extend_from_slice(TINY_JUDGE);
    let text = ok(&args);
    assert!(text.contains("95% confidence interval"), "{text}");
    for seed in 1..=3 {
        assert!(Path::new(&out)
            .join(format!("seed_{seed}/checkpoint.safetensors"))
            .exists());
    }
    let json =
        Json::parse(&std::fs::read_to_string(Path::new(&out).join("restarts.json")).unwrap())
            .unwrap();
    let fid = json.get("metrics").and_then(|m| m.get("fid")).unwrap();
    assert_eq!(
        fid.get("values")
            .and_then(Json::as_array)
            .map(<[Json]>::len),
        Some(3)
    );
    let (mean, lo, hi) = (
        fid.get("mean").and_then(Json::as_f64).unwrap(),
        fid.get("ci95_low").and_then(Json::as_f64).unwrap(),
        fid.get("ci95_high").and_then(Json::as_f64).unwrap(),
    );
    assert!(lo <= mean && mean <= hi, "{lo} {mean} {hi}");
    let svg = std::fs::read_to_string(Path::new(&out).join("hist_fid.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..60.min(svg.len())]
    );

    // gan eval on one of the runs, without a held-out file: the last --n images, with a note.
    let run = Path::new(&out).join("seed_1").display().to_string();
    let text = ok(&with_judge(vec!["eval", "--checkpoint", &run]));
    assert!(text.contains("generator trained on them"), "{text}");
    // Runs of different data are not compared.
    let digits = tmp.path("digits");
    train(&digits, &[]);
    let (success, text) = gan(&with_judge(vec!["compare", &run, &digits]));
    assert!(!success && text.contains("different data"), "{text}");
}
