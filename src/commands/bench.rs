//! `gan bench`: this machine's peak, then GEMM and the DCGAN layers against it.

use super::{parse_list, THREADS};
use crate::bench::{self, iteration};
use crate::cli::{Command, Flag, Matches};
use crate::error::{Error, Result};

pub(super) const BENCH: Command = Command {
    name: "bench",
    about: "Measure this machine's peak f32 throughput, then GEMM, the DCGAN layers and whole training iterations against it.",
    flags: &[
        Flag {
            name: "sizes",
            value: Some("LIST"),
            help: "square GEMM sizes, comma-separated",
            default: Some("64,128,256,512,1024,2048"),
        },
        Flag {
            name: "no-layers",
            value: None,
            help: "skip the table of DCGAN convolution layers",
            default: None,
        },
        Flag {
            name: "iterations",
            value: Some("LIST"),
            help: "whole training iterations of these workloads (W28, W32, W64), or 'none'",
            default: Some("W64,W32,W28"),
        },
        Flag {
            name: "profile",
            value: Some("WORKLOAD"),
            help: "only profile one workload (W28, W32 or W64): each layer's share of an iteration",
            default: None,
        },
        Flag {
            name: "runs",
            value: Some("N"),
            help: "at least N timed runs of each case, after a warm-up",
            default: Some("5"),
        },
        Flag {
            name: "json",
            value: Some("FILE"),
            help: "also write the tables as JSON",
            default: None,
        },
        THREADS,
    ],
    positionals: "",
};

pub(super) fn run(m: &Matches) -> Result<()> {
    let sizes: Vec<usize> = parse_list(m.text("sizes").unwrap_or_default(), "sizes")?;
    if sizes.contains(&0) {
        return Err(Error::usage("--sizes: every size must be at least 1"));
    }
    let timing = bench::Timing {
        min_runs: m.value("runs")?,
        ..bench::Timing::default()
    };
    let iterations = match m.text("iterations").unwrap_or_default() {
        "none" | "" => Vec::new(),
        list => list
            .split(',')
            .map(|name| {
                iteration::workload(name.trim()).ok_or_else(|| {
                    Error::usage(format!(
                        "--iterations: '{name}' is not a workload; expected W28, W32 or W64"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    if let Some(name) = m.text("profile") {
        let workload = iteration::workload(name).ok_or_else(|| {
            Error::usage(format!(
                "--profile: '{name}' is not a workload; expected W28, W32 or W64"
            ))
        })?;
        let peak = bench::measure_peak(&timing);
        let profile = iteration::profile(workload, timing.min_runs);
        profile.print(&peak);
        return Ok(());
    }
    let plan = bench::Plan {
        sizes,
        layers: !m.flag("no-layers"),
        iterations,
    };
    let report = bench::run(&plan, &timing);
    report.print();
    if let Some(path) = m.text("json") {
        let path = std::path::Path::new(path);
        crate::io::write_atomic(path, report.to_json().as_bytes())?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}
