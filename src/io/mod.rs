//! Chapters 1 and 11. Files: pictures (`svg`), models (`safetensors`, with `json` headers).
//!
//! Everything the project writes goes through [`write_atomic`], so an interrupted run never
//! leaves a half-written file under the real name.

pub mod json;
pub mod npy;
pub mod png;
pub mod png_read;
pub mod safetensors;
pub mod svg;

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` all at once or not at all.
///
/// The bytes go to a temporary file in the same directory, are flushed and synced to disk, and
/// the file is then renamed over `path`. A rename within one directory is atomic, so a reader
/// (or a crash) sees either the old file or the complete new one. Errors name `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::msg(format!("{}: expected a file name", path.display())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Hidden, and unique per process, so two runs writing the same file do not collide.
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);

    let written = (|| -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp); // best effort: the error that matters is `e`
        return Err(Error::io(path, e));
    }
    // Make the rename itself durable. Not every platform can open a directory; that only weakens
    // the guarantee after a power cut, so it is not an error.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("gan-io-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        write_atomic(&path, b"first, longer contents").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn write_atomic_error_names_the_file() {
        let path = Path::new("no-such-directory-for-gan/x.svg");
        let err = write_atomic(path, b"x").unwrap_err().to_string();
        assert!(err.contains("no-such-directory-for-gan/x.svg"), "{err}");
    }
}
