//! Log lines on standard error, for people or for machines: `log_format = "text"` (the
//! default; colour only when standard error is a terminal) or `"json"` (one JSON object per
//! line: timestamp, level, target, the message and every field). The filter is
//! `MORNINGPOST_LOG` in `tracing`'s env-filter syntax (`info`, `morningpost::queue=debug`).
//!
//! The format is chosen twice: at start from `MORNINGPOST_LOG_FORMAT` (so that the first
//! lines, written while the configuration loads, are already in it), then from the
//! configuration's `log_format` once it is read.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

static FORMAT: OnceLock<reload::Handle<Boxed, Registry>> = OnceLock::new();

fn layer(format: LogFormat) -> Boxed {
    let stderr = std::io::stderr;
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(stderr)
            .boxed(),
    }
}

/// Installs the logger: the filter from `MORNINGPOST_LOG` (default `info`), the format from
/// `MORNINGPOST_LOG_FORMAT` (text when unset or unknown: the configuration then says what is
/// wrong with it).
pub fn init() {
    let format = std::env::var("MORNINGPOST_LOG_FORMAT")
        .ok()
        .and_then(|f| LogFormat::parse(&f))
        .unwrap_or(LogFormat::Text);
    let (reloadable, handle) = reload::Layer::new(layer(format));
    let filter = EnvFilter::try_from_env("MORNINGPOST_LOG").unwrap_or_else(|_| "info".into());
    if tracing_subscriber::registry()
        .with(reloadable)
        .with(filter)
        .try_init()
        .is_ok()
    {
        let _ = FORMAT.set(handle);
    }
}

/// Switches to the configured format (a no-op before `init` or when it is the same).
pub fn use_format(format: LogFormat) {
    if let Some(handle) = FORMAT.get() {
        let _ = handle.reload(layer(format));
    }
}
