//! The `gan` command line: one module per subcommand, each declaring its flags (see `cli.rs`).
//! Every error comes back as one clear message; `main` prints it and exits non-zero (2 for a
//! bad command line).

mod attribute;
mod bench;
mod compare; // ch. 12: gan compare, eval, restarts
mod detect; // ch. 14: gan detect, attribute, nearest
mod eval;
mod nearest;
mod restarts;
mod sample;
mod train;
mod watermark;

use crate::cli::{Command, Flag, Matches, Parsed};
use crate::error::{Error, Result};

/// What a command does once its flags are parsed.
type Action = fn(&Matches) -> Result<()>;

const COMMANDS: &[(&Command, Action)] = &[
    (&train::TRAIN, train::run),
    (&sample::SAMPLE, sample::run),
    (&bench::BENCH, bench::run),
    (&eval::EVAL, eval::run),
    (&restarts::RESTARTS, restarts::run),
    (&compare::COMPARE, compare::run),
    (&watermark::WATERMARK, watermark::run),
    (&detect::DETECT, detect::run),
    (&attribute::ATTRIBUTE, attribute::run),
    (&nearest::NEAREST, nearest::run),
];

/// `--threads N`, accepted by every command.
pub(crate) const THREADS: Flag = Flag {
    name: "threads",
    value: Some("N"),
    help: "threads to use (default: $GAN_THREADS, else all cores); results do not depend on it",
    default: None,
};

/// Runs `gan ARGS...`. With no command, runs the main job: `gan train` with its defaults.
pub fn run(args: &[String]) -> Result<()> {
    let (name, rest) = match args.split_first() {
        None => ("train", &[][..]),
        Some((first, rest)) => (first.as_str(), rest),
    };
    if matches!(name, "help" | "--help" | "-h") {
        print!("{}", overview());
        return Ok(());
    }
    let Some((command, action)) = COMMANDS.iter().find(|(c, _)| c.name == name) else {
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
                crate::parallel::set_threads(n);
            }
            action(&m)
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
    text += "\nWith no command, 'gan' runs 'gan train' (the main job).\nRun 'gan COMMAND --help' for a command's options.\n";
    text
}

/// "a,b,c" -> numbers, each checked.
pub(crate) fn parse_list<T: std::str::FromStr>(text: &str, flag: &str) -> Result<Vec<T>> {
    text.split(',')
        .map(|s| {
            s.trim().parse::<T>().map_err(|_| {
                Error::usage(format!(
                    "--{flag}: '{s}' is not a valid {}",
                    std::any::type_name::<T>()
                ))
            })
        })
        .collect()
}
