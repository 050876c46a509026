//! `twinsync connection …`: set up, list and change connections.

use std::io::Read;

use twinsync::engine::{DeleteOptions, InitiateRequest, Initiated};
use twinsync::model::ProjectKey;

use crate::cli::ConnectionCommand;
use crate::failure::{FAILED, Failure, Outcome};
use crate::setup::{self, Opened};

pub async fn run(opened: &Opened, command: ConnectionCommand) -> Outcome {
    let node = &opened.node;
    let admin = node.admin(&opened.admin);
    match command {
        ConnectionCommand::Initiate {
            name,
            project,
            to,
            other_project,
            establish_token,
        } => {
            let from_config = name
                .as_deref()
                .and_then(|n| opened.config.connections.iter().find(|c| c.name == n));
            let project = match (project, from_config) {
                (Some(p), _) => ProjectKey::new(p)?,
                (None, Some(c)) => c.project.clone(),
                (None, None) => {
                    return Err(Failure::new(
                        FAILED,
                        "name the project on this node with --project (or a [[connection]] of the config file)",
                    ));
                }
            };
            let to = to.or_else(|| from_config.and_then(|c| c.peer.clone()));
            let other_project = match other_project {
                Some(p) => Some(ProjectKey::new(p)?),
                None => from_config.and_then(|c| c.other_project.clone()),
            };
            let mut request = InitiateRequest::new(project);
            if let Some(name) = name {
                request = request.name(name);
            }
            if let Some(to) = to {
                request = request.destination(to);
            }
            if let Some(other) = other_project {
                request = request.destination_project(other);
            }
            if let Some(token) = establish_token {
                request = request
                    .admin_access(true)
                    .establish_token(token.trim().parse()?);
            }
            match admin.initiate(request).await? {
                Initiated::Local(c) => println!("set up the local connection {c}"),
                Initiated::Established(c) => println!("set up {c} on both nodes"),
                Initiated::Invitation { connection, code } => {
                    println!("initiated {connection}");
                    println!(
                        "invitation code (a secret: hand it over privately; it works once, for seven days):"
                    );
                    println!("{}", code.as_str());
                    println!(
                        "on the other node: twinsync connection accept CODE --project <their project>"
                    );
                }
            }
        }
        ConnectionCommand::Accept { code, project } => {
            let code = if code == "-" {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map_err(|e| {
                    Failure::new(
                        FAILED,
                        format!("cannot read the code from standard input: {e}"),
                    )
                })?;
                text.trim().to_owned()
            } else {
                code.trim().to_owned()
            };
            let conn = admin.accept(&code, &ProjectKey::new(project)?).await?;
            println!("accepted: {conn}");
        }
        ConnectionCommand::EstablishToken { project, valid_for } => {
            let project = ProjectKey::new(project)?;
            let token = admin.issue_establish_token(&project, valid_for).await?;
            println!("establish token for {project} (a secret, shown once; it works once):");
            println!("{}", token.as_str());
            println!(
                "on the other node: twinsync connection initiate --project <theirs> --to <this node's URL> \
                 --other-project {project} --establish-token TOKEN (or TWINSYNC_ESTABLISH_TOKEN)"
            );
        }
        ConnectionCommand::List => {
            let all = node.connections()?;
            if all.is_empty() {
                println!("no connections");
            }
            for c in all {
                println!("{c}   id {}", c.id);
            }
        }
        ConnectionCommand::Show { connection } => {
            let c = setup::connection(node, Some(&connection))?;
            println!("{c}");
            println!("  id: {}", c.id);
            println!("  {}: {}", c.a.project, c.a.instance);
            println!("  {}: {}", c.b.project, c.b.instance);
            for t in &c.triggers {
                println!("  {t}");
            }
            print!("{}", node.status(&c.id)?);
        }
        ConnectionCommand::Activate { connection } => {
            let c = setup::connection(node, Some(&connection))?;
            println!("{}", admin.activate(&c.id).await?);
        }
        ConnectionCommand::Deactivate { connection } => {
            let c = setup::connection(node, Some(&connection))?;
            println!("{}", admin.deactivate(&c.id).await?);
        }
        ConnectionCommand::Delete {
            connection,
            unexalate,
        } => {
            let c = setup::connection(node, Some(&connection))?;
            let options = if unexalate {
                DeleteOptions::unexalating()
            } else {
                DeleteOptions::default()
            };
            admin.delete_connection(&c.id, options).await?;
            println!("deleted {}", c.name);
            if opened.config.connections.iter().any(|x| x.name == c.name) {
                println!(
                    "note: {} is still in {}; remove it there, or the next command sets it up again",
                    c.name,
                    opened.config.path.display()
                );
            }
        }
    }
    Ok(())
}
