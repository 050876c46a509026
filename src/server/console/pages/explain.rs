//! The engine's errors in words a Jira admin understands, each saying what
//! to do next.

use crate::connection::InvitationError;
use crate::error::{Error, ErrorKind};
use crate::trigger::JqlError;

fn rfc3339(t: &time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The engine's error `error` in words for the people who run the trackers:
/// what went wrong and what to do next. Invitation codes, establish tokens,
/// projects, permissions, the other node and trigger queries each get their
/// own words; other errors keep the engine's message.
///
/// ```
/// use twinsync::connection::Invitation;
/// use twinsync::server::console::pages::explain;
///
/// let err: twinsync::Error = Invitation::decode("hello", time::OffsetDateTime::UNIX_EPOCH)
///     .unwrap_err()
///     .into();
/// assert!(explain(&err).starts_with("This is not a whole invitation code"));
/// ```
pub fn explain(error: &Error) -> String {
    if let Some(invitation) = InvitationError::from_error(error) {
        return invitation_words(invitation);
    }
    let detail = error.to_string();
    match error.kind() {
        ErrorKind::InvalidInput => {
            match std::error::Error::source(error).and_then(|s| s.downcast_ref::<JqlError>()) {
                Some(jql) => format!(
                    "The query is not valid JQL: expected {} at line {}, column {}, but found {}. \
                 Correct the query and save it again.",
                    jql.expected(),
                    jql.line(),
                    jql.column(),
                    jql.found()
                ),
                None => format!("This input was not accepted: {detail}. Correct it and try again."),
            }
        }
        ErrorKind::NotFound => format!(
            "Not found: {detail}. Check the project key (it must exist on that Jira and be \
             spelled as Jira shows it) or the connection, then try again."
        ),
        ErrorKind::PermissionDenied => format!(
            "Permission denied: {detail}. A Jira global admin, or a project admin when this \
             node allows project-level connections, must do this."
        ),
        ErrorKind::Unavailable | ErrorKind::Timeout => format!(
            "The other node (or Jira) cannot be reached: {detail}. Check its URL, that it is \
             running and that this node can reach it through the network, then try again."
        ),
        ErrorKind::Unauthenticated => format!(
            "Refused as not signed in: {detail}. If you pasted an establish token, ask an admin \
             of the destination for a new one for its project (each works once and expires), \
             or initiate without admin access to get an invitation code instead; if Jira \
             refused this node's credentials, whoever runs the node must renew them."
        ),
        ErrorKind::AlreadyExists => format!(
            "That name is taken: {detail}. Choose another connection name, or use the \
             existing connection."
        ),
        ErrorKind::Incompatible => format!(
            "The two nodes cannot work together: {detail}. Upgrade twinsync on the older node, \
             then try again."
        ),
        ErrorKind::InvalidConfig => format!(
            "This node is not configured for this: {detail}. Whoever runs the node must fix \
             its configuration."
        ),
        ErrorKind::RateLimited => {
            format!("Jira asked twinsync to slow down: {detail}. Wait a minute and try again.")
        }
        ErrorKind::Conflict => {
            format!("Something changed meanwhile: {detail}. Reload the page and try again.")
        }
        ErrorKind::Storage => format!(
            "This node could not read or write its state: {detail}. Whoever runs the node \
             must check its storage; then try again."
        ),
        _ => format!("{detail}."),
    }
}

fn invitation_words(error: &InvitationError) -> String {
    const NEW_CODE: &str = "Ask the admin who initiated the connection for a new invitation code.";
    match error {
        InvitationError::Malformed { reason } => format!(
            "This is not a whole invitation code ({reason}). Copy the whole code, which starts \
             with twinsync-invite-, and paste it again."
        ),
        InvitationError::Corrupted => "This invitation code was changed or cut while it was \
             copied (its checksum does not match). Copy it again, unchanged, from the admin who \
             initiated the connection."
            .to_owned(),
        InvitationError::UnsupportedFormat { .. } | InvitationError::UnsupportedMode { .. } => {
            format!(
                "This invitation code comes from a newer twinsync than this node runs ({error}). \
                 Upgrade twinsync on this node, then accept the code again."
            )
        }
        InvitationError::IncompatibleProtocol { ours, theirs, .. } => format!(
            "The two nodes run twinsync versions that cannot set up this connection together \
             (protocol {theirs} there, {ours} here). Upgrade twinsync on the older node, then \
             {}",
            NEW_CODE.to_lowercase()
        ),
        InvitationError::Expired { expired_at, .. } => format!(
            "This invitation code expired at {}. {NEW_CODE}",
            rfc3339(expired_at)
        ),
        InvitationError::AlreadyUsed { .. } => {
            format!("This invitation code was already used: each code works once. {NEW_CODE}")
        }
        InvitationError::AcceptedAlready { name, .. } => format!(
            "You accepted this invitation code already: it set up connection {name} on this \
             node. Use that connection, or ask for a new code."
        ),
        InvitationError::Revoked { .. } => {
            format!("The admin who initiated the connection revoked this invitation. {NEW_CODE}")
        }
        InvitationError::UnknownConnection { .. } => format!(
            "The initiating node knows no invitation for this code: the connection was deleted \
             there, or the code comes from another node. {NEW_CODE}"
        ),
        InvitationError::DuplicateConnection { connection } => format!(
            "An invitation for connection {connection} is recorded already. Use the code made \
             for it, or revoke it and initiate again."
        ),
        InvitationError::NoChallenge { .. } => "The initiating node was not expecting this \
             code's confirmation (the exchange was interrupted or took too long). Accept the \
             code again."
            .to_owned(),
        InvitationError::BadProof { .. } => format!(
            "The initiating node could not confirm this code: it does not match the invitation \
             there. Copy the code again from the admin who initiated the connection; if it \
             still fails, {}",
            NEW_CODE.to_lowercase()
        ),
    }
}
