//! Runs the loopback Jira emulator on its own, for manual use and for any Jira
//! client: it prints its base URL and the credentials it accepts, and serves
//! until stopped (Ctrl-C). Without `--port` it picks a free port.
//!
//! ```text
//! cargo run --features jira-emulator --example jira_emulator -- --port 8080
//! ```

use twinsync::tracker::jira::emulator::{API_TOKEN, BEARER_TOKEN, EMAIL, JiraEmulator};

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a number")?;
                port = value
                    .parse()
                    .map_err(|_| format!("--port {value:?} is not a port number"))?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: jira_emulator [--port N]"
                ));
            }
        }
    }
    Ok(port)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args()?;
    let emulator = JiraEmulator::start_on(port).await?;
    let url = emulator.base_url();
    println!("jira emulator listening on {url}");
    println!();
    println!("  Jira Cloud (REST v3):   basic auth  {EMAIL} / {API_TOKEN}");
    println!("  Data Center (REST v2):  bearer      {BEARER_TOKEN}");
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
