//! The subcommands that work on the state file (all but `serve`).

mod connection;
mod issues;
mod status;
mod trigger;

use crate::cli::Command;
use crate::failure::Outcome;
use crate::setup::Opened;

/// Runs `command` on the opened node.
pub async fn run(opened: &Opened, command: Command) -> Outcome {
    match command {
        Command::Serve(_) => Ok(()),
        Command::Connection(c) => connection::run(opened, c).await,
        Command::Trigger(t) => trigger::run(opened, t).await,
        Command::Exalate(a) => issues::exalate(opened, a).await,
        Command::Connect { on, key, other } => issues::connect(opened, on, &key, &other).await,
        Command::Unexalate(a) => issues::unexalate(opened, a).await,
        Command::BulkExalate { on, jql } => issues::bulk_exalate(opened, on, &jql).await,
        Command::TestRun(a) => issues::test_run(opened, a).await,
        Command::Status { connection, json } => status::status(opened, connection.as_deref(), json),
        Command::Errors { connection } => status::errors(opened, connection.as_deref()),
        Command::Retry(a) => issues::retry(opened, a).await,
        Command::Resolve(a) => issues::resolve(opened, a).await,
    }
}
