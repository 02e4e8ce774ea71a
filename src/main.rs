//! The `gan` command (see `src/commands/`). With no arguments it runs the main job: it trains a
//! class-conditional DCGAN on the built-in digits and names the PNG of its final samples.

use std::process::ExitCode;

/// Freed large blocks are kept for the next tensor of the same size (chapter 13).
#[global_allocator]
static ALLOCATOR: gan::block_cache::BlockCache = gan::block_cache::BlockCache;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match gan::commands::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
