//! The `gan` command. Each subcommand parses its own flags (see `cli.rs`); every error is
//! printed as one clear message with a non-zero exit code (2 for a bad command line).

use gan::bench;
use gan::cli::{Command, Flag, Parsed};
use gan::{Error, Result};
use std::process::ExitCode;

const BENCH: Command = Command {
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
            help: "also write the table as JSON",
            default: None,
        },
        THREADS,
    ],
    positionals: "",
};

const THREADS: Flag = Flag {
    name: "threads",
    value: Some("N"),
    help: "threads to use (default: $GAN_THREADS, else all cores)",
    default: None,
};

/// What a command does once its flags are parsed.
type Action = fn(&gan::cli::Matches) -> Result<()>;

const COMMANDS: &[(&Command, Action)] = &[(&BENCH, run_bench)];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    // With no command, run the main job (for now: the bench).
    let (name, rest) = match args.split_first() {
        None => ("bench", &[][..]),
        Some((first, rest)) => (first.as_str(), rest),
    };
    if matches!(name, "help" | "--help" | "-h") {
        print!("{}", overview());
        return Ok(());
    }
    let Some((command, run)) = COMMANDS.iter().find(|(c, _)| c.name == name) else {
        return Err(Error::usage(format!(
            "unknown command '{name}'\n\n{}",
            overview()
        )));
    };
    match command.parse(rest)? {
        Parsed::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Parsed::Run(m) => {
            if let Some(n) = m.get::<usize>("threads")? {
                if n == 0 {
                    return Err(Error::usage("--threads must be at least 1"));
                }
                gan::parallel::set_threads(n);
            }
            run(&m)
        }
    }
}

fn overview() -> String {
    let mut text = String::from(
        "gan: generative adversarial networks from the Rust standard library\n\nCommands:\n",
    );
    for (c, _) in COMMANDS {
        text += &format!("  {:<10} {}\n", c.name, c.about);
    }
    text += "\nRun 'gan COMMAND --help' for a command's options.\n";
    text
}

fn run_bench(m: &gan::cli::Matches) -> Result<()> {
    let sizes = parse_list(m.text("sizes").unwrap_or_default(), "sizes")?;
    let timing = bench::Timing {
        min_runs: m.value("runs")?,
        ..bench::Timing::default()
    };
    let report = bench::run(&sizes, !m.flag("no-layers"), &timing);
    report.print();
    if let Some(path) = m.text("json") {
        let path = std::path::Path::new(path);
        std::fs::write(path, report.to_json()).map_err(|e| Error::io(path, e))?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

fn parse_list(text: &str, flag: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    Error::usage(format!("--{flag}: '{s}' is not a positive whole number"))
                })
        })
        .collect()
}
