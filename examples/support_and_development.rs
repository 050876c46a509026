//! A support site and a development site, each a Jira Cloud (the loopback
//! emulator, over HTTP), each with its node, on a remote connection whose
//! rules are the document in `RULES` (also in README): a custom "Severity"
//! select mapped to Priority, a three-status workflow against a six-status
//! one whose last transition requires a resolution, assignees mapped by
//! email, and an epic with its children.
//!
//! ```text
//! cargo run --features jira-emulator,toml --example support_and_development
//! ```
//!
//! Every step prints what it did and what each site shows. No setup and
//! nothing left behind: the emulators stop at the end.

use std::sync::Arc;

use twinsync::connection::NodeKey;
use twinsync::engine::{InitiateRequest, Initiated, Node};
use twinsync::model::{
    CustomValue, FieldKind, FieldMeta, InstanceUrl, Issue, IssueFields, IssueKey, IssueRef,
    NodeUrl, Transition, UserId, UserProfile, UserRef, Workflow,
};
use twinsync::rules::RuleSpec;
use twinsync::store::MemoryStore;
use twinsync::tracker::jira::JiraCloud;
use twinsync::tracker::jira::emulator::JiraEmulator;
use twinsync::tracker::{CreatedIssue, IssueUpdate, NewIssue, Tracker};
use twinsync::transport::InProcessNetwork;
use twinsync::{Error, ErrorKind, MemoryTracker, Result};

/// The connection's rules; both nodes publish this document, each reading
/// its own project's side.
const RULES: &str = r#"
parents = "bring"         # a child's parent comes along, and is its twin's parent
links = true              # links between synced issues are mirrored

[status_mapping]          # their status → ours
"To Do" = "Backlog"       # support → development
"In Progress" = "In Progress"
"Done" = "Done"
"Backlog" = "To Do"       # development → support
"Selected" = "To Do"
"In Review" = "In Progress"
"QA" = "In Progress"

[transition_fields]       # what a transition on the way requires
resolution = "Fixed"

[[fields]]
name = "severity"
[fields.sides.SUP]
field = "Severity"
map = { Highest = "S1", High = "S2", Medium = "S3", Low = "S3" }
[fields.sides.DEV]
field = "priority"
map = { S1 = "Highest", S2 = "High", S3 = "Medium" }
fallback = "error"

[[fields]]
name = "assignee"         # people travel through the user mapping (by email)
[fields.sides.SUP]
field = "assignee"
fallback = "keep"
[fields.sides.DEV]
field = "assignee"
fallback = "keep"
"#;

const SEVERITY: &str = "customfield_10010";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// One company's site: its Jira, a person working there, and its node.
struct Site {
    name: &'static str,
    project: &'static str,
    jira: JiraEmulator,
    /// How this example reads the site: over HTTP, like the node.
    reader: JiraCloud,
    person: MemoryTracker,
    node: Node,
}

impl Site {
    async fn show(&self, key: &IssueKey) -> Result<Issue> {
        let issue = self.reader.issue_by_key(key).await?;
        let f = &issue.fields;
        let mut line = format!(
            "    {} {:?} [{}] {}",
            issue.key, issue.summary, issue.issue_type, issue.status
        );
        if let Some(p) = &f.priority {
            line += &format!(", priority {p}");
        }
        if let Some(CustomValue::Select(s)) = f.custom.get(SEVERITY) {
            line += &format!(", severity {s}");
        }
        if let Some(a) = &f.assignee {
            line += &format!(", assignee {} ({})", a.display_name, a.id);
        }
        if let Some(p) = &f.parent {
            line += &format!(", parent {}", p.key);
        }
        println!("{line}");
        Ok(issue)
    }
}

fn support_workflow() -> Workflow {
    Workflow::new("To Do")
        .named("Support")
        .with(Transition::new("11", "To Do", "To Do"))
        .with(Transition::new("21", "In Progress", "In Progress"))
        .with(Transition::new("31", "Done", "Done"))
}

fn development_workflow() -> Workflow {
    let resolution = FieldMeta::new("resolution", "Resolution", FieldKind::Select)
        .options(["Fixed", "Won't Do", "Duplicate"])
        .required();
    Workflow::new("Backlog")
        .named("Development")
        .with(Transition::new("11", "Select", "Selected").from(["Backlog"]))
        .with(Transition::new("21", "Start", "In Progress").from(["Selected"]))
        .with(Transition::new("31", "Review", "In Review").from(["In Progress"]))
        .with(Transition::new("41", "Test", "QA").from(["In Review"]))
        .with(
            Transition::new("51", "Close", "Done")
                .from(["QA"])
                .field(resolution),
        )
        .with(Transition::new("61", "Reopen", "Backlog"))
}

/// A site on `jira`: its person `ann` and a node on the Jira Cloud adapter,
/// reachable on `network`, finding the other node through `directory`.
async fn site(
    name: &'static str,
    project: &'static str,
    jira: JiraEmulator,
    network: &InProcessNetwork,
    directory: &[(InstanceUrl, NodeUrl)],
    ann: UserProfile,
) -> Result<Site> {
    let url = InstanceUrl::parse(&jira.base_url())?;
    jira.tracker().add_profile(ann.clone());
    let person = jira
        .tracker()
        .as_user(UserRef::new(ann.id.clone(), ann.display_name.clone()));
    let node = Node::builder()
        .tracker(Arc::new(jira.cloud()?))
        .store(Arc::new(MemoryStore::new()))
        .transport(Arc::new(network.clone()))
        .node_url(node_url(&url)?)
        .directory(directory.to_vec())
        .node_key(NodeKey::generate()?)
        .build()
        .await?;
    network.register(node.node_url(), Arc::new(node.clone()));
    println!(
        "{name}: Jira at {url} (project {project}), node {}",
        node.node_url()
    );
    let reader = jira.cloud()?;
    Ok(Site {
        name,
        project,
        jira,
        reader,
        person,
        node,
    })
}

fn node_url(tracker: &InstanceUrl) -> Result<NodeUrl> {
    NodeUrl::parse(&format!("{tracker}/node"))
}

async fn run() -> Result<()> {
    let network = InProcessNetwork::new();
    let (sup_jira, dev_jira) = (JiraEmulator::start().await?, JiraEmulator::start().await?);
    let mut directory = Vec::new();
    for jira in [&sup_jira, &dev_jira] {
        let url = InstanceUrl::parse(&jira.base_url())?;
        directory.push((url.clone(), node_url(&url)?));
    }
    // Ann works on both sites, under one email and two accounts.
    let support = site(
        "support",
        "SUP",
        sup_jira,
        &network,
        &directory,
        UserProfile::new(UserId::new("5b10ac8d82e05b22cc7d4ef5")?, "Ann Lee")
            .with_email("ann@corp.example"),
    )
    .await?;
    let development = site(
        "development",
        "DEV",
        dev_jira,
        &network,
        &directory,
        UserProfile::new(UserId::new("712020:ann-dev")?, "Ann Lee").with_email("ann@corp.example"),
    )
    .await?;

    step("the sites as their admins set them up");
    support.jira.add_field(
        "SUP",
        FieldMeta::new(SEVERITY, "Severity", FieldKind::Select).options(["S1", "S2", "S3"]),
    )?;
    support.jira.set_workflow("SUP", None, support_workflow())?;
    development.jira.add_field(
        "DEV",
        FieldMeta::new("priority", "Priority", FieldKind::Select)
            .options(["Highest", "High", "Medium", "Low"]),
    )?;
    development.jira.tracker().add_issue_type("DEV", "Epic")?;
    development
        .jira
        .set_workflow("DEV", None, development_workflow())?;
    for site in [&support, &development] {
        // The reader learns the project's fields, as the node does.
        site.reader.project(&site.project.parse()?).await?;
    }
    println!("  SUP: a Severity select (S1–S3); statuses To Do, In Progress, Done");
    println!(
        "  DEV: Priority; Backlog → Selected → In Progress → In Review → QA → Done, \
         Close needs a resolution"
    );

    step("connecting by invitation code, then publishing the rules on both nodes");
    let ada = UserId::new("ada")?;
    let Initiated::Invitation { connection, code } = support
        .node
        .admin(&ada)
        .initiate(InitiateRequest::new("SUP".parse()?).name("SUP_to_DEV"))
        .await?
    else {
        return Err(Error::new(
            ErrorKind::Unexpected,
            "expected an invitation code",
        ));
    };
    development
        .node
        .admin(&ada)
        .accept(code.as_str(), &"DEV".parse()?)
        .await?;
    println!("  connection {} active on both nodes", connection.name);
    let spec = RuleSpec::from_toml(RULES)?;
    for site in [&support, &development] {
        let admin = site.node.admin(&ada);
        admin.upgrade_to_custom(&connection.id).await?;
        admin.save_rule_draft(&connection.id, spec.clone()).await?;
        let version = admin.publish_rules(&connection.id).await?;
        println!(
            "  {}: rules version {} published (field names resolved: severity is {} here)",
            site.name,
            version.number,
            version.spec.fields[0]
                .sides
                .get(site.project)
                .map_or("-", |s| s.field.as_str())
        );
    }

    step("Ann files an epic and a child in SUP: severity S1, assigned to herself");
    let epic = create(&support, "Epic", "Checkout outages", IssueFields::default()).await?;
    let mut fields = IssueFields::default();
    fields.assignee = Some(UserRef::new(
        UserId::new("5b10ac8d82e05b22cc7d4ef5")?,
        "Ann Lee",
    ));
    fields.parent = Some(IssueRef::new(epic.id.clone(), epic.key.clone()));
    fields
        .custom
        .insert(SEVERITY.into(), CustomValue::Select("S1".into()));
    let child = create(&support, "Bug", "Checkout times out", fields).await?;
    support.show(&epic.key).await?;
    support.show(&child.key).await?;

    step("exalating the child: its parent comes along first");
    let info = support.node.exalate(&connection.id, &child.key).await?;
    let child_twin = info
        .twin
        .map(|t| t.key)
        .ok_or_else(|| failed("the child's twin was created"))?;
    let twin = development.show(&child_twin).await?;
    let parent = twin
        .fields
        .parent
        .clone()
        .ok_or_else(|| failed("the child's twin has no parent"))?;
    development.show(&parent.key).await?;
    check(
        twin.fields.priority.as_deref() == Some("Highest"),
        "S1 became Highest",
    )?;
    check(
        twin.fields.assignee.as_ref().map(|u| u.id.as_str()) == Some("712020:ann-dev"),
        "Ann became Ann's development account",
    )?;

    step("support moves the child to Done: DEV walks its workflow, resolution from the rules");
    support
        .person
        .update_issue(&child.id, &IssueUpdate::new().status("Done"))
        .await?;
    development.jira.clear_exchanges();
    sync(&support, &development, &connection.id).await?;
    let walked: Vec<String> = development
        .jira
        .exchanges()
        .iter()
        .filter(|x| x.method == "POST" && x.path.ends_with("/transitions"))
        .map(|x| x.path.clone())
        .collect();
    println!("  DEV took {} transitions", walked.len());
    let closed = development.show(&child_twin).await?;
    support.show(&child.key).await?;
    check(closed.status == "Done", "DEV reached Done")?;
    check(walked.len() == 5, "by five transitions")?;

    step("development lowers the priority and reopens it: support follows through its maps");
    development
        .person
        .update_issue(
            &twin.id,
            &IssueUpdate::new().priority("Low").status("Backlog"),
        )
        .await?;
    sync(&support, &development, &connection.id).await?;
    development.show(&child_twin).await?;
    let back = support.show(&child.key).await?;
    check(
        back.fields.custom.get(SEVERITY) == Some(&CustomValue::Select("S3".into())),
        "Low became S3",
    )?;
    check(back.status == "To Do", "Backlog became To Do")?;

    step("the sync panels");
    for site in [&support, &development] {
        println!("  {}:", site.name);
        let panel = site.node.status(&connection.id)?;
        for line in panel.to_string().lines() {
            println!("    {line}");
        }
        check(panel.errors.is_empty(), "no errors")?;
    }
    for site in [support, development] {
        site.jira.stop().await;
    }
    println!("emulators stopped");
    Ok(())
}

async fn create(
    site: &Site,
    kind: &str,
    summary: &str,
    fields: IssueFields,
) -> Result<CreatedIssue> {
    site.person
        .create_issue(&NewIssue::new(site.project.parse()?, kind, summary).fields(fields))
        .await
}

/// A few cycles of both nodes, so that a change and its echo settle.
async fn sync(a: &Site, b: &Site, id: &twinsync::model::ConnectionId) -> Result<()> {
    for _ in 0..3 {
        a.node.sync(id).await?;
        b.node.sync(id).await?;
    }
    Ok(())
}

fn failed(what: &str) -> Error {
    Error::new(ErrorKind::Unexpected, format!("expected: {what}"))
}

/// Stops the example when the sites do not show what a step should do.
fn check(holds: bool, what: &str) -> Result<()> {
    if holds { Ok(()) } else { Err(failed(what)) }
}

fn step(what: &str) {
    println!();
    println!("== {what}");
}
