//! One error type for the whole crate. Every message says what was expected and what was found,
//! and, for files, which file.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Error {
    /// A tensor or matrix of the wrong shape: both shapes are printed.
    Shape {
        what: String,
        expected: String,
        found: String,
    },
    /// The operating system refused a file operation.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that is not what its reader expected.
    Format {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// A command line the program cannot act on (exit code 2).
    Usage(String),
    /// Anything else that stops a command, with its explanation.
    Msg(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(
        what: impl Into<String>,
        expected: impl fmt::Debug,
        found: impl fmt::Debug,
    ) -> Self {
        Error::Shape {
            what: what.into(),
            expected: format!("{expected:?}"),
            found: format!("{found:?}"),
        }
    }

    /// Like [`Error::shape`], with both shapes already written out.
    pub fn shape_text(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::Shape {
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn format(path: &Path, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn msg(msg: impl Into<String>) -> Self {
        Error::Msg(msg.into())
    }

    /// The process exit code for this error: 2 for a bad command line, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected shape {expected}, found {found}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format {
                path,
                expected,
                found,
            } => write!(f, "{}: expected {expected}, found {found}", path.display()),
            Error::Usage(msg) | Error::Msg(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
