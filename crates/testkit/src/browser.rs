//! The browser leg of a sign-in, with plain HTTP: what a patient's browser does between the app
//! opening the authorization URL and the portal redirecting back to the app's loopback address.
//! Pages are read and forms filled generically (inputs, selects, submit buttons), so the same code
//! drives the demo portal and third-party authorization servers.

use url::Url;

/// What the "patient" types and clicks.
#[derive(Debug, Clone)]
pub struct Login {
    pub username: String,
    pub password: String,
    /// Allow (true) or deny (false) on the consent step.
    pub approve: bool,
    /// An option to choose in a select (name, value); otherwise the first option.
    pub choose: Option<(String, String)>,
}

impl Login {
    pub fn new(username: &str, password: &str) -> Self {
        Login {
            username: username.into(),
            password: password.into(),
            approve: true,
            choose: None,
        }
    }
}

/// Follows the sign-in from `authorize_url` until the portal redirects to the app (a loopback
/// address, or the desktop app's private-use URI), and returns that redirect (not yet visited).
pub async fn sign_in(authorize_url: &str, login: &Login) -> String {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut response = client
        .get(authorize_url)
        .send()
        .await
        .expect("authorization URL answers");
    for _ in 0..20 {
        let here = response.url().clone();
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let next = here.join(&location).unwrap();
            if is_app_redirect(&next) {
                return next.to_string();
            }
            response = client.get(next).send().await.unwrap();
            continue;
        }
        let status = response.status();
        let html = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "sign-in page failed ({status}): {html}"
        );
        let form =
            Form::parse(&html).unwrap_or_else(|| panic!("no form on the sign-in page: {html}"));
        let action = here.join(&form.action).unwrap();
        let fields = form.fill(login);
        response = client.post(action).form(&fields).send().await.unwrap();
    }
    panic!("the sign-in did not come back to the app");
}

/// Visits a URL as the browser would (the app's loopback callback). Returns the status code.
pub async fn visit(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn is_app_redirect(url: &Url) -> bool {
    let loopback = matches!(
        url.host_str(),
        Some("127.0.0.1") | Some("[::1]") | Some("localhost")
    );
    (loopback || url.scheme() == "org.ownrecord.app") && url.path() == "/callback"
}

#[derive(Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
    selects: Vec<(String, String)>,
    buttons: Vec<(String, String, String)>,
}

impl Form {
    fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = html[start..]
            .find("</form>")
            .map(|e| start + e)
            .unwrap_or(html.len());
        let body = &html[start..end];
        let action = attr(&body[..body.find('>')?], "action").unwrap_or_default();
        let mut fields = Vec::new();
        let mut buttons = Vec::new();
        for tag in tags(body, "input") {
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let kind = attr(tag, "type")
                .unwrap_or_else(|| "text".into())
                .to_lowercase();
            let value = attr(tag, "value").unwrap_or_default();
            if kind == "submit" {
                buttons.push((name, value.clone(), value));
            } else {
                fields.push((name, value));
            }
        }
        for tag in tags(body, "button") {
            let text_end = body[body.find(tag).unwrap()..]
                .find("</button>")
                .unwrap_or(0);
            let text = body[body.find(tag).unwrap()..][..text_end].to_lowercase();
            if let Some(name) = attr(tag, "name") {
                buttons.push((name, attr(tag, "value").unwrap_or_default(), text));
            }
        }
        let selects = tags(body, "select")
            .into_iter()
            .filter_map(|tag| {
                let name = attr(tag, "name")?;
                let after = &body[body.find(tag)?..];
                let option = tags(after, "option").into_iter().next()?;
                Some((name, attr(option, "value")?))
            })
            .collect();
        Some(Form {
            action,
            fields,
            selects,
            buttons,
        })
    }

    fn fill(&self, login: &Login) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(name, value)| {
                let value = match name.as_str() {
                    "login" | "username" | "email" => login.username.clone(),
                    "password" => login.password.clone(),
                    _ => value.clone(),
                };
                (name.clone(), value)
            })
            .collect();
        out.extend(
            self.selects
                .iter()
                .map(|(name, first)| match &login.choose {
                    Some((chosen, value)) if chosen == name => (name.clone(), value.clone()),
                    _ => (name.clone(), first.clone()),
                }),
        );
        let wanted = if login.approve {
            ["approve", "allow", "continue", "yes"]
        } else {
            ["deny", "abort", "cancel", "no"]
        };
        let button = self
            .buttons
            .iter()
            .find(|(_, value, text)| {
                wanted
                    .iter()
                    .any(|w| value.to_lowercase().contains(w) || text.contains(w))
            })
            .or(if login.approve {
                self.buttons.first()
            } else {
                None
            });
        if let Some((name, value, _)) = button {
            out.push((name.clone(), value.clone()));
        }
        out
    }
}

/// The opening tags `<name ...>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i..];
        let Some(end) = after.find('>') else { break };
        let tag = &after[..=end];
        if tag[open.len()..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            found.push(tag);
        }
        rest = &after[end..];
    }
    found
}

/// An attribute's value, quoted or not, with HTML entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    while let Some(i) = search.find(name) {
        let before_ok = i > 0 && search.as_bytes()[i - 1].is_ascii_whitespace();
        let after = &search[i + name.len()..];
        if before_ok && after.starts_with('=') {
            let v = &after[1..];
            let raw = if let Some(q) = v.strip_prefix('"') {
                &q[..q.find('"')?]
            } else if let Some(q) = v.strip_prefix('\'') {
                &q[..q.find('\'')?]
            } else {
                let end = v
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(v.len());
                &v[..end]
            };
            return Some(
                raw.replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
        }
        search = &search[i + name.len()..];
    }
    None
}

/// A real browser for pages a recipient opens (the share host's viewer): headless Chromium
/// through Debian's `chromedriver`, both on 127.0.0.1. No display is needed.
pub mod chromium {
    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    /// The WebDriver client the sessions are, for tests that have no dependency on it.
    pub use fantoccini;
    use fantoccini::{Client, ClientBuilder};

    /// Where Debian puts the browser (`apt install chromium chromium-driver`).
    const BINARY: &str = "/usr/bin/chromium";

    /// `chromedriver` on a free loopback port; it and the browsers it started are killed (as
    /// one process group) when dropped.
    pub struct Driver {
        child: Child,
        port: u16,
    }

    impl Driver {
        /// Starts chromedriver. Fails the test with what to install when it is missing (CI
        /// installs it: `chromium` and `chromium-driver` are among xtask's test packages).
        pub fn start() -> Driver {
            use std::os::unix::process::CommandExt;
            let found = Command::new("chromedriver").arg("--version").output();
            assert!(
                found.as_ref().is_ok_and(|o| o.status.success()),
                "chromedriver is not installed: apt install chromium chromium-driver (cargo xtask test does)"
            );
            assert!(
                std::path::Path::new(BINARY).exists(),
                "Chromium is not installed at {BINARY}: apt install chromium"
            );
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("chromedriver starts");
            let driver = Driver { child, port };
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return driver;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("chromedriver did not start");
        }

        /// A new headless browser session (its own profile, no sandbox: tests run as root).
        pub async fn session(&self) -> Client {
            let mut caps = serde_json::Map::new();
            caps.insert(
                "goog:chromeOptions".into(),
                serde_json::json!({
                    "binary": BINARY,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-default-apps",
                        "--disable-sync",
                    ],
                }),
            );
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
                .unwrap_or_else(|e| panic!("no session with headless Chromium: {e}"))
        }
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = self.child.wait();
        }
    }
}
