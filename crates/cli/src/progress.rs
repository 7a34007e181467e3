//! A progress bar on the terminal, shown only once an operation has taken more than a second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ownrecord_core::import::Progress;

pub struct ProgressView {
    label: String,
    started: Instant,
    bar: Option<ProgressBar>,
    enabled: bool,
}

impl ProgressView {
    pub fn new(label: String, quiet: bool) -> Self {
        ProgressView {
            label,
            started: Instant::now(),
            bar: None,
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    pub fn update(&mut self, p: Progress) {
        if !self.enabled || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar =
                ProgressBar::with_draw_target(Some(p.total.max(1)), ProgressDrawTarget::stderr());
            // Cannot panic: a fixed template (checked by every test that shows progress).
            #[allow(clippy::expect_used)]
            let style = ProgressStyle::with_template("{msg} [{bar:30}] {percent}% {elapsed}")
                .expect("template is valid")
                .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        bar.set_length(p.total.max(1));
        bar.set_position(p.done);
        bar.set_message(format!("{} ({} resources)", self.label, p.resources));
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
