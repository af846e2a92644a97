//! The warren binary: parse the command line, dispatch to a command.
// Not `forbid`: `allocator` makes the one FFI call that tunes mimalloc (see there).
#![deny(unsafe_code)]

#[cfg(not(feature = "system-allocator"))]
mod allocator;
mod cli;
mod commands;

use clap::Parser;

/// mimalloc instead of glibc malloc: less CPU in the allocation-heavy paths (JSON trees, object
/// copies) every API request and watch event goes through. The `system-allocator` feature keeps
/// glibc's, for heap profilers that hook malloc (heaptrack).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    #[cfg(not(feature = "system-allocator"))]
    allocator::return_freed_memory_at_once();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
