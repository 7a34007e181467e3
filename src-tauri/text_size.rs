//! Text follows the system's font size. The stylesheet sizes text in rem and %, relative to the
//! web view's default font size; WebKitGTK keeps that at 16 px (13 px monospace) whatever the
//! desktop says, so the shell scales it by the desktop's text scaling, when the window opens and
//! whenever it changes: GTK's Xft DPI where the desktop sets one (96 dpi is 1: KDE's and Xfce's
//! font DPI, GNOME's text scaling on Wayland and through its X settings daemon), else GNOME's
//! `text-scaling-factor` ("Large text"). Other platforms keep their web view's own default.

use tauri::{Manager, Runtime};

/// Makes every window's text follow the desktop's text scaling.
pub fn follow_system<R: Runtime>(app: &tauri::App<R>) {
    for window in app.webview_windows().values() {
        #[cfg(target_os = "linux")]
        let _ = window.with_webview(|platform| linux::follow(platform.inner()));
        #[cfg(not(target_os = "linux"))]
        let _ = window;
    }
}

/// The desktop's text scale: from GTK's Xft DPI (in 1/1024 dots per inch) where it differs from
/// 96 dpi, else GNOME's text scaling factor (none: 1).
pub fn scale(xft_dpi: i32, text_scaling_factor: Option<f64>) -> f64 {
    let from_dpi = f64::from(xft_dpi) / 1024.0 / 96.0;
    if xft_dpi > 0 && (from_dpi - 1.0).abs() > 0.01 {
        from_dpi
    } else {
        text_scaling_factor.filter(|f| *f > 0.0).unwrap_or(1.0)
    }
}

/// The web view's default font sizes at `scale`: proportional and monospace, in CSS pixels.
pub fn default_sizes(scale: f64) -> (u32, u32) {
    let px = |base: f64| (base * scale.clamp(0.5, 4.0)).round() as u32;
    (px(16.0), px(13.0))
}

#[cfg(target_os = "linux")]
mod linux {
    use gtk::gio;
    use gtk::gio::prelude::SettingsExt as _;
    use gtk::prelude::GtkSettingsExt;
    use webkit2gtk::{SettingsExt, WebViewExt};

    const GNOME_INTERFACE: &str = "org.gnome.desktop.interface";

    pub(super) fn follow(view: webkit2gtk::WebView) {
        let Some(desktop) = gtk::Settings::default() else {
            return;
        };
        // GNOME's settings, where their schema is installed (asking for a missing one aborts).
        let gnome = gio::SettingsSchemaSource::default()
            .and_then(|source| source.lookup(GNOME_INTERFACE, true))
            .map(|_| gio::Settings::new(GNOME_INTERFACE));
        apply(&view, &desktop, gnome.as_ref());
        {
            let (view, gnome) = (view.clone(), gnome.clone());
            desktop.connect_gtk_xft_dpi_notify(move |d| apply(&view, d, gnome.as_ref()));
        }
        if let Some(settings) = &gnome {
            settings.connect_changed(Some("text-scaling-factor"), move |g, _| {
                apply(&view, &desktop, Some(g));
            });
        }
        // The signal handlers live as long as the settings objects, which live for the process.
        std::mem::forget(gnome);
    }

    fn apply(view: &webkit2gtk::WebView, desktop: &gtk::Settings, gnome: Option<&gio::Settings>) {
        let Some(settings) = view.settings() else {
            return;
        };
        let factor = gnome.map(|g| g.double("text-scaling-factor"));
        let (proportional, monospace) =
            super::default_sizes(super::scale(desktop.gtk_xft_dpi(), factor));
        settings.set_default_font_size(proportional);
        settings.set_default_monospace_font_size(monospace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desktops_scale_sets_the_default_sizes() {
        assert_eq!(scale(-1, None), 1.0);
        assert_eq!(default_sizes(scale(96 * 1024, None)), (16, 13));
        assert_eq!(default_sizes(scale(96 * 1024, Some(1.25))), (20, 16));
        assert_eq!(default_sizes(scale(144 * 1024, Some(1.0))), (24, 20));
        // GNOME's X settings daemon sets the DPI from the factor: counted once.
        assert_eq!(default_sizes(scale(120 * 1024, Some(1.25))), (20, 16));
        assert_eq!(default_sizes(100.0), (64, 52));
    }
}
