//! Settings: an optional TOML file (`--config FILE`, else `morningpost.toml` when present),
//! overlaid key by key by `MORNINGPOST_<KEY>` environment variables. Every key has the same
//! name in both places (`base_url` ↔ `MORNINGPOST_BASE_URL`). Bad values fail at start with the
//! key, where it came from, what is wrong and how to fix it; secrets are never printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;

mod keys;
mod relative_paths;
mod secret_key;
mod values;

pub use crate::secret::Secret;
pub use keys::KEYS;
pub use secret_key::SecretKeyError;
use values::Raw;

/// The newsletter's public face: masthead and footer.
#[derive(Debug, Clone)]
pub struct Newsletter {
    pub name: String,
    pub tagline: String,
    pub postal_address: String,
    /// RFC 2919 List-Id, e.g. `<morning.example.com>`.
    pub list_id: String,
    /// The address in the `mailto:` of List-Unsubscribe.
    pub unsubscribe_address: String,
}

#[derive(Clone)]
pub struct Settings {
    /// Public base of every link, without a trailing slash.
    pub base_url: String,
    pub from: Mailbox,
    pub database_url: Secret,
    pub database: crate::store::StoreOptions,
    pub smtp_url: Option<Secret>,
    /// Certificate authorities to trust for the relay besides the public ones.
    pub smtp_ca_file: Option<PathBuf>,
    pub outbox_dir: PathBuf,
    pub secret_key: Option<Secret>,
    pub secret_key_file: PathBuf,
    pub dkim: Option<DkimSettings>,
    pub bind: SocketAddr,
    pub newsletter: Newsletter,
    /// The newsletter's time zone: `send --at HH:MM`, and readers without a zone of their own.
    pub timezone: crate::domain::TimeZoneName,
    pub bounces: BounceSettings,
    pub ses: SesSettings,
    pub delivery: DeliverySettings,
    pub subscriptions: SubscriptionSettings,
    pub http: HttpSettings,
    /// How log lines are written (`log_format`, `MORNINGPOST_LOG_FORMAT`).
    pub log_format: crate::logging::LogFormat,
}

/// Double opt-in and the subscribe endpoint's limits.
#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    pub confirm_valid: Duration,
    pub resend_after: Duration,
    pub allow_bounced: bool,
    /// Sign-ups per client per minute; `None` = no limit.
    pub rate_per_minute: Option<u32>,
    pub trust_forwarded_for: bool,
    /// The proxies whose `X-Forwarded-For` entries are believed (loopback by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Origins besides `base_url`'s whose pages may post the sign-up form (ASCII serialized,
    /// e.g. `https://blog.example.com`).
    pub allowed_origins: Vec<String>,
}

/// How long the HTTP server waits for slow or silent clients, and how many it holds at once.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// From a connection's start (or the end of its last response) to a whole request head.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// Connections open at once; the open-file limit may lower it at start.
    pub max_connections: usize,
    /// How long SIGTERM waits for requests in progress before closing their connections.
    pub shutdown_timeout: Duration,
    /// The clients `GET /metrics` answers (judged like the sign-up limit's client, so a
    /// request relayed by a proxy is not taken for the proxy's own).
    pub metrics_allowed_from: Vec<ipnet::IpNet>,
}

#[derive(Debug, Clone)]
pub struct DkimSettings {
    pub key_file: PathBuf,
    pub selector: String,
}

/// Late bounces and complaints (docs/architecture.md decision 28).
#[derive(Debug, Clone)]
pub struct BounceSettings {
    /// Where they come back; `None`: not collected (the From address is the return path).
    pub address: Option<crate::domain::BounceAddress>,
    /// Soft bounces in a row, within `soft_window`, that suppress an address.
    pub soft_limit: u32,
    pub soft_window: Duration,
    /// An issue's complaint rate (a fraction) that pauses its send.
    pub pause_complaint_rate: f64,
    /// An issue's hard-bounce rate (a fraction) that pauses its send.
    pub pause_bounce_rate: f64,
}

/// Amazon SES events posted by SNS to `POST /webhooks/ses` (docs/architecture.md decision 28).
#[derive(Debug, Clone)]
pub struct SesSettings {
    /// Whether the route answers at all (404 when off).
    pub enabled: bool,
    /// The accepted topics; empty = any.
    pub topic_arns: Vec<String>,
    /// Where the operator put the SNS signing certificates.
    pub certificate_dir: PathBuf,
}

/// How the worker paces and retries (docs/architecture.md decision 4).
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub concurrency: usize,
    pub rate_per_second: Option<u32>,
    pub batch_size: usize,
    pub lease: Duration,
    pub retry_first: Duration,
    pub retry_cap: Duration,
    pub give_up_after: Duration,
    pub smtp_timeout: Duration,
    /// Consecutive relay failures after which an issue's send is paused.
    pub relay_failures_before_pause: u32,
    /// How late a scheduled send may start by itself.
    pub max_lateness: Duration,
    /// How many confirmation mails may go out per hour, all workers together.
    pub confirmation_mail_per_hour: ConfirmationMailBudget,
}

/// The hourly budget of confirmation mail (docs/architecture.md decision 36): beyond it,
/// sign-ups are answered as always but their mail waits, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationMailBudget {
    /// Scaled to the list: the larger of [`Self::AUTO_FLOOR`] and 2% of the active readers.
    Auto,
    PerHour(u32),
}

impl ConfirmationMailBudget {
    /// A small list still takes a busy hour of real sign-ups (a mention on a popular site).
    pub const AUTO_FLOOR: u64 = 200;

    /// The limit for a list of `active` readers.
    pub fn per_hour(self, active: i64) -> u64 {
        match self {
            Self::Auto => Self::AUTO_FLOOR.max(u64::try_from(active).unwrap_or(0) / 50),
            Self::PerHour(n) => u64::from(n),
        }
    }
}

/// "A send must end before its lease does", in one place: the transport applies these
/// timeouts, the worker hands back a row with less lease left than `send_budget`, and the
/// configuration refuses a lease shorter than `shortest_lease`.
impl DeliverySettings {
    /// Connecting, the greeting, EHLO, STARTTLS and AUTH.
    pub fn connect_timeout(&self) -> Duration {
        self.smtp_timeout
    }

    /// MAIL, RCPT, DATA and the body: enough for a large message on a slow link.
    pub fn transaction_timeout(&self) -> Duration {
        self.smtp_timeout * 2
    }

    /// The longest one send may take.
    pub fn send_budget(&self) -> Duration {
        self.connect_timeout() + self.transaction_timeout()
    }

    /// A lease outlasts a send, with time to record its outcome.
    pub fn shortest_lease(&self) -> Duration {
        self.send_budget() + Duration::from_secs(5)
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("from", &self.from.to_string())
            .field("database_url", &self.database_url)
            .field("database", &self.database)
            .field("smtp_url", &self.smtp_url)
            .field("smtp_ca_file", &self.smtp_ca_file)
            .field("outbox_dir", &self.outbox_dir)
            .field("dkim", &self.dkim)
            .field("bind", &self.bind)
            .field("newsletter", &self.newsletter)
            .field("delivery", &self.delivery)
            .field("subscriptions", &self.subscriptions)
            .field("http", &self.http)
            .finish()
    }
}

impl Settings {
    /// Every public address, built from `base_url`.
    pub fn urls(&self) -> crate::domain::PublicUrls {
        crate::domain::PublicUrls::new(&self.base_url)
    }

    /// The key unsubscribe tokens are derived from (the file is created on first use).
    pub fn token_key(&self) -> Result<crate::domain::TokenKey, SecretKeyError> {
        secret_key::load_or_create(
            self.secret_key.as_ref().map(Secret::expose),
            &self.secret_key_file,
        )
    }

    /// The key as it is now, creating nothing: `None` when `secret_key` is not set and
    /// `secret_key_file` does not exist (`doctor`).
    pub fn existing_token_key(&self) -> Result<Option<crate::domain::TokenKey>, SecretKeyError> {
        secret_key::load_existing(
            self.secret_key.as_ref().map(Secret::expose),
            &self.secret_key_file,
        )
    }
}

/// Where a value came from, so an error can send the operator to the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Env(String),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "in {}", p.display()),
            Origin::Env(v) => write!(f, "from the environment variable {v}"),
            Origin::Default => f.write_str("(the default)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("unknown key `{key}` in {}: the known keys are {}", path.display(), keys::known_list())]
    UnknownKey { path: PathBuf, key: String },
    #[error("configuration key `{key}` {origin}{shown}: {problem}; {fix}")]
    Invalid {
        key: &'static str,
        origin: Origin,
        /// ` = "value"`, or empty for secrets.
        shown: String,
        problem: String,
        fix: String,
    },
}

impl Settings {
    /// Loads the file (explicit, or `morningpost.toml` when present) and the environment.
    pub fn load(explicit_file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("MORNINGPOST_"))
            .collect();
        let default_file = Path::new("morningpost.toml");
        let file = match explicit_file {
            Some(p) => Some(p),
            None if default_file.exists() => Some(default_file),
            None => None,
        };
        let file_text = match file {
            Some(path) => Some((
                path.to_owned(),
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            )),
            None => None,
        };
        Self::from_sources(
            file_text.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
            &env,
        )
    }

    /// Builds settings from a file's text and an environment, without touching the process:
    /// what `load` does, testable.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let raw = Raw::collect(file, env)?;
        raw.into_settings()
    }
}

#[cfg(test)]
impl Settings {
    /// Settings from these environment variables alone (and a fixed secret key unless they
    /// give one), for unit tests.
    pub(crate) fn from_env_for_tests(vars: &[(&str, &str)]) -> Self {
        let mut env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.entry("MORNINGPOST_SECRET_KEY".to_owned())
            .or_insert_with(|| "ab".repeat(32));
        Self::from_sources(None, &env).unwrap_or_else(|e| panic!("test settings: {e}"))
    }
}
