use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue};
use clap::Parser;

// jemalloc maps very large requests lazily (MAP_NORESERVE under Linux's default
// overcommit), so a request whose header claims an absurd array length makes the codec's
// pre-allocation fail softly instead of aborting the process. See ARCHITECTURE.md.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // `rill kafka-tool TOOL ARGS...`: the scripts `rill kafka-tools install` writes. Kafka's
    // flags are parsed by the tool itself, not by clap.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.get(1).map(String::as_str) == Some("kafka-tool") {
        let Some(tool) = argv.get(2) else {
            eprintln!("rill kafka-tool: which tool? (see `rill kafka-tools install --help`)");
            return ExitCode::FAILURE;
        };
        return rill::kafka_tools::run(tool, &argv[3..]);
    }
    // `KAFKA_*` variables of a docker-compose file written for the apache/kafka image
    // stand for `rill serve` flags (see src/kafka_env.rs).
    let sub = std::env::args_os().nth(1);
    if matches!(
        sub.as_ref().and_then(|s| s.to_str()),
        Some("serve" | "health")
    ) {
        if let Err(e) = rill::kafka_env::apply_to_process() {
            eprintln!("rill: {e}");
            return ExitCode::FAILURE;
        }
    }
    let cli = match rill::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A bad value that came from a KAFKA_* variable names that variable.
            if let Some(from) = kafka_source(&e) {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or_default();
                eprintln!("rill: {from}: {}", first.trim_start_matches("error: "));
                return ExitCode::FAILURE;
            }
            e.exit()
        }
    };
    match rill::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rill: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The `KAFKA_*` variable (as `NAME="value"`) behind a value clap refused, if one is.
fn kafka_source(e: &clap::Error) -> Option<String> {
    let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) else {
        return None;
    };
    let mapped = rill::kafka_env::applied()?;
    mapped
        .rill_env
        .iter()
        .find(|(_, v, _)| v == value)
        .map(|(_, v, from)| format!("{from}={v:?}"))
}
