//! Chapter 9. A training run on disk: what `gan train` does around Algorithm 1.
//!
//! The run directory holds, all written atomically:
//!
//! ```text
//!   samples_<step>.png   G's images for one FIXED set of noise vectors (one row per class when
//!                        conditional), every `sample_every` steps, so progress is visible
//!   samples.png          the same at the end
//!   ring_<step>.svg      for the 2-D ring: real and generated points
//!   loss.svg, log.csv    D and G loss, D(x) and D(G(z)) at every step
//!   checkpoint.safetensors   everything needed to sample, export or resume
//! ```

use super::checkpoint::{self, Checkpoint};
use super::train::{StepStats, TrainConfig, Trainer, TrainingData};
use crate::data::{files, ring, Dataset, BUILTIN};
use crate::error::{Error, Result};
use crate::io::png::{image_grid, save_png};
use crate::io::svg::{Plot, Series};
use crate::io::write_atomic;
use crate::rng::{noise, Rng};
use crate::tensor::Tensor;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where and how often a run writes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    /// Write a sample grid every this many steps (0: only at the end).
    pub sample_every: usize,
    /// Write the checkpoint every this many steps (0: only at the end).
    pub save_every: usize,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub out: PathBuf,
    /// The final sample grid (PNG) or scatter plot (SVG).
    pub final_samples: PathBuf,
    pub checkpoint: PathBuf,
    /// The step the run started (or resumed) from, and the step it ended at.
    pub first_step: usize,
    pub steps: usize,
    pub seconds: f64,
    pub last: StepStats,
}

/// The training set a configuration names: a built-in data set, or else an existing file or
/// directory of images (chapter 11), resized to `config.image_size` if needed.
pub fn load_training_data(config: &TrainConfig) -> Result<TrainingData> {
    match config.data.as_str() {
        "ring" => Ok(TrainingData::Points(ring(config.data_size, config.seed))),
        path if !BUILTIN.contains(&path) && Path::new(path).exists() => {
            let labels = config.labels.as_deref().map(Path::new);
            let loaded = files::load_at_size(Path::new(path), labels, config.image_size)?;
            Ok(TrainingData::Images(loaded.dataset))
        }
        name if !BUILTIN.contains(&name) => Err(Error::usage(format!(
            "'{name}' is neither a built-in data set (digits, shapes, ring) nor a file or \
             directory that exists"
        ))),
        name => Ok(TrainingData::Images(Dataset::builtin(
            name,
            config.data_size,
            config.seed,
        )?)),
    }
}

/// The checkpoint file of a run directory.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    out.join("checkpoint.safetensors")
}

/// Trains from scratch (or, with `config.init`, from another run's players) into `options.out`.
pub fn train(config: TrainConfig, options: &RunOptions) -> Result<RunSummary> {
    let data = load_training_data(&config)?;
    let mut trainer = Trainer::<f32>::new(config, data)?;
    if let Some(init) = trainer.config.init.clone() {
        Checkpoint::load(Path::new(&init))?.restore_players(&mut trainer)?;
    }
    run(trainer, Vec::new(), options)
}

/// Continues the run in `options.out` from its checkpoint, up to `steps` iterations in all
/// (the configuration's own count if `None`).
pub fn resume(steps: Option<usize>, options: &RunOptions) -> Result<RunSummary> {
    let saved = Checkpoint::load(&checkpoint_path(&options.out))?;
    let mut config = saved.config.clone();
    if let Some(steps) = steps {
        config.steps = steps;
    }
    let data = load_training_data(&config)?;
    let mut trainer = Trainer::<f32>::new(config, data)?;
    saved.restore_trainer(&mut trainer)?;
    let log = read_log(&options.out.join("log.csv"), trainer.step)?;
    run(trainer, log, options)
}

/// Trains `trainer` (fresh or restored) up to its configured step count, continuing the rows of
/// `log` (log.csv's rows so far): steps, progress, pictures, logs and checkpoints.
pub fn run(
    mut trainer: Trainer<f32>,
    mut log: Vec<String>,
    options: &RunOptions,
) -> Result<RunSummary> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_atomic(
        &out.join("config.json"),
        trainer.config.to_json().to_pretty().as_bytes(),
    )?;
    let fixed = FixedNoise::new(&trainer);
    let total = trainer.config.steps;
    let start = Instant::now();
    let first = trainer.step;
    let mut progress = Progress::new(options.quiet, total);
    let mut last = StepStats::default();
    while trainer.step < total {
        let stats = trainer.train_step();
        if let Some(what) = diverged(&mut trainer, &stats) {
            // Nothing of this step is written: the last checkpoint on disk stays the last good one.
            let ckpt = checkpoint_path(out);
            let kept = if ckpt.exists() {
                format!("the last good checkpoint is kept: {}", ckpt.display())
            } else {
                "no checkpoint was written yet".into()
            };
            return Err(Error::msg(format!(
                "training diverged at step {}: {what} is not finite (d_loss {}, g_loss {}); {kept}. \
                 Try smaller learning rates (--lr-g, --lr-d).",
                stats.step, stats.d_loss, stats.g_loss
            )));
        }
        log.push(csv_row(&stats));
        last = stats;
        let done = trainer.step == total;
        if (options.sample_every > 0 && trainer.step.is_multiple_of(options.sample_every)) || done {
            let stem = out.join(format!("samples_{:06}", trainer.step));
            fixed.write(&mut trainer, &stem)?;
        }
        if (options.save_every > 0 && trainer.step.is_multiple_of(options.save_every)) || done {
            write_log(out, &log)?;
            checkpoint::save(&mut trainer, &checkpoint_path(out))?;
        }
        progress.show(&stats, trainer.step - first, start.elapsed().as_secs_f64());
    }
    progress.finish();
    let final_samples = fixed.write(&mut trainer, &out.join("samples"))?;
    write_log(out, &log)?;
    Ok(RunSummary {
        out: out.clone(),
        final_samples,
        checkpoint: checkpoint_path(out),
        first_step: first,
        steps: trainer.step,
        seconds: start.elapsed().as_secs_f64(),
        last,
    })
}

/// What is NaN or infinite after a step, naming the player: a loss or a parameter.
fn diverged(trainer: &mut Trainer<f32>, s: &StepStats) -> Option<String> {
    // Parameters first: a NaN weight makes every loss after it NaN, but it is where it began.
    for (player, net) in [
        ("generator", &mut trainer.g.net),
        ("discriminator", &mut trainer.d.net),
    ] {
        if let Some(p) = net
            .named_params()
            .into_iter()
            .find(|p| !p.value.all_finite())
        {
            return Some(format!("the {player}'s parameter {}", p.name));
        }
    }
    if !s.d_loss.is_finite() {
        return Some("the discriminator's loss".into());
    }
    if !s.g_loss.is_finite() {
        return Some("the generator's loss".into());
    }
    None
}

const CSV_HEADER: &str = "step,d_loss,d_loss_real,d_loss_fake,g_loss,d_x,d_g_z";

fn csv_row(s: &StepStats) -> String {
    format!(
        "{},{},{},{},{},{},{}",
        s.step, s.d_loss, s.d_loss_real, s.d_loss_fake, s.g_loss, s.d_x, s.d_g_z
    )
}

/// The rows of an earlier log up to `step` (a resumed run continues the same file).
fn read_log(path: &Path, step: usize) -> Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    Ok(text
        .lines()
        .skip(1)
        .filter(|row| {
            row.split(',')
                .next()
                .and_then(|s| s.parse::<usize>().ok())
                .is_some_and(|s| s <= step)
        })
        .map(str::to_string)
        .collect())
}

/// log.csv and loss.svg.
fn write_log(out: &Path, rows: &[String]) -> Result<()> {
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for row in rows {
        csv.push_str(row);
        csv.push('\n');
    }
    write_atomic(&out.join("log.csv"), csv.as_bytes())?;
    let column = |k: usize| -> Vec<f64> {
        rows.iter()
            .map(|r| {
                r.split(',')
                    .nth(k)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    };
    let steps = column(0);
    Plot::new("Training: losses and D's beliefs")
        .x_label("step")
        .y_label("value")
        .draw(Series::line("D loss = -(J + J')", &steps, &column(1)).color("#d62728"))
        .draw(Series::line("G loss", &steps, &column(4)).color("#1f77b4"))
        .draw(Series::line("mean D(x)", &steps, &column(5)).color("#2ca02c"))
        .draw(Series::line("mean D(G(z))", &steps, &column(6)).color("#ff7f0e"))
        .save(&out.join("loss.svg"))
}

/// One fixed set of noise vectors (and labels), so that successive pictures show the same
/// samples changing.
struct FixedNoise {
    eps: Tensor<f32>,
    labels: Option<Vec<usize>>,
    columns: usize,
}

impl FixedNoise {
    fn new(trainer: &Trainer<f32>) -> Self {
        let mut rng = Rng::new(trainer.config.seed).fork(3);
        let classes = trainer.classes();
        let (n, labels, columns) = match (&trainer.data, classes) {
            (TrainingData::Points(_), _) => (1000, None, 0),
            (_, 0) => (64, None, 8),
            (_, k) => (10 * k, Some((0..10 * k).map(|i| i / 10).collect()), 10),
        };
        FixedNoise {
            eps: noise(&mut rng, n, trainer.config.nz, 1.0),
            labels,
            columns,
        }
    }

    /// Writes `<stem>.png` (images) or `<stem>.svg` (points) and returns its path.
    fn write(&self, trainer: &mut Trainer<f32>, stem: &Path) -> Result<PathBuf> {
        let x = trainer.sample(&self.eps, self.labels.as_deref());
        match &trainer.data {
            TrainingData::Points(real) => {
                let path = stem.with_extension("svg");
                let n = real.len().min(1000);
                let (rx, ry): (Vec<f64>, Vec<f64>) = (0..n)
                    .map(|i| (real.x.at(i, 0) as f64, real.x.at(i, 1) as f64))
                    .unzip();
                let (gx, gy): (Vec<f64>, Vec<f64>) = (0..x.rows())
                    .map(|i| (x.at(i, 0) as f64, x.at(i, 1) as f64))
                    .unzip();
                Plot::new(&format!(
                    "step {}: real (grey) and generated (blue) points",
                    trainer.step
                ))
                .x_range(-3.0, 3.0)
                .y_range(-3.0, 3.0)
                .size(480.0, 480.0)
                .draw(Series::points("real", &rx, &ry).color("#999999"))
                .draw(Series::points("generated", &gx, &gy).color("#1f77b4"))
                .save(&path)?;
                Ok(path)
            }
            TrainingData::Images(_) => {
                let path = stem.with_extension("png");
                let (w, h, c, pixels) = image_grid(&x, self.columns);
                save_png(&path, w, h, c, &pixels)?;
                Ok(path)
            }
        }
    }
}

/// A live progress line on a terminal; plain periodic lines otherwise (logs, CI).
struct Progress {
    quiet: bool,
    terminal: bool,
    total: usize,
    last_print: f64,
}

impl Progress {
    fn new(quiet: bool, total: usize) -> Self {
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            total,
            last_print: f64::NEG_INFINITY,
        }
    }

    fn show(&mut self, s: &StepStats, steps_done: usize, seconds: f64) {
        let interval = if self.terminal { 0.2 } else { 10.0 };
        if self.quiet || (seconds - self.last_print < interval && s.step != self.total) {
            return;
        }
        self.last_print = seconds;
        let rate = steps_done as f64 / seconds.max(1e-9);
        let eta = (self.total - s.step) as f64 / rate.max(1e-9);
        let line = format!(
            "step {}/{}  {:.1} steps/s  ETA {:.0}s  d_loss {:.3}  g_loss {:.3}  D(x) {:.2}  D(G(z)) {:.2}",
            s.step, self.total, rate, eta, s.d_loss, s.g_loss, s.d_x, s.d_g_z
        );
        let mut err = std::io::stderr();
        let _ = if self.terminal {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.terminal && !self.quiet {
            eprintln!();
        }
    }
}
