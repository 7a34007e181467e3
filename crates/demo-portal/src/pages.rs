//! The portal's two pages: a short home page and the login + consent form.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};

use crate::oauth::{AuthorizeParams, check_request};
use crate::{DEMO_PASSWORD, DEMO_USERNAME, Portal};

pub async fn home(State(portal): State<Arc<Portal>>) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>OwnRecord demo portal</title>\
         <h1>OwnRecord demo portal</h1><p>A SMART on FHIR sandbox with synthetic patients.</p>\
         <p>FHIR base URL: <code>{}/fhir</code></p>",
        escape(&portal.base)
    ))
}

pub async fn login(
    State(portal): State<Arc<Portal>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    if let Err(response) = check_request(&portal, &params) {
        return response;
    }
    login_page(&portal, &params, None).into_response()
}

pub fn login_page(portal: &Portal, p: &AuthorizeParams, problem: Option<&str>) -> Html<String> {
    let hidden: String = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("aud", &p.aud),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("nonce", &p.nonce),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value.as_deref().map(|v| {
            format!(
                "<input type=hidden name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
    })
    .collect();
    let patients: String = portal
        .data
        .patients
        .iter()
        .map(|pt| {
            format!(
                "<option value=\"{}\">{}</option>",
                escape(&pt.id),
                escape(&pt.name)
            )
        })
        .collect();
    let scopes: String = p
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let problem = problem
        .map(|m| format!("<p role=alert>{}</p>", escape(m)))
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html lang=en><meta charset=utf-8><title>Sign in to the demo portal</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}label{{display:block;margin:.6rem 0}}</style>
<h1>Demo patient portal</h1>
<p>This is a sandbox with synthetic patients. Sign in with <b>{DEMO_USERNAME}</b> / <b>{DEMO_PASSWORD}</b>.</p>
{problem}
<form method=post action="/authorize">{hidden}
<label>Username <input name=username autocomplete=username value=""></label>
<label>Password <input name=password type=password autocomplete=current-password value=""></label>
<label>Patient <select name=patient>{patients}</select></label>
<p>The app <b>{client}</b> asks to read your record:</p><ul>{scopes}</ul>
<button name=decision value=approve>Allow</button> <button name=decision value=deny>Deny</button>
</form></html>"#,
        client = escape(p.client_id.as_deref().unwrap_or("")),
    ))
}

pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}
