//! Stand-ins until the pages land.
use maud::{Markup, html};

use super::pages::PageContext;

pub fn login(error: Option<&str>, csrf: &str) -> Markup {
    html! { form method="post" action="/console/login" { @if let Some(e) = error { p { (e) } } input type="hidden" name="csrf" value=(csrf); input name="name"; input name="password" type="password"; button { "Sign in" } } }
}

pub fn error_page(_ctx: Option<&PageContext>, status: u16, message: &str) -> Markup {
    html! { h1 { (status) } p { (message) } }
}
