//! The private-use redirect (RFC 8252 §7.1): `org.ownrecord.app:/callback?…` URLs the operating
//! system hands the app after a sign-in at a portal that refuses loopback redirects.
//!
//! The OS starts a second instance with the URL as its one argument; tauri-plugin-single-instance
//! forwards that instance's arguments to the running one (over D-Bus on Linux) and the second
//! exits; tauri-plugin-deep-link turns them into an open-URL event; [`SignIns::deliver`] hands each
//! URL to the sign-in that is waiting, if any. The core checks scheme, path and state itself. With
//! no sign-in waiting a URL is dropped: a callback replayed after a sign-in ended does nothing, and
//! so does one the app was started with while no instance ran.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ownrecord_core::portal::app_redirect::AppCallbacks;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;
use tokio::sync::mpsc::Sender;

/// The sign-in waiting for a callback URL, if any (one at a time: a new one ends the old).
#[derive(Default)]
pub struct SignIns {
    waiting: Mutex<Option<(u64, Sender<String>)>>,
    next: AtomicU64,
}

impl SignIns {
    /// A sign-in starts waiting: the callbacks it reads, and a guard that ends the wait when
    /// dropped. The only sender lives here, so a newer sign-in replacing it, or the guard, closes
    /// the channel and the older sign-in stops instead of waiting out its time.
    pub fn wait(&self) -> (AppCallbacks, Waiting<'_>) {
        let (sender, callbacks) = AppCallbacks::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        *self.lock() = Some((id, sender));
        (callbacks, Waiting { sign_ins: self, id })
    }

    /// Hands `url` to the waiting sign-in. Returns whether one was waiting for it.
    pub fn deliver(&self, url: &str) -> bool {
        match &*self.lock() {
            Some((_, sender)) => sender.try_send(url.to_owned()).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Sender<String>)>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A waiting sign-in; dropping it stops the waiting (if no newer sign-in replaced it).
pub struct Waiting<'a> {
    sign_ins: &'a SignIns,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut waiting = self.sign_ins.lock();
        if waiting.as_ref().is_some_and(|(id, _)| *id == self.id) {
            *waiting = None;
        }
    }
}

/// The D-Bus name (Linux) the single-instance plugin owns, under the app's `identifier`: one
/// instance per vault folder. A vault chosen with `OWNRECORD_VAULT` gets its own name, so a
/// second instance started with the same environment (the OS handing over a callback) finds the
/// window of its own vault, and apps on different vaults (tests, a developer's demo) run side by side.
pub fn instance_id(identifier: &str, chosen_vault: Option<&std::path::Path>) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    match chosen_vault {
        None => identifier.to_owned(),
        Some(dir) => {
            // SipHash with fixed keys: the same folder gives the same name in every instance.
            let mut hasher = DefaultHasher::new();
            dir.as_os_str().as_encoded_bytes().hash(&mut hasher);
            format!("{identifier}.v{:016x}", hasher.finish())
        }
    }
}

/// Listens for URLs handed to the app (by a second instance, or the OS on macOS) and passes each
/// to the waiting sign-in. On Linux, also tells the desktop (`~/.local/share/applications`, and
/// `xdg-mime` where installed) that this binary opens `org.ownrecord.app:` links, for a build not
/// installed from a package (AppImage, a developer's); off the main thread, and never fatal.
pub fn listen<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        let state = handle.state::<crate::commands::AppState>();
        for url in event.urls() {
            state.sign_ins.deliver(url.as_str());
        }
    });
    #[cfg(target_os = "linux")]
    {
        let handle = app.clone();
        std::thread::spawn(move || {
            if let Err(e) = handle.deep_link().register_all() {
                eprintln!(
                    "OwnRecord could not register itself for org.ownrecord.app: links ({e}); \
                     portals that sign in through them will not come back to the app"
                );
            }
        });
    }
}

/// A second instance was started (a callback URL, or the patient opening the app again): the
/// running window comes to the front.
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_reaches_only_the_sign_in_that_waits() {
        let sign_ins = SignIns::default();
        assert!(!sign_ins.deliver("org.ownrecord.app:/callback?code=c&state=s"));
        let (_callbacks, waiting) = sign_ins.wait();
        assert!(sign_ins.deliver("org.ownrecord.app:/callback?code=c&state=s"));
        drop(waiting);
        assert!(
            !sign_ins.deliver("org.ownrecord.app:/callback?code=c&state=s"),
            "a replay after the sign-in ended goes nowhere"
        );
    }

    #[test]
    fn a_newer_sign_in_takes_over_and_the_older_guard_leaves_it() {
        let sign_ins = SignIns::default();
        let (_old_callbacks, old) = sign_ins.wait();
        let (_callbacks, _new) = sign_ins.wait();
        drop(old);
        assert!(sign_ins.deliver("org.ownrecord.app:/callback?code=c&state=s"));
    }

    #[test]
    fn each_chosen_vault_has_its_own_instance() {
        let a = instance_id("org.ownrecord.desktop", Some("/tmp/a".as_ref()));
        let b = instance_id("org.ownrecord.desktop", Some("/tmp/b".as_ref()));
        assert_ne!(a, b);
        assert_eq!(
            a,
            instance_id("org.ownrecord.desktop", Some("/tmp/a".as_ref()))
        );
        assert!(a.starts_with("org.ownrecord.desktop.v"), "{a}");
        assert_eq!(
            instance_id("org.ownrecord.desktop", None),
            "org.ownrecord.desktop"
        );
    }
}
