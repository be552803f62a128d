//! Every configuration key, its default and its help line. The file and the environment are
//! checked against this list (an unknown key in the file is an error that lists the known
//! ones), and `MORNINGPOST_<KEY>` is derived from each name.

pub struct Key {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

const fn key(name: &'static str, default: Option<&'static str>, help: &'static str) -> Key {
    Key {
        name,
        default,
        secret: false,
        help,
    }
}

pub const KEYS: &[Key] = &[
    key(
        "base_url",
        Some("http://127.0.0.1:8080"),
        "public base of every link (https; http only on localhost)",
    ),
    key(
        "from",
        Some("The AI Morning Post <morning@example.com>"),
        "the From of every mail",
    ),
    Key {
        name: "database_url",
        default: Some("sqlite://morningpost.db"),
        secret: true,
        help: "sqlite://FILE or postgres://…; a relative FILE set in the configuration file is beside that file",
    },
    Key {
        name: "smtp_url",
        default: None,
        secret: true,
        help: "one or more relays, separated by spaces (or a TOML list): smtp://[user:pass@]host[:port][?tls=starttls|none][&max_connections=N&rate_per_second=R&weight=W] or smtps://…; unset = outbox folder",
    },
    key(
        "smtp_ca_file",
        None,
        "PEM file of a private CA that signed the relay's certificate (trusted besides the public ones); relative: beside the configuration file when set there",
    ),
    Key {
        name: "secret_key",
        default: None,
        secret: true,
        help: "64 hex digits that unsubscribe tokens are derived from; same on every host, never changed",
    },
    key(
        "secret_key_file",
        Some("morningpost.key"),
        "where the secret key is kept when secret_key is unset (created on first use); relative: beside the configuration file when set there",
    ),
    key(
        "outbox_dir",
        Some("outbox"),
        "where mail goes as .eml files when smtp_url is unset; relative: beside the configuration file when set there",
    ),
    key(
        "dkim_key_file",
        None,
        "PEM private key (RSA-2048 or Ed25519, PKCS#8 or PKCS#1) to sign with; relative: beside the configuration file when set there",
    ),
    key(
        "dkim_selector",
        None,
        "DKIM selector; the public key is at SELECTOR._domainkey.DOMAIN",
    ),
    key("bind", Some("127.0.0.1:8080"), "address of the HTTP server"),
    key(
        "name",
        Some("The AI Morning Post"),
        "the newsletter's name (masthead, From name)",
    ),
    key(
        "tagline",
        Some("Artificial Intelligence • Machine Learning • Future Tech"),
        "the line under the masthead",
    ),
    key(
        "postal_address",
        Some("The AI Morning Post · 1 Example Street · Springfield"),
        "the postal address in every footer (CAN-SPAM)",
    ),
    key(
        "list_id",
        None,
        "RFC 2919 List-Id; default: morning.<domain of from>",
    ),
    key(
        "unsubscribe_address",
        None,
        "the mailto: of List-Unsubscribe; default: unsubscribe@<domain of from>",
    ),
    key(
        "confirm_hours",
        Some("48"),
        "how long a confirmation link works",
    ),
    key(
        "confirm_resend_seconds",
        Some("600"),
        "a pending address gets at most one confirmation mail this often",
    ),
    key(
        "allow_bounced_resubscribe",
        Some("false"),
        "whether an address that bounced (5.1.x) may sign up again",
    ),
    key(
        "subscribe_rate_per_minute",
        Some("10"),
        "sign-ups per client address per minute; 0 = no limit",
    ),
    key(
        "trust_forwarded_for",
        Some("false"),
        "take the client address from X-Forwarded-For (only behind your own proxy)",
    ),
    key(
        "trusted_proxies",
        Some("127.0.0.0/8, ::1"),
        "addresses or CIDRs of the proxies whose X-Forwarded-For is believed",
    ),
    key(
        "allowed_origins",
        None,
        "other sites allowed to post the sign-up form, e.g. https://blog.example.com (comma-separated)",
    ),
    key(
        "http_header_timeout_seconds",
        Some("10"),
        "how long a client may take to send a request's headers",
    ),
    key(
        "http_idle_timeout_seconds",
        Some("5"),
        "how long an idle keep-alive connection stays open (at most the header timeout)",
    ),
    key(
        "http_body_timeout_seconds",
        Some("10"),
        "how long a client may take to send a request's body (408 after)",
    ),
    key(
        "http_max_connections",
        Some("1024"),
        "HTTP connections open at once (503 past it); lowered to fit the open-file limit",
    ),
    key(
        "http_shutdown_timeout_seconds",
        Some("10"),
        "how long SIGTERM waits for requests in progress before closing their connections",
    ),
    key(
        "database_pool_size",
        Some("10"),
        "PostgreSQL connections per process",
    ),
    key(
        "database_statement_timeout_seconds",
        Some("30"),
        "longest a PostgreSQL statement may run",
    ),
    key("concurrency", Some("8"), "messages in flight per worker"),
    key(
        "rate_per_second",
        Some("0"),
        "messages per second per worker; 0 = unlimited",
    ),
    key("batch_size", Some("200"), "rows a worker claims at a time"),
    key(
        "confirmation_mail_per_hour",
        Some("auto"),
        "confirmation mails sent per hour, all workers together; beyond it they wait, oldest first; auto = the larger of 200 and 2% of the active readers",
    ),
    key(
        "lease_seconds",
        Some("300"),
        "how long a claimed row stays with a worker before others may take it",
    ),
    key(
        "retry_first_seconds",
        Some("60"),
        "first retry delay after a temporary failure",
    ),
    key("retry_cap_seconds", Some("3600"), "longest retry delay"),
    key(
        "give_up_after_seconds",
        Some("259200"),
        "stop retrying a message this long after it was queued",
    ),
    key(
        "smtp_timeout_seconds",
        Some("60"),
        "timeout of one SMTP command",
    ),
    key(
        "relay_failures_before_pause",
        Some("20"),
        "consecutive relay failures (refused connection, TLS, AUTH, MAIL FROM) after which an issue's send is paused",
    ),
    key(
        "timezone",
        Some("UTC"),
        "the newsletter's IANA time zone: `send --at HH:MM`, and readers whose own zone is unknown",
    ),
    key(
        "bounce_address",
        None,
        "where bounces and complaints come back (VERP: local+tag@domain); unset = the From address, late bounces not collected",
    ),
    key(
        "soft_bounce_limit",
        Some("3"),
        "soft bounces in a row (no delivery between) within the window that suppress an address",
    ),
    key(
        "soft_bounce_window_days",
        Some("30"),
        "the window soft bounces are counted in",
    ),
    key(
        "pause_complaint_rate_percent",
        Some("0.3"),
        "an issue's complaint rate that pauses its send (after 1,000 deliveries)",
    ),
    key(
        "pause_bounce_rate_percent",
        Some("5"),
        "an issue's hard-bounce rate that pauses its send (after 1,000 deliveries)",
    ),
    key(
        "ses_webhook",
        Some("false"),
        "answer Amazon SNS notifications of SES events at POST /webhooks/ses (signature verified); false = the route answers 404",
    ),
    key(
        "ses_topic_arns",
        None,
        "the SNS topic ARNs whose notifications are accepted, comma-separated; empty = any topic",
    ),
    key(
        "ses_certificate_dir",
        Some("ses-certificates"),
        "folder of the SNS signing certificates (SimpleNotificationService-….pem, downloaded once); relative: beside the configuration file when set there",
    ),
    key(
        "metrics_allowed_from",
        Some("127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7"),
        "clients that may read GET /metrics (addresses or CIDRs, comma-separated); others get 404",
    ),
    key(
        "log_format",
        Some("text"),
        "log lines on standard error: text (colour only on a terminal) or json (one object per line)",
    ),
    key(
        "max_lateness_minutes",
        Some("120"),
        "a scheduled send found this late (workers were down) is paused instead of sent",
    ),
];

pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

pub fn known_list() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

pub fn env_name(key: &str) -> String {
    format!("MORNINGPOST_{}", key.to_ascii_uppercase())
}
