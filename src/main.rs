use std::process::ExitCode;

use clap::Parser;

// jemalloc maps very large requests lazily (MAP_NORESERVE under Linux's default
// overcommit), so a request whose header claims an absurd array length makes the codec's
// pre-allocation fail softly instead of aborting the process. See ARCHITECTURE.md.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = rill::cli::Cli::parse();
    match rill::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rill: {e}");
            ExitCode::FAILURE
        }
    }
}
