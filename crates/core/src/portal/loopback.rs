//! The loopback redirect listener (RFC 8252 §7.3): `http://127.0.0.1:<ephemeral>/callback`
//! (or `[::1]`), answering the browser with a plain page. No server of ours is in the path.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};

pub const CALLBACK_PATH: &str = "/callback";
const MAX_REQUEST_HEAD: usize = 16 * 1024;

pub struct Loopback {
    listener: TcpListener,
    redirect_uri: String,
}

/// What the portal sent back through the browser.
pub(crate) enum Callback {
    Code(String),
    Refused(String),
    Invalid(&'static str),
}

impl Loopback {
    /// Listens on an ephemeral port of 127.0.0.1, or of [::1] where IPv4 loopback is missing.
    pub async fn bind() -> Result<Loopback> {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(_) => TcpListener::bind("[::1]:0").await.map_err(|e| {
                Error::SignInFailed(format!(
                    "no local port could be opened for the sign-in ({e})"
                ))
            })?,
        };
        let addr = listener
            .local_addr()
            .map_err(|e| Error::SignInFailed(e.to_string()))?;
        Ok(Loopback {
            redirect_uri: format!("http://{addr}{CALLBACK_PATH}"),
            listener,
        })
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the browser to arrive at `/callback` with `state`, and returns the authorization code.
    /// Other paths (e.g. /favicon.ico) get a 404 and waiting goes on. Gives up after `timeout`.
    pub async fn wait_for_code(self, expected_state: &str, timeout: Duration) -> Result<String> {
        let wait = async {
            loop {
                let Ok((stream, _)) = self.listener.accept().await else {
                    continue;
                };
                if let Some(outcome) = answer(stream, expected_state).await {
                    return outcome;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| {
            Error::SignInFailed(format!(
                "no answer came back from the browser within {} minutes",
                timeout.as_secs().div_ceil(60)
            ))
        })?
    }
}

/// Reads one request and answers it. `None`: not the callback, keep waiting.
async fn answer(mut stream: TcpStream, expected_state: &str) -> Option<Result<String>> {
    let target = read_request_target(&mut stream).await?;
    let Some(callback) = callback_of(&target, expected_state) else {
        let _ = respond(&mut stream, "404 Not Found", "Not found.").await;
        return None;
    };
    let (status, page) = match &callback {
        Callback::Code(_) => (
            "200 OK",
            "You are signed in. OwnRecord is downloading your record: you can close this tab.",
        ),
        Callback::Refused(_) => (
            "200 OK",
            "The portal did not allow access. You can close this tab and try again in OwnRecord.",
        ),
        Callback::Invalid(_) => (
            "400 Bad Request",
            "This sign-in answer was not for OwnRecord's current sign-in. Start again from OwnRecord.",
        ),
    };
    let _ = respond(&mut stream, status, page).await;
    Some(callback.into_result())
}

impl Callback {
    pub(crate) fn into_result(self) -> Result<String> {
        match self {
            Callback::Code(code) => Ok(code),
            Callback::Refused(why) => Err(Error::SignInRefused(why)),
            Callback::Invalid(why) => Err(Error::SignInFailed(why.into())),
        }
    }
}

/// The callback a request target carries; `None` for another path.
fn callback_of(target: &str, expected_state: &str) -> Option<Callback> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path == CALLBACK_PATH).then(|| parse_callback(query, expected_state))
}

/// What the listener makes of the bytes of one connection, without a socket: they are taken in
/// reads of [`READ_CHUNK`] bytes, as from the browser, until a request head is complete (or
/// refused, or the bytes end). `None`: no request, or not the callback (the listener keeps
/// waiting); else the code or why the sign-in failed. The fuzzer's entry point (`fuzz/`, target
/// `loopback`).
#[doc(hidden)]
pub fn read_callback(bytes: &[u8], expected_state: &str) -> Option<Result<String>> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    for chunk in bytes.chunks(READ_CHUNK) {
        buf.extend_from_slice(chunk);
        match request_target(&buf) {
            Head::Partial => continue,
            Head::Complete(target) => {
                return callback_of(&target?, expected_state).map(Callback::into_result);
            }
            Head::Refused => return None,
        }
    }
    None
}

/// The most the listener reads at once.
const READ_CHUNK: usize = 1024;

/// A request head read so far.
enum Head {
    /// A whole head: the target of a GET (`None` for another method).
    Complete(Option<String>),
    /// More bytes are needed (and allowed).
    Partial,
    /// Not HTTP, or too long.
    Refused,
}

fn request_target(buf: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(_)) => Head::Complete(
            (request.method == Some("GET"))
                .then(|| request.path.map(str::to_owned))
                .flatten(),
        ),
        Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_HEAD => Head::Partial,
        _ => Head::Refused,
    }
}

pub(crate) fn parse_callback(query: &str, expected_state: &str) -> Callback {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    if state.as_deref() != Some(expected_state) {
        return Callback::Invalid(
            "the portal's answer did not match this sign-in (wrong state), so it was refused",
        );
    }
    if let Some(error) = error {
        let why = match (error.as_str(), description) {
            (_, Some(d)) => format!("{d} ({error})"),
            ("access_denied", None) => "access was denied (access_denied)".into(),
            (_, None) => error,
        };
        return Callback::Refused(why);
    }
    match code.filter(|c| !c.is_empty()) {
        Some(code) => Callback::Code(code),
        None => Callback::Invalid("the portal sent no authorization code"),
    }
}

async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&chunk));
        match request_target(&buf) {
            Head::Complete(target) => return target,
            Head::Partial => continue,
            Head::Refused => return None,
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, message: &str) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>OwnRecord</title>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto\">\
         <h1>OwnRecord</h1><p>{message}</p></body></html>"
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks() {
        assert!(
            matches!(parse_callback("code=abc&state=s1", "s1"), Callback::Code(c) if c == "abc")
        );
        assert!(matches!(
            parse_callback("code=abc&state=s2", "s1"),
            Callback::Invalid(_)
        ));
        assert!(matches!(
            parse_callback("state=s1", "s1"),
            Callback::Invalid(_)
        ));
        assert!(matches!(
            parse_callback("error=access_denied&error_description=Patient%20said%20no&state=s1", "s1"),
            Callback::Refused(w) if w == "Patient said no (access_denied)"
        ));
    }
}
