//! The `cairn` binary: parses flags, calls the libraries, maps outcomes to exit codes.
//!
//! Exit codes: 0 success; 1 some input could not be read (named on stderr and in the
//! summary); 2 a usage error (bad flag, bad query, no store); 3 an internal or I/O error.
//! A closed pipe (`cairn search ... | head`) is success.

mod cli;
mod commands;
mod config;
mod demo;
mod detect;
mod health;
mod ingest;
mod lake;
mod metrics;
mod output;
mod serve;
mod verify;

use std::process::ExitCode;

use clap::Parser;

/// How a command ended, for the exit code.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    /// Some input failed; the rest was done.
    InputFailed,
    /// A check's own exit code (Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Exit(u8),
}

/// Errors the user must fix (exit 2), as opposed to everything else (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose, cli.quiet, cli.log_json);
    match commands::run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::InputFailed) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                return ExitCode::from(2);
            }
            if let Some(cairn_store::StoreError::NoStore(_) | cairn_store::StoreError::Query(_)) =
                e.downcast_ref::<cairn_store::StoreError>()
            {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8, quiet: bool, json: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_current_span(false)
            .init();
        return;
    }
    let ansi = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .init();
}
