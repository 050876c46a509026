//! `twinsync`: a twinsync node run from a TOML config file, and the admin
//! commands of its console. `twinsync --help` explains each; the README's
//! "The twinsync binary" has the config reference.

mod cli;
mod commands;
mod config;
mod demo;
mod failure;
mod serve;
mod setup;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ConsoleCommand, LogFormat};
use config::Config;
use failure::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(&cli.command, Command::Serve(args) if !args.demo);
    let filter = cli
        .log
        .clone()
        .unwrap_or_else(|| if serving { "info" } else { "warn" }.to_owned());
    init_logs(cli.log_format, &filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(failure::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    // A served node's /metrics: the recorder goes in once, before any node
    // is built, so that everything it counts is recorded.
    let metrics = match &cli.command {
        Command::Serve(_) => Some(twinsync::server::ops::install_prometheus()?),
        _ => None,
    };
    if let Command::Serve(args) = &cli.command
        && args.demo
        && let Some(metrics) = metrics
    {
        return demo::demo(args.demo_duration, metrics).await;
    }
    if let Command::Console(ConsoleCommand::HashPassword) = &cli.command {
        return commands::console::hash_password();
    }
    let config = Config::load(&cli.config)?;
    if let Some(metrics) = metrics {
        let opened = setup::open(config, true).await?;
        return serve::serve(opened, metrics).await;
    }
    // While `serve` holds the state file, the admin commands go through it.
    let beside = commands::running::Beside::of(&config);
    match setup::open(config, false).await {
        Ok(opened) => commands::run(&opened, cli.command).await,
        Err(refused) if refused.code == failure::IN_USE => beside.run(cli.command, refused).await,
        Err(failure) => Err(failure),
    }
}

/// Logs to standard error, as text or JSON; `RUST_LOG` overrides `--log`.
fn init_logs(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = installed {
        eprintln!("warning: logs are off: {e}");
    }
}
