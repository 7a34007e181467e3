//! The viewer: a static page, its script and its style sheet, built into the binary.
//!
//! A recipient opens `PUBLIC_URL/view#shlink:/…`. The fragment (the link, with its key) stays in
//! the browser: the page reads it, asks who is viewing and, for flag `P`, the passcode, asks this
//! host for the manifest and the files, decrypts them with WebCrypto and shows the IPS as a
//! summary, with the PDF to download. No framework and no third-party script: the answers carry
//! a strict Content-Security-Policy (this host only; no inline script or style; Trusted Types
//! required, so no string can reach an HTML sink such as `innerHTML`).
//!
//! The page names its script and style relative to `/view` (`view/viewer.js`), so a host served
//! under a path prefix behind a proxy still finds them.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const PATH: &str = "/view";
pub const SCRIPT_PATH: &str = "/view/viewer.js";
pub const STYLE_PATH: &str = "/view/viewer.css";

const PAGE: &str = include_str!("../viewer/index.html");
const SCRIPT: &str = include_str!("../viewer/viewer.js");
const STYLE: &str = include_str!("../viewer/viewer.css");

/// What the viewer's answers allow: this host's script, style and fetches (and `blob:` for the
/// PDF it decrypted), nothing else, and never inside another site's frame.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self' blob:; img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

fn answer(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// `GET /view`
pub async fn page() -> Response {
    answer(PAGE, "text/html; charset=utf-8")
}

/// `GET /view/viewer.js`
pub async fn script() -> Response {
    answer(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /view/viewer.css`
pub async fn style() -> Response {
    answer(STYLE, "text/css; charset=utf-8")
}
