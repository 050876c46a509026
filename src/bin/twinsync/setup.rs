//! A node built from the config file: its Jira adapter, state file,
//! transport and key; then the config's connections and triggers set up.

use std::sync::Arc;

use twinsync::ErrorKind;
use twinsync::connection::{Connection, NodeKey};
use twinsync::engine::{LocalConnectionOptions, Node, NodeOptions};
use twinsync::model::{ConnectionId, UserId};
use twinsync::rules::{RuleSetKind, RuleSpec};
use twinsync::store::{PostgresStore, SqliteStore, Store};
use twinsync::tracker::Tracker;
use twinsync::tracker::jira::{JiraCloud, JiraDataCenter};
use twinsync::transport::http::{HttpServer, HttpTransport, ServerTls};
use twinsync::trigger::TriggerSpec;

use crate::config::{Config, ConnectionSettings, KeySource, RuleDocument, TrackerKind};
use crate::failure::{CONFIG, FAILED, Failure, Outcome};

/// A node ready to use, with the user admin operations run as.
pub struct Opened {
    pub node: Node,
    /// The integration user (a Jira admin): the caller of admin operations.
    pub admin: UserId,
    pub config: Config,
    /// The bound listener of `serve`, when the node listens.
    pub server: Option<HttpServer>,
}

/// The node's store: PostgreSQL with `[database]`, else the SQLite file
/// `node.state`.
fn store(config: &Config) -> Outcome<Arc<dyn Store>> {
    match &config.database {
        None => Ok(Arc::new(SqliteStore::open(&config.node.state)?)),
        Some(db) => {
            let mut builder = PostgresStore::builder(db.url()).schema(&db.schema);
            if let Some(max) = db.max_connections {
                builder = builder.max_connections(max);
            }
            Ok(Arc::new(builder.connect()?))
        }
    }
}

/// Builds the node of `config`; with `listen`, also binds node.listen.
pub async fn open(config: Config, listen: bool) -> Outcome<Opened> {
    // The state first: a node already running on it is named at once.
    let state = &config.node.state;
    if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::new(
                CONFIG,
                format!(
                    "cannot create the state directory {}: {e} (node.state in {})",
                    dir.display(),
                    config.path.display()
                ),
            )
        })?;
    }
    let store = store(&config)?;
    let (tracker, admin) = tracker(&config).await?;
    let mut transport =
        HttpTransport::builder().allow_plain_http_on_loopback(config.node.plain_http_on_loopback);
    for cert in &config.node.trusted_certificates {
        let pem = std::fs::read(cert)
            .map_err(|e| Failure::new(CONFIG, format!("cannot read {}: {e}", cert.display())))?;
        transport = transport.add_root_certificate_pem(&pem);
    }
    let mut options = NodeOptions::default();
    if let Some(interval) = config.node.poll_interval {
        options = options.with_poll_interval(interval);
    }
    if let Some(reconcile) = config.node.reconcile_interval {
        options = options.with_reconcile_interval(reconcile);
    }
    for c in &config.connections {
        if let Some(interval) = c.poll_interval {
            options = options.with_connection_poll_interval(c.name.clone(), interval);
        }
    }
    let server = match (listen, config.node.listen) {
        (true, Some(addr)) => {
            let tls = match &config.node.tls {
                Some((cert, key)) => ServerTls::from_pem_files(cert, key)?,
                None => ServerTls::plain_http_on_loopback(),
            };
            Some(HttpServer::bind(addr, tls)?)
        }
        _ => None,
    };
    let mut builder = Node::builder()
        .tracker(tracker.clone())
        .store(store)
        .transport(Arc::new(transport.build()?))
        .options(options);
    let url = config
        .node
        .url
        .clone()
        .or_else(|| server.as_ref().map(HttpServer::url));
    match url {
        Some(url) => builder = builder.node_url(url),
        // Nobody can call a node without a URL: it only calls out and pulls.
        None if config.node.listen.is_none() => builder = builder.reachable(false),
        None => {}
    }
    if let Some(key) = &config.node.key {
        builder = builder.node_key(match key {
            KeySource::Env(var) => NodeKey::from_env(var)?,
            KeySource::File(path) => NodeKey::from_file(path)?,
        });
    }
    let node = builder.build().await?;
    let opened = Opened {
        node,
        admin,
        config,
        server,
    };
    apply_config(&opened).await?;
    Ok(opened)
}

/// The Jira adapter of the config, and who it signs in as.
async fn tracker(config: &Config) -> Outcome<(Arc<dyn Tracker>, UserId)> {
    let t = &config.tracker;
    let secret = t.credential.expose();
    let (tracker, me): (Arc<dyn Tracker>, _) = match t.kind {
        TrackerKind::Cloud => {
            let builder = JiraCloud::builder().base_url(&t.url);
            let builder = match &t.user {
                Some(user) => builder.api_token(user, secret),
                None => builder.oauth_token(secret),
            };
            let jira = builder.build()?;
            let me = jira.myself().await;
            (Arc::new(jira), me)
        }
        TrackerKind::DataCenter => {
            let jira = JiraDataCenter::builder()
                .base_url(&t.url)
                .personal_access_token(secret)
                .build()?;
            let me = jira.myself().await;
            (Arc::new(jira), me)
        }
    };
    let me = me.map_err(|e| {
        let failure = Failure::from(e);
        Failure::new(
            failure.code,
            format!(
                "cannot sign in to {} (tracker in {}): {failure}",
                t.url,
                config.path.display()
            ),
        )
    })?;
    Ok((tracker, me.id))
}

/// Sets up what the config names and the state file lacks: its local
/// connections, their rule documents and its triggers. A remote connection
/// of the config that is not set up yet is only mentioned: `connection
/// initiate NAME` sets it up.
async fn apply_config(opened: &Opened) -> Outcome {
    let node = &opened.node;
    let admin = node.admin(&opened.admin);
    for c in &opened.config.connections {
        let existing = node.connections()?.into_iter().find(|x| x.name == c.name);
        match (existing, &c.peer, &c.other_project) {
            (Some(conn), _, _) => {
                let sides = [&conn.a.project, &conn.b.project];
                let wanted = [Some(&c.project), c.other_project.as_ref()];
                if c.peer.is_none() && wanted.iter().flatten().any(|p| !sides.contains(p)) {
                    tracing::warn!(
                        connection = %conn,
                        "the state file's connection of this name syncs other projects than the \
                         config file says; the state file's is used (delete it to set it up anew)"
                    );
                }
            }
            (None, None, Some(other)) => {
                let conn = admin
                    .create_local_connection(
                        c.project.as_str(),
                        other.as_str(),
                        LocalConnectionOptions::default().name(c.name.clone()),
                    )
                    .await
                    .map_err(|e| {
                        Failure::new(
                            FAILED,
                            format!(
                                "cannot set up connection {} of {}: {e}",
                                c.name,
                                opened.config.path.display()
                            ),
                        )
                    })?;
                tracing::info!(connection = %conn, "connection of the config file set up");
            }
            (None, _, _) => {
                tracing::warn!(connection = %c.name, "connection of the config file is not set up yet; run `twinsync connection initiate {}`", c.name);
            }
        }
    }
    for c in &opened.config.connections {
        if let Some(doc) = &c.rules {
            publish_rules(opened, c, doc).await?;
        }
    }
    for t in &opened.config.triggers {
        let Some(conn) = node
            .connections()?
            .into_iter()
            .find(|x| x.name == t.connection)
        else {
            continue;
        };
        let project = conn
            .side_of(&t.project)
            .map(|s| s.project.clone())
            .unwrap_or_else(|| t.project.clone());
        let present = conn
            .triggers
            .iter()
            .any(|x| x.project == project && x.query == t.jql);
        if !present {
            let added = admin
                .add_trigger(
                    &conn.id,
                    TriggerSpec::new(project, t.jql.clone()).note(t.note.clone()),
                )
                .await
                .map_err(|e| {
                    Failure::new(
                        FAILED,
                        format!(
                            "cannot add the trigger {:?} of {}: {e}",
                            t.jql,
                            opened.config.path.display()
                        ),
                    )
                })?;
            tracing::info!(connection = %conn.name, trigger = %added, "trigger of the config file added");
        }
    }
    Ok(())
}

/// Publishes the rule document `doc` of the config's connection `c` on
/// this node (each node publishes its own), unless the version in use
/// already says the same once names are resolved: a restart publishes
/// nothing new. A Basic connection is made custom first, once the document
/// fits the projects. A connection not set up yet is left for later.
async fn publish_rules(opened: &Opened, c: &ConnectionSettings, doc: &RuleDocument) -> Outcome {
    let node = &opened.node;
    let Some(conn) = node.connections()?.into_iter().find(|x| x.name == c.name) else {
        return Ok(());
    };
    // A document that does not fit is the config's to fix: exit code 3.
    let failed = |e: twinsync::Error| {
        let invalid = e.kind() == ErrorKind::InvalidInput;
        let failure = Failure::from(e);
        Failure::new(
            if invalid { CONFIG } else { failure.code },
            format!(
                "cannot publish the rules of connection {} from {} (rules in {}): {failure}",
                c.name,
                doc.file.display(),
                opened.config.path.display()
            ),
        )
    };
    let history = node.rule_history(&conn.id)?;
    let active = history
        .active_version()
        .filter(|_| conn.rules == RuleSetKind::Custom)
        .map(|v| &v.spec);
    if active == Some(&doc.spec) {
        return Ok(());
    }
    // The document as the node would store it: checked against this
    // node's projects and workflows, field names resolved to ids. Nothing
    // changes while it does not fit (a Basic connection stays Basic).
    let admin = node.admin(&opened.admin);
    let checked: RuleSpec = admin
        .check_rules(&conn.id, &doc.spec)
        .await
        .map_err(failed)?;
    if active == Some(&checked) {
        return Ok(());
    }
    if conn.rules == RuleSetKind::Basic {
        admin.upgrade_to_custom(&conn.id).await.map_err(failed)?;
        tracing::info!(connection = %conn.name, "connection upgraded to a custom rule set for its rule document");
    }
    if history.draft.as_ref().is_some_and(|d| d != &checked) {
        tracing::warn!(
            connection = %conn.name,
            file = %doc.file.display(),
            "the connection's rule draft is replaced by the config file's rule document"
        );
    }
    admin
        .save_rule_draft(&conn.id, doc.spec.clone())
        .await
        .map_err(failed)?;
    let version = admin.publish_rules(&conn.id).await.map_err(failed)?;
    tracing::info!(
        connection = %conn.name,
        version = version.number,
        file = %doc.file.display(),
        "rules of the config file published"
    );
    Ok(())
}

/// The connection named (by name or id) or, when none is named, the only one.
pub fn connection(node: &Node, named: Option<&str>) -> Outcome<Connection> {
    pick(node.connections()?, named)
}

/// The connection of `all` named (by name or id) or, when none is named,
/// the only one.
pub fn pick(mut all: Vec<Connection>, named: Option<&str>) -> Outcome<Connection> {
    match named {
        Some(name) => all
            .into_iter()
            .find(|c| c.name == name || c.id.as_str() == name)
            .ok_or_else(|| {
                Failure::new(
                    FAILED,
                    format!("no connection named {name:?}; `twinsync connection list` shows them"),
                )
            }),
        None => match all.len() {
            1 => all
                .pop()
                .ok_or_else(|| Failure::new(FAILED, "no connection")),
            0 => Err(Failure::new(
                FAILED,
                "this node has no connection yet; add a [[connection]] to the config file or run `twinsync connection initiate`",
            )),
            _ => Err(Failure::new(
                FAILED,
                format!(
                    "this node has {} connections; name one with --connection ({})",
                    all.len(),
                    all.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    }
}

/// The connections named (one, or all when none is named).
pub fn connections(node: &Node, named: Option<&str>) -> Outcome<Vec<ConnectionId>> {
    match named {
        Some(_) => Ok(vec![connection(node, named)?.id]),
        None => Ok(node.connections()?.into_iter().map(|c| c.id).collect()),
    }
}
