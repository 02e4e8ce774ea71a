//! Chapter 13. Whole training iterations of the three reference configurations, and a profile of
//! where one iteration's time goes.
//!
//! One iteration is Algorithm 1 with k = 1 at batch 64: a D step on a real and a fake minibatch,
//! then a G step with the non-saturating loss, both with Adam. The configurations are those of
//! PyTorch's DCGAN example and its usual variants, built by this crate's own model code:
//! - W64: 64 x 64 x 3, nz 100, ngf = ndf = 64 (G: 100->512->256->128->64->3, D mirrored);
//! - W32: 32 x 32 x 3, one layer fewer each;
//! - W28: 28 x 28 x 1, G projects 100 -> 128 x 7 x 7 (a 7 x 7 transposed convolution from 1 x 1
//!   is the same product as a Linear 100 -> 6272), then 128->64->1; D is 1->64->128, then
//!   a 7 x 7 convolution to one logit (the same product as a Linear 6272 -> 1).
//!
//! FLOPs are counted from the passes the iteration really runs (2 x multiply-adds, every
//! convolution, transposed convolution and linear, as [`crate::profile`] records them): G's
//! forward twice (once for D's fake minibatch, once for its own step, each with fresh noise as
//! Algorithm 1 asks), D's forward three times, D's weight gradients twice, D's input gradient
//! once (G's step, through a frozen D), and G's weight and input gradients once. The first
//! layer of each network skips the input gradient nobody reads.

use super::{median, median_seconds, thread_counts, Peak, Timing};
use crate::data::files::resize_square;
use crate::data::Dataset;
use crate::gan::train::{TrainConfig, Trainer, TrainingData};
use crate::layers::sequential::NamedParam;
use crate::optim::{Adam, Optimizer, ParamRef};
use crate::parallel::with_threads;
use crate::profile::{self, Span};
use crate::tensor::Tensor;

/// One of the reference configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// "W28", "W32" or "W64".
    pub name: &'static str,
    pub image_size: usize,
    pub channels: usize,
    /// ngf = ndf.
    pub width: usize,
    pub batch: usize,
}

/// W28, W32 and W64 at batch 64, ngf = ndf = 64.
pub const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "W28",
        image_size: 28,
        channels: 1,
        width: 64,
        batch: 64,
    },
    Workload {
        name: "W32",
        image_size: 32,
        channels: 3,
        width: 64,
        batch: 64,
    },
    Workload {
        name: "W64",
        image_size: 64,
        channels: 3,
        width: 64,
        batch: 64,
    },
];

/// The workload called `name` (case-insensitive), if there is one.
pub fn workload(name: &str) -> Option<Workload> {
    WORKLOADS
        .iter()
        .find(|w| w.name.eq_ignore_ascii_case(name))
        .copied()
}

impl Workload {
    /// The same workload with another ngf = ndf (chapter 13's scaling table).
    pub fn with_width(self, width: usize) -> Workload {
        Workload { width, ..self }
    }

    /// A trainer for this workload, on built-in images of its shape: digits for one channel,
    /// shapes (resized) for three, so that the players are in the state of a real run.
    pub fn trainer(&self, seed: u64) -> crate::error::Result<Trainer<f32>> {
        let config = TrainConfig {
            data: format!("bench-{}", self.name),
            conditional: false,
            image_size: self.image_size,
            batch: self.batch,
            ngf: self.width,
            ndf: self.width,
            nz: 100,
            seed,
            ..TrainConfig::default()
        };
        let n = 4 * self.batch;
        let source = if self.channels == 1 {
            "digits"
        } else {
            "shapes"
        };
        let data = resize_square(&Dataset::builtin(source, n, seed)?, self.image_size)?;
        if data.image_shape().0 != self.channels {
            return Err(crate::error::Error::usage(format!(
                "bench workload {}: {} channels, but the built-in images have {}",
                self.name,
                self.channels,
                data.image_shape().0
            )));
        }
        Trainer::new(config, TrainingData::Images(data))
    }
}

/// What one iteration does, layer by layer, from one profiled iteration.
#[derive(Clone, Debug)]
pub struct LayerWork {
    /// "G.3" or "D.0".
    pub id: String,
    pub layer: String,
    /// Multiply-adds of one forward pass.
    pub forward_multiply_adds: u64,
    /// FLOPs this layer does in one whole iteration (all its passes).
    pub flops: f64,
}

/// Adds up the FLOPs of an iteration's spans, layer by layer.
///
/// A backward span's count comes from the latest forward pass of the same layer: a full
/// backward pass is two products of the forward's size (input and weight gradients), an
/// input-only or a params-only pass is one.
pub fn layer_work(spans: &[Span]) -> Vec<LayerWork> {
    let mut rows: Vec<LayerWork> = Vec::new();
    let mut last_forward: Vec<(String, u64)> = Vec::new();
    for s in spans {
        let id = format!("{}.{}", short(&s.net), s.index);
        let macs = if s.pass == "forward" {
            match last_forward.iter_mut().find(|(i, _)| *i == id) {
                Some(entry) => entry.1 = s.multiply_adds,
                None => last_forward.push((id.clone(), s.multiply_adds)),
            }
            s.multiply_adds
        } else {
            let forward = last_forward
                .iter()
                .find(|(i, _)| *i == id)
                .map_or(0, |(_, m)| *m);
            if s.pass == "backward" {
                2 * forward
            } else {
                forward
            }
        };
        match rows.iter_mut().find(|r| r.id == id) {
            Some(r) => r.flops += 2.0 * macs as f64,
            None => rows.push(LayerWork {
                id,
                layer: s.layer.clone(),
                forward_multiply_adds: if s.pass == "forward" {
                    s.multiply_adds
                } else {
                    0
                },
                flops: 2.0 * macs as f64,
            }),
        }
    }
    rows
}

/// "generator" -> "G", "discriminator" -> "D".
fn short(net: &str) -> String {
    match net {
        "generator" => "G".into(),
        "discriminator" => "D".into(),
        other => other.into(),
    }
}

/// The FLOPs of one iteration (layer by layer) and the trainer's parameter count.
pub fn iteration_work(trainer: &mut Trainer<f32>) -> (Vec<LayerWork>, usize) {
    let (_, spans) = profile::collect(|| trainer.train_step());
    let params = trainer.g.net.param_count() + trainer.d.net.param_count();
    (layer_work(&spans), params)
}

/// One measured row of the iteration table.
#[derive(Clone, Debug)]
pub struct IterationRow {
    pub workload: Workload,
    pub threads: usize,
    pub milliseconds: f64,
    pub images_per_second: f64,
    pub gflop: f64,
    pub gflops: f64,
    pub fraction_of_peak: f64,
    /// The FLOPs of the iteration, layer by layer (the product layers only).
    pub layers: Vec<LayerWork>,
}

/// Times whole iterations of `workload` on 1 thread and on all threads.
pub fn iteration_rows(workload: Workload, peak: &Peak, timing: &Timing) -> Vec<IterationRow> {
    let mut trainer = workload.trainer(1).expect("a valid bench configuration");
    let (mut work, _) = iteration_work(&mut trainer);
    work.retain(|w| w.flops > 0.0);
    let flops: f64 = work.iter().map(|w| w.flops).sum();
    thread_counts(peak.threads)
        .into_iter()
        .map(|threads| {
            let seconds = with_threads(threads, || {
                median_seconds(timing, || {
                    trainer.train_step();
                })
            });
            let gflops = flops / seconds / 1e9;
            IterationRow {
                workload,
                threads,
                milliseconds: seconds * 1e3,
                images_per_second: workload.batch as f64 / seconds,
                gflop: flops / 1e9,
                gflops,
                fraction_of_peak: gflops / peak.for_threads(threads),
                layers: work.clone(),
            }
        })
        .collect()
}

/// One row of a profile: a layer's pass, or time outside the layers.
#[derive(Clone, Debug)]
pub struct ProfileRow {
    /// "G.3 ConvTranspose2d(...)" or a description of the time outside the layers.
    pub what: String,
    /// "forward", "backward" (all its backward passes), or "" for time outside the layers.
    pub pass: &'static str,
    /// Median seconds per iteration.
    pub seconds: f64,
    /// FLOPs per iteration (0 for time outside the products).
    pub flops: f64,
}

/// Where an iteration's time goes.
#[derive(Clone, Debug)]
pub struct Profile {
    pub workload: Workload,
    pub threads: usize,
    pub iterations: usize,
    /// Median seconds of a whole iteration.
    pub iteration_seconds: f64,
    pub rows: Vec<ProfileRow>,
}

/// Profiles `iterations` iterations of `workload` (after a warm-up): each layer's forward and
/// backward time per iteration (the median over iterations), Adam's steps timed alone, and the
/// rest of the iteration (losses, noise, minibatch copies, BatchNorm and activations are layers
/// and have rows of their own).
pub fn profile(workload: Workload, iterations: usize) -> Profile {
    let mut trainer = workload.trainer(1).expect("a valid bench configuration");
    trainer.train_step();
    let mut per_iteration: Vec<Vec<Span>> = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..iterations.max(1) {
        let start = std::time::Instant::now();
        let (_, spans) = profile::collect(|| trainer.train_step());
        totals.push(start.elapsed().as_secs_f64());
        per_iteration.push(spans);
    }
    let work = layer_work(&per_iteration[0]);
    // Key every span by layer and by direction (all backward kinds together).
    let key = |s: &Span| {
        let pass = if s.pass == "forward" {
            "forward"
        } else {
            "backward"
        };
        (format!("{}.{}", short(&s.net), s.index), pass)
    };
    let mut keys: Vec<(String, &'static str, String)> = Vec::new();
    for s in &per_iteration[0] {
        let (id, pass) = key(s);
        if !keys.iter().any(|(i, p, _)| *i == id && *p == pass) {
            keys.push((id, pass, s.layer.clone()));
        }
    }
    let mut rows = Vec::new();
    for (id, pass, layer) in &keys {
        let mut seconds: Vec<f64> = per_iteration
            .iter()
            .map(|spans| {
                spans
                    .iter()
                    .filter(|s| key(s) == (id.clone(), *pass))
                    .map(|s| s.seconds)
                    .sum()
            })
            .collect();
        let flops = flops_of(&per_iteration[0], id, pass, &work);
        rows.push(ProfileRow {
            what: format!("{id} {layer}"),
            pass,
            seconds: median(&mut seconds),
            flops,
        });
    }
    let mut inside: Vec<f64> = per_iteration
        .iter()
        .map(|spans| spans.iter().map(|s| s.seconds).sum())
        .collect();
    let iteration_seconds = median(&mut totals);
    let outside = (iteration_seconds - median(&mut inside)).max(0.0);
    let adam = adam_seconds(&mut trainer, iterations).min(outside);
    rows.push(ProfileRow {
        what: "Adam steps of G and D (timed alone)".into(),
        pass: "",
        seconds: adam,
        flops: 0.0,
    });
    rows.push(ProfileRow {
        what: "the rest: losses, noise, minibatch copies, zeroing gradients".into(),
        pass: "",
        seconds: outside - adam,
        flops: 0.0,
    });
    Profile {
        workload,
        threads: crate::parallel::threads(),
        iterations: per_iteration.len(),
        iteration_seconds,
        rows,
    }
}

/// FLOPs of one layer in one direction during one iteration.
fn flops_of(spans: &[Span], id: &str, pass: &str, work: &[LayerWork]) -> f64 {
    let forward_macs = work
        .iter()
        .find(|w| w.id == id)
        .map_or(0, |w| w.forward_multiply_adds) as f64;
    spans
        .iter()
        .filter(|s| format!("{}.{}", short(&s.net), s.index) == id)
        .map(|s| match (pass, s.pass) {
            ("forward", "forward") => 2.0 * forward_macs,
            ("backward", "backward") => 4.0 * forward_macs,
            ("backward", "backward-input" | "backward-params") => 2.0 * forward_macs,
            _ => 0.0,
        })
        .sum()
}

/// Median seconds of one Adam step of G's and of D's parameters, on copies of them.
fn adam_seconds(trainer: &mut Trainer<f32>, runs: usize) -> f64 {
    let copy = |params: Vec<NamedParam<'_, f32>>| -> Vec<(Tensor<f32>, Tensor<f32>)> {
        params
            .into_iter()
            .map(|p| (p.value.clone(), p.grad.clone()))
            .collect()
    };
    let mut g = copy(trainer.g.net.named_params());
    let mut d = copy(trainer.d.net.named_params());
    let (mut adam_g, mut adam_d) = (Adam::<f32>::dcgan(), Adam::<f32>::dcgan());
    let timing = Timing {
        min_runs: runs.max(1),
        min_seconds: 0.0,
    };
    median_seconds(&timing, || {
        for (params, adam) in [(&mut g, &mut adam_g), (&mut d, &mut adam_d)] {
            let mut refs: Vec<ParamRef<f32>> = params
                .iter_mut()
                .map(|(value, grad)| ParamRef {
                    value,
                    grad: &*grad,
                })
                .collect();
            adam.step(&mut refs);
        }
    })
}

/// The peak resident memory of this process so far (VmHWM in /proc/self/status), in bytes, if
/// the system reports it.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Profile {
    /// The profile as a table: each row's time, share of the iteration and rate.
    pub fn print(&self, peak: &Peak) {
        let w = &self.workload;
        let total = self.iteration_seconds;
        println!(
            "Profile of one {} iteration (batch {}, ngf = ndf = {}), {} thread(s): median of {} iterations, {:.1} ms each\n",
            w.name, w.batch, w.width, self.threads, self.iterations, total * 1e3
        );
        println!(
            "{:<52} {:<9} {:>9} {:>7} {:>8} {:>9} {:>8}",
            "layer", "pass", "ms", "share", "MFLOP", "GFLOP/s", "of peak"
        );
        let rate_peak = peak.for_threads(self.threads);
        for r in &self.rows {
            let (rate, of_peak) = if r.flops > 0.0 && r.seconds > 0.0 {
                let rate = r.flops / r.seconds / 1e9;
                (
                    format!("{rate:.1}"),
                    format!("{:.1}%", 100.0 * rate / rate_peak),
                )
            } else {
                (String::new(), String::new())
            };
            println!(
                "{:<52} {:<9} {:>9.2} {:>6.1}% {:>8.0} {:>9} {:>8}",
                truncate(&r.what, 52),
                r.pass,
                r.seconds * 1e3,
                100.0 * r.seconds / total,
                r.flops / 1e6,
                rate,
                of_peak
            );
        }
        let flops: f64 = self.rows.iter().map(|r| r.flops).sum();
        let in_products: f64 = self
            .rows
            .iter()
            .filter(|r| r.flops > 0.0)
            .map(|r| r.seconds)
            .sum();
        println!(
            "\n{:.0} MFLOP per iteration; {:.1}% of the time is in convolutions and linears, {:.1}% elsewhere; {:.1} GFLOP/s = {:.1}% of peak overall",
            flops / 1e6,
            100.0 * in_products / total,
            100.0 * (1.0 - in_products / total),
            flops / total / 1e9,
            100.0 * flops / total / 1e9 / rate_peak
        );
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width - 1).collect();
        t.push('~');
        t
    }
}
