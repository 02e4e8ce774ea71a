//! `gan bench`: this machine's peak, then GEMM and the DCGAN layers against it.

use super::{parse_list, THREADS};
use crate::bench;
use crate::cli::{Command, Flag, Matches};
use crate::error::{Error, Result};

pub(super) const BENCH: Command = Command {
    name: "bench",
    about: "Measure this machine's peak f32 throughput, then GEMM and the DCGAN layers against it.",
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
    let report = bench::run(&sizes, !m.flag("no-layers"), &timing);
    report.print();
    if let Some(path) = m.text("json") {
        let path = std::path::Path::new(path);
        crate::io::write_atomic(path, report.to_json().as_bytes())?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}
