//! Runs the loopback Jira emulator on its own, for manual use and for any Jira
//! client: it prints its base URL and the credentials it accepts, and serves
//! until stopped (Ctrl-C). Without `--port` it picks a free port. It calls
//! itself Jira Cloud; `--data-center` makes it a Data Center site (its
//! `/rest/api/2` searches with `/search` and `startAt`).
//!
//! ```text
//! cargo run --features jira-emulator --example jira_emulator -- --port 8080
//! cargo run --features jira-emulator --example jira_emulator -- --data-center
//! ```

use twinsync::tracker::jira::emulator::{
    API_TOKEN, BEARER_TOKEN, Deployment, EMAIL, EmulatorOptions, JiraEmulator,
};

fn options_from_args() -> Result<EmulatorOptions, String> {
    let mut args = std::env::args().skip(1);
    let mut options = EmulatorOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a number")?;
                options = options.port(
                    value
                        .parse()
                        .map_err(|_| format!("--port {value:?} is not a port number"))?,
                );
            }
            "--data-center" => options = options.deployment(Deployment::DataCenter),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: jira_emulator [--port N] [--data-center]"
                ));
            }
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = JiraEmulator::start_with(options_from_args()?).await?;
    let url = emulator.base_url();
    let site = match emulator.deployment() {
        Deployment::DataCenter => "Data Center",
        _ => "Cloud",
    };
    println!("jira emulator ({site}) listening on {url}");
    println!();
    println!("  Jira Cloud (REST v3):   basic auth  {EMAIL} / {API_TOKEN}");
    println!("  REST v2 (Cloud's or Data Center's):  bearer  {BEARER_TOKEN}");
    println!("  projects: SUP (Bug, Task, Epic), DEV (Bug, Task, Story)");
    println!("  users: ada (global admin), pat (admin of SUP, group sync-admins), uma;");
    println!("         each signs in as <name>@example.com with token <name>-token");
    println!();
    println!("  try:  curl -u {EMAIL}:{API_TOKEN} {url}/rest/api/3/myself");
    println!(
        "        JIRA_URL={url} JIRA_EMAIL={EMAIL} JIRA_API_TOKEN={API_TOKEN} cargo run --features jira-emulator --example jira"
    );
    println!();
    println!("serving until stopped (Ctrl-C)");
    tokio::signal::ctrl_c().await?;
    emulator.stop().await;
    println!("stopped");
    Ok(())
}
