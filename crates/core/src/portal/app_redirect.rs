//! The private-use URI redirect (RFC 8252 §7.1), `org.ownrecord.app:/callback`, for portals that
//! refuse loopback addresses. The operating system hands the URL to the desktop app (it starts a
//! second instance with it, which forwards it to the running one and exits); the app passes it to
//! the waiting sign-in through [`AppCallbacks`]. The same state and one-answer checks as the
//! loopback path apply; a URL for another path or scheme is ignored.

use std::time::Duration;

use tokio::sync::mpsc;
use url::Url;

use crate::error::{Error, Result};
use crate::portal::loopback::{CALLBACK_PATH, parse_callback};

/// The scheme the desktop app registers with the operating system.
pub const SCHEME: &str = "org.ownrecord.app";
/// The redirect URI sent to portals.
pub const REDIRECT_URI: &str = "org.ownrecord.app:/callback";

/// The receiving end of callback URLs for one sign-in.
pub struct AppCallbacks {
    receiver: mpsc::Receiver<String>,
}

impl AppCallbacks {
    /// A channel: the app keeps the sender while a sign-in waits and sends it every URL the OS
    /// hands over.
    pub fn channel() -> (mpsc::Sender<String>, AppCallbacks) {
        let (sender, receiver) = mpsc::channel(8);
        (sender, AppCallbacks { receiver })
    }

    /// Waits for the callback with `expected_state` and returns its code.
    pub(crate) async fn wait_for_code(
        &mut self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<String> {
        let wait = async {
            loop {
                let Some(url) = self.receiver.recv().await else {
                    return Err(Error::SignInFailed("the sign-in was stopped".into()));
                };
                if let Some(query) = callback_query(&url) {
                    return parse_callback(&query, expected_state).into_result();
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

/// The query of a URL that is OwnRecord's callback; `None` for anything else.
fn callback_query(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    (url.scheme() == SCHEME && url.host().is_none() && url.path() == CALLBACK_PATH)
        .then(|| url.query().unwrap_or("").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_callback_is_taken() {
        assert_eq!(
            callback_query("org.ownrecord.app:/callback?code=c&state=s").as_deref(),
            Some("code=c&state=s")
        );
        for other in [
            "org.ownrecord.app:/other?code=c&state=s",
            "org.ownrecord.app://evil/callback?code=c",
            "https://example.org/callback?code=c",
            "not a url",
        ] {
            assert_eq!(callback_query(other), None, "{other}");
        }
    }

    #[tokio::test]
    async fn a_forged_state_ends_the_sign_in_and_other_paths_are_ignored() {
        let (send, mut callbacks) = AppCallbacks::channel();
        send.send("org.ownrecord.app:/favicon".into())
            .await
            .unwrap();
        send.send("org.ownrecord.app:/callback?code=c&state=s1".into())
            .await
            .unwrap();
        let code = callbacks
            .wait_for_code("s1", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(code, "c");
        send.send("org.ownrecord.app:/callback?code=c&state=forged".into())
            .await
            .unwrap();
        assert!(matches!(
            callbacks.wait_for_code("s2", Duration::from_secs(5)).await,
            Err(Error::SignInFailed(_))
        ));
    }
}
