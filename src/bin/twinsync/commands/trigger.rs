//! `twinsync trigger …`: add, list and remove triggers.

use twinsync::model::ProjectKey;
use twinsync::trigger::{TriggerId, TriggerSpec};

use crate::cli::TriggerCommand;
use crate::failure::Outcome;
use crate::setup::{self, Opened};

pub async fn run(opened: &Opened, command: TriggerCommand) -> Outcome {
    let node = &opened.node;
    match command {
        TriggerCommand::Add {
            on,
            project,
            jql,
            note,
        } => {
            let conn = setup::connection(node, on.connection.as_deref())?;
            let spec = TriggerSpec::new(ProjectKey::new(project)?, jql).note(note);
            let trigger = node
                .admin(&opened.admin)
                .add_trigger(&conn.id, spec)
                .await?;
            println!("{} added {trigger}", conn.name);
            println!(
                "matching issues come under sync on the next cycle of `twinsync serve`; `twinsync bulk-exalate` brings the existing ones now"
            );
        }
        TriggerCommand::List { connection } => {
            for id in setup::connections(node, connection.as_deref())? {
                let conn = node.connection(&id)?;
                let triggers = node.triggers(&id)?;
                if triggers.is_empty() {
                    println!("{}: no triggers", conn.name);
                }
                for t in triggers {
                    println!("{}: {t}", conn.name);
                }
            }
        }
        TriggerCommand::Remove { on, id } => {
            let conn = setup::connection(node, on.connection.as_deref())?;
            let removed = node
                .admin(&opened.admin)
                .remove_trigger(&conn.id, TriggerId(id))
                .await?;
            println!("{} removed {removed}", conn.name);
        }
    }
    Ok(())
}
