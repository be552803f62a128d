//! A row counter on standard error while a long command reads a file; nothing is drawn
//! when standard error is not a terminal (indicatif's rule), so logs and pipes stay clean.

pub struct Progress(indicatif::ProgressBar);

impl Progress {
    pub fn rows(what: &'static str) -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(what);
        Self(bar)
    }

    pub fn set(&self, rows: u64) {
        self.0.set_position(rows);
    }

    /// Prints a line without tearing the bar.
    pub fn suspend(&self, print: impl FnOnce()) {
        self.0.suspend(print);
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
