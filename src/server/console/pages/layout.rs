//! The frame every page shares, the helpers the pages build with, and the
//! pages with no data of their own: sign-in and errors.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use time::OffsetDateTime;

use super::PageContext;
use crate::model::ConnectionId;
use crate::replica::FieldValue;

/// The console's one style sheet, inline: no request leaves the page.
const CSS: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa;line-height:1.4}
header{background:#243447;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}
header .who{margin-left:auto}
header form{display:inline}
main{padding:1rem;max-width:80rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;background:#fff}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4}
form.inline{display:inline}
.notice{padding:.5rem;border:1px solid;margin:.5rem 0}
.ok{border-color:#2e7d32;background:#e8f5e9}
.bad{border-color:#c62828;background:#ffebee}
.error-text{color:#b71c1c}
.state-error,.state-conflict,.state-refused{font-weight:bold}
label{display:block;margin:.25rem 0}
textarea{width:100%;max-width:50rem}
pre{background:#fff;border:1px solid #ccc;padding:.5rem;overflow:auto}
form:has(#admin-no:checked) .token{display:none}
";

/// A whole page: title, navigation, the operator and sign-out, and `body`.
pub(super) fn layout(ctx: Option<&PageContext<'_>>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · twinsync" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    strong { "twinsync" }
                    @if let Some(ctx) = ctx {
                        nav aria-label="Main" {
                            a href="/console" { "Connections" } " · "
                            a href="/console/initiate" { "Initiate" } " · "
                            a href="/console/accept" { "Accept" }
                        }
                        span.who {
                            "Signed in as " strong { (ctx.operator) } " (" (ctx.role) ") "
                            form.inline method="post" action="/console/logout" {
                                (csrf_field(ctx))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every posting form carries.
pub(super) fn csrf_field(ctx: &PageContext<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// A form that posts nothing but the CSRF token: one button.
pub(super) fn post_button(ctx: &PageContext<'_>, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(ctx))
            button type="submit" { (label) }
        }
    }
}

/// A success or a failure, in words (and colour).
pub(super) fn notice(ok: bool, text: &str) -> Markup {
    html! {
        @if ok {
            p.notice.ok role="status" { "Done: " (text) }
        } @else {
            p.notice.bad role="alert" { "Failed: " (text) }
        }
    }
}

/// A time for people, in UTC, machine-readable too.
pub(super) fn when(t: OffsetDateTime) -> Markup {
    let t = t.to_offset(time::UtcOffset::UTC);
    let machine = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string());
    let people = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    html! { time datetime=(machine) { (people) } }
}

/// A field's value for people: its text, shortened past 200 characters.
pub(super) fn value_text(value: &FieldValue) -> String {
    let text = match value {
        FieldValue::Empty => return "(empty)".to_owned(),
        FieldValue::Text(s) => s.clone(),
        FieldValue::Rich(r) => r.to_plain_text(),
        FieldValue::List(items) => items.join(", "),
    };
    let mut chars = text.chars();
    let short: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        format!("{short}…")
    } else {
        short
    }
}

/// Percent-encodes `text` for one segment of a path (or a query value).
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page of a connection.
pub(super) fn connection_url(id: &ConnectionId) -> String {
    format!("/console/connections/{}", encode(id.as_str()))
}

/// The sign-in page; `error` says why the last attempt failed; `csrf` is the
/// sign-in form's CSRF token (from its own cookie: there is no session yet).
pub fn login(error: Option<&str>, csrf: &str) -> Markup {
    layout(
        None,
        "Sign in",
        html! {
            @if let Some(error) = error {
                p.notice.bad role="alert" { (error) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Name " input type="text" name="name" autocomplete="username" required autofocus; }
                label { "Password " input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A page saying what went wrong: `status` is the HTTP status, `message`
/// the words for the operator (see [`explain`](super::explain)).
pub fn error_page(ctx: Option<&PageContext<'_>>, status: u16, message: &str) -> Markup {
    let title = match status {
        400 => "Bad request",
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict",
        500..=599 => "Something went wrong",
        _ => "Error",
    };
    layout(
        ctx,
        title,
        html! {
            p role="alert" { (message) }
            p.error-text { "(HTTP " (status) ")" }
            @if ctx.is_some() {
                p { a href="/console" { "Back to the connections" } }
            } @else {
                p { a href="/console/login" { "Sign in" } }
            }
        },
    )
}
