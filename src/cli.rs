//! The command line, parsed with the standard library alone.
//!
//! A command declares its flags (name, value name, help, default); the parser checks what the
//! user typed against them, so every command gets `--help` and a clear message (exit code 2)
//! for an unknown flag, a missing value or a value that does not parse.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::str::FromStr;

/// One flag of a command: `--name VALUE` or, when `value` is `None`, a switch `--name`.
pub struct Flag {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub help: &'static str,
    pub default: Option<&'static str>,
}

/// `--name VALUE`, with its default if it has one: the flag tables of the commands are lists of these.
pub const fn opt(
    name: &'static str,
    value: &'static str,
    help: &'static str,
    default: Option<&'static str>,
) -> Flag {
    Flag {
        name,
        value: Some(value),
        help,
        default,
    }
}

/// `--name`, a switch without a value.
pub const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        help,
        default: None,
    }
}

/// A command: its name, a one-line description, its flags and its positional arguments.
pub struct Command {
    pub name: &'static str,
    pub about: &'static str,
    pub flags: &'static [Flag],
    /// Names of positional arguments, for the usage line (e.g. "IMAGES..."); empty if none.
    pub positionals: &'static str,
}

/// What the user asked for.
#[derive(Debug)]
pub enum Parsed {
    Run(Matches),
    /// `--help` was given: print this text and exit 0.
    Help(String),
}

/// The flags and positional arguments of one invocation.
#[derive(Debug, Default)]
pub struct Matches {
    values: BTreeMap<&'static str, String>,
    switches: Vec<&'static str>,
    /// Flags the user typed (as opposed to defaults).
    given: Vec<&'static str>,
    pub positionals: Vec<String>,
    command: &'static str,
}

impl Command {
    pub fn usage(&self) -> String {
        let mut text = format!(
            "{}\n\nUsage: gan {} [OPTIONS] {}\n\nOptions:\n",
            self.about, self.name, self.positionals
        );
        for flag in self.flags {
            let left = match flag.value {
                Some(v) => format!("--{} {v}", flag.name),
                None => format!("--{}", flag.name),
            };
            let default = flag
                .default
                .map(|d| format!(" [default: {d}]"))
                .unwrap_or_default();
            text += &format!("  {left:<26} {}{default}\n", flag.help);
        }
        text += &format!("  {:<26} {}\n", "--help", "print this help");
        text
    }

    /// Parses the arguments that follow the command's name.
    pub fn parse(&self, args: &[String]) -> Result<Parsed> {
        let mut m = Matches {
            command: self.name,
            ..Matches::default()
        };
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--help" || arg == "-h" {
                return Ok(Parsed::Help(self.usage()));
            }
            let Some(body) = arg.strip_prefix("--") else {
                if self.positionals.is_empty() {
                    return Err(self.error(format!("unexpected argument '{arg}'")));
                }
                m.positionals.push(arg.clone());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(flag) = self.flags.iter().find(|f| f.name == name) else {
                return Err(self.error(format!("unknown option '--{name}'")));
            };
            match flag.value {
                None if inline.is_some() => {
                    return Err(self.error(format!("--{name} takes no value")))
                }
                None => m.switches.push(flag.name),
                Some(meta) => {
                    let value = match inline {
                        Some(v) => v,
                        None if i < args.len() => {
                            i += 1;
                            args[i - 1].clone()
                        }
                        None => return Err(self.error(format!("--{name} needs a value ({meta})"))),
                    };
                    m.values.insert(flag.name, value);
                    m.given.push(flag.name);
                }
            }
        }
        for flag in self.flags {
            if let (Some(d), Some(_)) = (flag.default, flag.value) {
                m.values.entry(flag.name).or_insert_with(|| d.to_string());
            }
        }
        Ok(Parsed::Run(m))
    }

    fn error(&self, msg: String) -> Error {
        Error::usage(format!(
            "gan {}: {msg}\nRun 'gan {} --help' for the options.",
            self.name, self.name
        ))
    }
}

impl Matches {
    /// Whether the switch `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// Whether the user typed `--name` (rather than getting its default).
    pub fn was_given(&self, name: &str) -> bool {
        self.given.contains(&name) || self.switches.contains(&name)
    }

    /// The raw text of `--name`, if given (or defaulted).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `--name` parsed as `T`, if given (or defaulted).
    pub fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.values.get(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                Error::usage(format!(
                    "gan {}: --{name} got '{text}', which is not a valid {}",
                    self.command,
                    std::any::type_name::<T>()
                ))
            }),
        }
    }

    /// The value of `--name`, which must have a default or have been given.
    pub fn value<T: FromStr>(&self, name: &str) -> Result<T> {
        self.get(name)?
            .ok_or_else(|| Error::usage(format!("gan {}: --{name} is required", self.command)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: Command = Command {
        name: "demo",
        about: "A demo command.",
        flags: &[
            Flag {
                name: "steps",
                value: Some("N"),
                help: "how many steps",
                default: Some("10"),
            },
            Flag {
                name: "fast",
                value: None,
                help: "go fast",
                default: None,
            },
        ],
        positionals: "",
    };

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_switches_and_defaults() {
        let Parsed::Run(m) = CMD.parse(&args(&["--steps", "5", "--fast"])).unwrap() else {
            panic!()
        };
        assert_eq!(m.value::<usize>("steps").unwrap(), 5);
        assert!(m.flag("fast"));
        let Parsed::Run(m) = CMD.parse(&args(&["--steps=7"])).unwrap() else {
            panic!()
        };
        assert_eq!(m.value::<usize>("steps").unwrap(), 7);
        let Parsed::Run(m) = CMD.parse(&[]).unwrap() else {
            panic!()
        };
        assert_eq!(m.value::<usize>("steps").unwrap(), 10);
        assert!(!m.flag("fast"));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [&["--nope"][..], &["--steps"], &["extra"], &["--fast=1"]] {
            let err = CMD.parse(&args(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
            assert!(err.to_string().contains("gan demo --help"), "{err}");
        }
        let Parsed::Run(m) = CMD.parse(&args(&["--steps", "many"])).unwrap() else {
            panic!()
        };
        let err = m.value::<usize>("steps").unwrap_err();
        assert!(err.to_string().contains("--steps got 'many'"), "{err}");
        assert!(matches!(
            CMD.parse(&args(&["--help"])).unwrap(),
            Parsed::Help(_)
        ));
    }
}
