//! The vault locks when the system does: on Linux, when the session's screen locks (the
//! `ActiveChanged(true)` of the screensaver on the session bus, GNOME's `org.gnome.ScreenSaver`
//! or the freedesktop one that KDE and others offer) and when the computer is about to sleep
//! (logind's `PrepareForSleep(true)` on the system bus). The lock is the Lock button's
//! ([`commands::lock_vault`]), then the window is told ([`SYSTEM_LOCKED`]) and shows the lock
//! screen. Through GIO's D-Bus, already in the app with GTK: no D-Bus crate of our own, and the
//! signals arrive on the main loop the window runs.
//!
//! Known limits: no sleep inhibitor is taken, so a computer that suspends at once may sleep
//! before a running job has stopped (the vault is marked locked at once, and closed on resume
//! as the job ends). A screensaver signal is not checked for its sender, so any program of the
//! patient's own session can lock the app (which is all it can do). Other platforms: not yet.

use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::commands::{self, AppState};

/// The event the window hears when the shell locked the vault for the system.
pub const SYSTEM_LOCKED: &str = "system-locked";

/// Starts listening (Linux); does nothing elsewhere.
pub fn listen<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(target_os = "linux")]
    linux::listen(app);
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

/// Locks as the Lock button does, then tells the window.
fn lock<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    if state.vault.is_locked() {
        return;
    }
    state.research.drop_copy();
    let (vault, backups, app) = (state.vault.clone(), state.backups.clone(), app.clone());
    tauri::async_runtime::spawn(async move {
        commands::lock_vault(&vault, backups).await;
        let _ = app.emit(SYSTEM_LOCKED, ());
    });
}

#[cfg(target_os = "linux")]
mod linux {
    use gtk::gio::{self, BusType, DBusConnection, DBusSignalFlags};
    use gtk::glib::Variant;
    use tauri::{AppHandle, Runtime};

    /// A signal: (sender, interface, member, object path).
    type Signal = (
        Option<&'static str>,
        &'static str,
        &'static str,
        &'static str,
    );

    /// The session's screen locked (session bus).
    const SCREENSAVERS: [Signal; 2] = [
        (
            None,
            "org.gnome.ScreenSaver",
            "ActiveChanged",
            "/org/gnome/ScreenSaver",
        ),
        (
            None,
            "org.freedesktop.ScreenSaver",
            "ActiveChanged",
            "/org/freedesktop/ScreenSaver",
        ),
    ];
    /// The computer is about to sleep (system bus).
    const SLEEP: [Signal; 1] = [(
        Some("org.freedesktop.login1"),
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
        "/org/freedesktop/login1",
    )];

    pub(super) fn listen<R: Runtime>(app: &AppHandle<R>) {
        subscribe(app, BusType::Session, &SCREENSAVERS);
        subscribe(app, BusType::System, &SLEEP);
    }

    /// Each signal's one boolean argument true: lock. A bus that is not there (a container, a
    /// session without one) is no error: that signal never comes.
    fn subscribe<R: Runtime>(app: &AppHandle<R>, bus: BusType, signals: &'static [Signal]) {
        let app = app.clone();
        gio::bus_get(bus, gio::Cancellable::NONE, move |connection| {
            let Ok(connection) = connection else {
                return;
            };
            for &(sender, interface, member, path) in signals {
                let app = app.clone();
                connection.signal_subscribe(
                    sender,
                    Some(interface),
                    Some(member),
                    Some(path),
                    None,
                    DBusSignalFlags::NONE,
                    move |_: &DBusConnection, _, _, _, _, arguments: &Variant| {
                        if arguments.get::<(bool,)>().is_some_and(|(on,)| on) {
                            super::lock(&app);
                        }
                    },
                );
            }
            // The bus connection is shared and kept for the app's life, its subscriptions with it.
            std::mem::forget(connection);
        });
    }
}
