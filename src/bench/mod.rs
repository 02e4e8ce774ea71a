//! `gan bench`: speed, measured on this machine and compared with this machine's own peak.
//!
//! Timing lives here and only here: tests check results, never seconds. Every figure is the
//! median of repeated runs after a warm-up, and every rate is also given as a fraction of the
//! peak f32 FMA throughput measured by [`measure_peak`] on the same machine, with 1 thread and
//! with all threads.

pub mod iteration;
pub mod layers;

use crate::gemm::kernel::{best_kernel, peak};
use crate::gemm::{gemm, gemm_reference};
use crate::parallel::{for_each_task, threads, with_threads};
use crate::tensor::Tensor;
use std::hint::black_box;
use std::time::Instant;

/// How long and how often to measure.
#[derive(Clone, Debug)]
pub struct Timing {
    /// At least this many timed runs (after one warm-up run)...
    pub min_runs: usize,
    /// ...and at least this much time in timed runs.
    pub min_seconds: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            min_runs: 5,
            min_seconds: 0.5,
        }
    }
}

/// The median wall-clock seconds of `run`, after one warm-up call.
pub fn median_seconds(timing: &Timing, run: impl FnMut()) -> f64 {
    median(&mut sample_seconds(timing, run))
}

/// The wall-clock seconds of each timed call of `run` (at least `min_runs`, for at least
/// `min_seconds` in all), after one warm-up call.
pub fn sample_seconds(timing: &Timing, mut run: impl FnMut()) -> Vec<f64> {
    run();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < timing.min_runs || start.elapsed().as_secs_f64() < timing.min_seconds {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64());
    }
    times
}

/// The median of `xs` (sorted in place).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

/// The machine's measured peak f32 throughput, GFLOP/s.
#[derive(Clone, Copy, Debug)]
pub struct Peak {
    pub one_thread: f64,
    pub all_threads: f64,
    pub threads: usize,
}

impl Peak {
    /// The peak that applies to a run on `threads` threads.
    pub fn for_threads(&self, threads: usize) -> f64 {
        if threads == 1 {
            self.one_thread
        } else {
            self.all_threads
        }
    }
}

/// Measures the peak: every thread runs register-only FMA chains (see `gemm::kernel::peak`).
pub fn measure_peak(timing: &Timing) -> Peak {
    const ITERATIONS: usize = 20_000_000;
    // One untimed call tells how many FLOPs a call does (and warms the core up).
    let flops_per_call = peak::fma_loop(ITERATIONS);
    let rate = |threads: usize| {
        let flops = flops_per_call * threads as f64;
        let seconds = with_threads(threads, || {
            median_seconds(timing, || {
                for_each_task(threads, |_| {
                    black_box(peak::fma_loop(black_box(ITERATIONS)));
                })
            })
        });
        flops / seconds / 1e9
    };
    let all = threads();
    Peak {
        one_thread: rate(1),
        all_threads: if all > 1 { rate(all) } else { rate(1) },
        threads: all,
    }
}

/// One row of the GEMM table.
#[derive(Clone, Debug)]
pub struct GemmRow {
    pub size: usize,
    pub threads: usize,
    pub milliseconds: f64,
    pub gflops: f64,
    pub fraction_of_peak: f64,
}

/// Square f32 GEMMs (C <- A B) of each size, on 1 thread and on all threads.
pub fn gemm_table(sizes: &[usize], peak: &Peak, timing: &Timing) -> Vec<GemmRow> {
    let mut rows = Vec::new();
    for &n in sizes {
        let a = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 7) % 13) as f32 / 13.0 - 0.5);
        let b = Tensor::<f32>::from_fn(&[n, n], |i| ((i * 5) % 11) as f32 / 11.0 - 0.5);
        let mut c = Tensor::<f32>::zeros(&[n, n]);
        for t in thread_counts(peak.threads) {
            let seconds = with_threads(t, || {
                median_seconds(timing, || gemm(1.0, a.view(), b.view(), 0.0, c.view_mut()))
            });
            let gflops = 2.0 * (n * n * n) as f64 / seconds / 1e9;
            rows.push(GemmRow {
                size: n,
                threads: t,
                milliseconds: seconds * 1e3,
                gflops,
                fraction_of_peak: gflops / peak.for_threads(t),
            });
        }
    }
    rows
}

/// The triple loop's rate at one size, for comparison (1 thread; it has no other).
pub fn reference_gflops(n: usize, timing: &Timing) -> f64 {
    let a = Tensor::<f32>::from_fn(&[n, n], |i| (i % 7) as f32);
    let b = Tensor::<f32>::from_fn(&[n, n], |i| (i % 5) as f32);
    let mut c = Tensor::<f32>::zeros(&[n, n]);
    let seconds = median_seconds(timing, || {
        gemm_reference(1.0, a.view(), b.view(), 0.0, c.view_mut())
    });
    2.0 * (n * n * n) as f64 / seconds / 1e9
}

/// How busy the machine is right now: how much faster a 256 x 256 GEMM runs on all threads than
/// on one, each run after a pause, so that it also pays for waking the worker threads. On a
/// shared or virtual machine another load can take a core away, or slow the wake-up of an idle
/// one, for minutes; the rows measured meanwhile are slow for a reason that is not the code's.
/// A quiet 2-core machine gives about 1.5-1.65x here, a busy one close to 1x. Comparing the two
/// thread counts of the same probe needs no reference from a quiet moment.
pub fn probe_speedup(peak: &Peak) -> f64 {
    const N: usize = 256;
    const RUNS: usize = 9;
    let a = Tensor::<f32>::from_fn(&[N, N], |i| ((i * 7) % 13) as f32 / 13.0 - 0.5);
    let b = Tensor::<f32>::from_fn(&[N, N], |i| ((i * 5) % 11) as f32 / 11.0 - 0.5);
    let mut c = Tensor::<f32>::zeros(&[N, N]);
    let mut seconds = |threads: usize| {
        let mut times: Vec<f64> = with_threads(threads, || {
            (0..RUNS)
                .map(|_| {
                    // Long enough for the workers to stop spinning and sleep.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    let t = Instant::now();
                    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
                    t.elapsed().as_secs_f64()
                })
                .collect()
        });
        median(&mut times)
    };
    seconds(1) / seconds(peak.threads)
}

/// A probe taken at the start or after one part of the bench (a workload, a table).
#[derive(Clone, Debug)]
pub struct Probe {
    pub after: String,
    /// [`probe_speedup`] at that moment.
    pub speedup: f64,
}

/// A probe's speed-up below this fraction of the thread count marks the machine as busy.
pub const BUSY_BELOW: f64 = 0.6;

/// 1, and all threads if that is more.
pub fn thread_counts(all: usize) -> Vec<usize> {
    if all > 1 {
        vec![1, all]
    } else {
        vec![1]
    }
}

/// Everything `gan bench` measured.
pub struct Report {
    pub peak: Peak,
    pub kernel: &'static str,
    pub gemm: Vec<GemmRow>,
    pub layers: Vec<layers::LayerRow>,
    pub iterations: Vec<iteration::IterationRow>,
    /// Peak resident memory of the bench process after the iterations (W64's included), before
    /// the GEMM and layer tables.
    pub peak_resident_bytes: Option<u64>,
    /// The machine probes, at the start and after each part ([`probe_speedup`]).
    pub probes: Vec<Probe>,
}

impl Report {
    /// Takes `peak` as the machine's peak and recomputes every fraction of it.
    pub fn set_peak(&mut self, peak: Peak) {
        for r in &mut self.gemm {
            r.fraction_of_peak = r.gflops / peak.for_threads(r.threads);
        }
        for r in &mut self.layers {
            r.fraction_of_peak = r.gflops / peak.for_threads(r.threads);
        }
        for r in &mut self.iterations {
            r.fraction_of_peak = r.gflops / peak.for_threads(r.threads);
        }
        self.peak = peak;
    }

    pub fn print(&self) {
        let p = &self.peak;
        println!("peak f32 FMA throughput (measured at the start and at the end, the larger): {:.1} GFLOP/s on 1 thread, {:.1} GFLOP/s on {} threads", p.one_thread, p.all_threads, p.threads);
        println!("GEMM kernel: {}\n", self.kernel);
        println!(
            "{:>6} {:>8} {:>11} {:>9} {:>8}",
            "size", "threads", "median ms", "GFLOP/s", "of peak"
        );
        for r in &self.gemm {
            println!(
                "{:>6} {:>8} {:>11.3} {:>9.1} {:>7.1}%",
                r.size,
                r.threads,
                r.milliseconds,
                r.gflops,
                100.0 * r.fraction_of_peak
            );
        }
        if !self.layers.is_empty() {
            println!("\nDCGAN convolutions, batch {LAYER_BATCH}, f32 (FLOPs = 2 x multiply-adds; the three passes count the same)\n");
            println!(
                "{:<4} {:<20} {:<16} {:>8} {:>8} {:>10} {:>9} {:>8}",
                "net", "layer", "pass", "threads", "MFLOP", "median ms", "GFLOP/s", "of peak"
            );
            for r in &self.layers {
                println!(
                    "{:<4} {:<20} {:<16} {:>8} {:>8.0} {:>10.3} {:>9.1} {:>7.1}%",
                    r.config,
                    r.layer,
                    r.pass,
                    r.threads,
                    r.mflop,
                    r.milliseconds,
                    r.gflops,
                    100.0 * r.fraction_of_peak
                );
            }
        }
        self.print_iterations();
        self.print_probes();
    }

    fn print_probes(&self) {
        if self.probes.is_empty() || self.peak.threads < 2 {
            return;
        }
        let list: Vec<String> = self
            .probes
            .iter()
            .map(|p| format!("{} {:.2}x", p.after, p.speedup))
            .collect();
        println!(
            "\nmachine probe (a 256 x 256 GEMM after a pause, {} threads against 1): {}",
            self.peak.threads,
            list.join(", ")
        );
        let busy = BUSY_BELOW * self.peak.threads as f64;
        if self.probes.iter().any(|p| p.speedup < busy) {
            println!(
                "warning: the machine was busy at times (probes below {busy:.2}x): rows measured then are slow because of other load, not the code; run the bench again"
            );
        }
    }

    fn print_iterations(&self) {
        if self.iterations.is_empty() {
            return;
        }
        println!("\nTraining iterations (Algorithm 1, k = 1, batch 64, Adam; FLOPs of every pass the iteration runs)\n");
        println!(
            "{:<5} {:>8} {:>11} {:>9} {:>8} {:>9} {:>8} {:>9}",
            "net", "threads", "median ms", "images/s", "GFLOP", "GFLOP/s", "of peak", "speed-up"
        );
        for r in &self.iterations {
            let one = self
                .iterations
                .iter()
                .find(|o| o.workload == r.workload && o.threads == 1)
                .map_or(r.milliseconds, |o| o.milliseconds);
            println!(
                "{:<5} {:>8} {:>11.1} {:>9.1} {:>8.2} {:>9.1} {:>7.1}% {:>8.2}x",
                r.workload.name,
                r.threads,
                r.milliseconds,
                r.images_per_second,
                r.gflop,
                r.gflops,
                100.0 * r.fraction_of_peak,
                one / r.milliseconds
            );
        }
        println!("\nFLOPs of one iteration, layer by layer (every pass it runs: see chapter 13)\n");
        for r in self.iterations.iter().filter(|r| r.threads == 1) {
            for w in &r.layers {
                println!(
                    "{:<5} {:<5} {:<50} {:>10.1} MFLOP",
                    r.workload.name,
                    w.id,
                    w.layer,
                    w.flops / 1e6
                );
            }
        }
        if let Some(bytes) = self.peak_resident_bytes {
            println!(
                "\npeak resident memory of this process (VmHWM): {:.0} MiB",
                bytes as f64 / (1024.0 * 1024.0)
            );
        }
    }

    /// The same table as JSON.
    pub fn to_json(&self) -> String {
        let rows: Vec<String> = self
            .gemm
            .iter()
            .map(|r| {
                format!(
                    "    {{\"size\": {}, \"threads\": {}, \"median_ms\": {:.4}, \"gflops\": {:.2}, \"fraction_of_peak\": {:.4}}}",
                    r.size, r.threads, r.milliseconds, r.gflops, r.fraction_of_peak
                )
            })
            .collect();
        let layer_rows: Vec<String> = self
            .layers
            .iter()
            .map(|r| {
                format!(
                    "    {{\"config\": \"{}\", \"layer\": \"{}\", \"pass\": \"{}\", \"threads\": {}, \"mflop\": {:.3}, \"median_ms\": {:.4}, \"gflops\": {:.2}, \"fraction_of_peak\": {:.4}}}",
                    r.config, r.layer, r.pass, r.threads, r.mflop, r.milliseconds, r.gflops, r.fraction_of_peak
                )
            })
            .collect();
        let iteration_rows: Vec<String> = self
            .iterations
            .iter()
            .map(|r| {
                let layers: Vec<String> = r
                    .layers
                    .iter()
                    .map(|w| format!("{{\"layer\": \"{} {}\", \"mflop\": {:.3}}}", w.id, w.layer, w.flops / 1e6))
                    .collect();
                format!(
                    "    {{\"workload\": \"{}\", \"threads\": {}, \"median_ms\": {:.3}, \"images_per_second\": {:.2}, \"gflop\": {:.4}, \"gflops\": {:.2}, \"fraction_of_peak\": {:.4}, \"layers\": [{}]}}",
                    r.workload.name, r.threads, r.milliseconds, r.images_per_second, r.gflop, r.gflops, r.fraction_of_peak, layers.join(", ")
                )
            })
            .collect();
        let memory = self
            .peak_resident_bytes
            .map_or("null".to_string(), |b| b.to_string());
        let probes: Vec<String> = self
            .probes
            .iter()
            .map(|p| {
                format!(
                    "{{\"after\": \"{}\", \"speedup\": {:.4}}}",
                    p.after, p.speedup
                )
            })
            .collect();
        format!(
            "{{\n  \"peak_gflops\": {{\"one_thread\": {:.2}, \"all_threads\": {:.2}, \"threads\": {}}},\n  \"gemm_kernel\": \"{}\",\n  \"gemm\": [\n{}\n  ],\n  \"layers\": [\n{}\n  ],\n  \"iterations\": [\n{}\n  ],\n  \"peak_resident_bytes\": {},\n  \"probes\": [{}]\n}}\n",
            self.peak.one_thread,
            self.peak.all_threads,
            self.peak.threads,
            self.kernel,
            rows.join(",\n"),
            layer_rows.join(",\n"),
            iteration_rows.join(",\n"),
            memory,
            probes.join(", ")
        )
    }
}

/// The batch of the layer table, as in DCGAN.
pub const LAYER_BATCH: usize = 64;

/// What `gan bench` measures besides the peak.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Square GEMM sizes.
    pub sizes: Vec<usize>,
    /// The DCGAN layer table.
    pub layers: bool,
    /// Whole training iterations of these workloads.
    pub iterations: Vec<iteration::Workload>,
}

/// Runs the bench: the peak, then what `plan` asks for.
pub fn run(plan: &Plan, timing: &Timing) -> Report {
    let peak = measure_peak(timing);
    // The iterations run first, largest first. In one process, a workload measured after a
    // smaller one (or after the whole GEMM table) ran up to 15% slower on two threads: the heap
    // the earlier work left behind serves the larger tensors worse. Largest first, every
    // workload measures as it does in a process of its own, as a training run is.
    let mut workloads = plan.iterations.clone();
    workloads
        .sort_by_key(|w| std::cmp::Reverse(w.image_size * w.image_size * w.channels * w.width));
    let mut probes = Vec::new();
    let mut probe = |after: &str| {
        probes.push(Probe {
            after: after.to_string(),
            speedup: probe_speedup(&peak),
        })
    };
    probe("start");
    let mut iterations = Vec::new();
    for &w in &workloads {
        iterations.extend(iteration::iteration_rows(w, &peak, timing));
        probe(w.name);
    }
    let peak_resident_bytes = iteration::peak_resident_bytes();
    let gemm = gemm_table(&plan.sizes, &peak, timing);
    if !plan.sizes.is_empty() {
        probe("GEMM");
    }
    let layers = if plan.layers {
        let rows = layers::layer_table(LAYER_BATCH, &peak, timing);
        probe("layers");
        rows
    } else {
        Vec::new()
    };
    let mut report = Report {
        peak,
        kernel: best_kernel::<f32>().name,
        gemm,
        layers,
        iterations,
        peak_resident_bytes,
        probes,
    };
    // The peak again, at the end. Another load can slow a core while the peak is measured, too,
    // and a peak measured low would flatter every fraction below: the larger of the two counts.
    let last_peak = measure_peak(timing);
    report.set_peak(Peak {
        one_thread: peak.one_thread.max(last_peak.one_thread),
        all_threads: peak.all_threads.max(last_peak.all_threads),
        threads: peak.threads,
    });
    report
}
