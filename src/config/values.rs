//! Collecting raw values (file, then environment, then defaults) and checking each one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;

use super::keys::{self, KEYS};
use super::{
    ConfigError, ConfirmationMailBudget, DeliverySettings, DkimSettings, HttpSettings, Newsletter,
    Origin, Secret, Settings, SubscriptionSettings,
};

pub(super) struct Raw {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Raw {
    pub fn collect(
        file: Option<(&Path, &str)>,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut values = BTreeMap::new();
        for key in KEYS {
            if let Some(default) = key.default {
                values.insert(key.name, (default.to_owned(), Origin::Default));
            }
        }
        if let Some((path, text)) = file {
            let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            for (name, value) in table {
                let key = keys::find(&name).ok_or_else(|| ConfigError::UnknownKey {
                    path: path.to_owned(),
                    key: name.clone(),
                })?;
                let text = match value {
                    toml::Value::String(s) => s,
                    // A list of relays, origins or networks: written as the environment
                    // variable would say it (relays by spaces, the others by commas).
                    toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => {
                        let separator = if key.name == "smtp_url" { " " } else { ", " };
                        items
                            .iter()
                            .filter_map(toml::Value::as_str)
                            .collect::<Vec<_>>()
                            .join(separator)
                    }
                    toml::Value::Integer(i) => i.to_string(),
                    other => other.to_string(),
                };
                values.insert(key.name, (text, Origin::File(path.to_owned())));
            }
        }
        for key in KEYS {
            let var = keys::env_name(key.name);
            if let Some(v) = env.get(&var) {
                values.insert(key.name, (v.clone(), Origin::Env(var)));
            }
        }
        Ok(Self { values })
    }

    fn get(&self, key: &'static str) -> Option<&str> {
        self.values
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn origin(&self, key: &'static str) -> &Origin {
        self.values.get(key).map_or(&Origin::Default, |(_, o)| o)
    }

    fn invalid(
        &self,
        key: &'static str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        let (value, origin) = self
            .values
            .get(key)
            .cloned()
            .unwrap_or((String::new(), Origin::Default));
        let secret = keys::find(key).is_some_and(|k| k.secret);
        let shown = if secret {
            String::new()
        } else {
            format!(" = {value:?}")
        };
        ConfigError::Invalid {
            key,
            origin,
            shown,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn required(&self, key: &'static str, fix: &str) -> Result<&str, ConfigError> {
        self.get(key)
            .ok_or_else(|| self.invalid(key, "is empty", fix.to_owned()))
    }

    /// A path setting, relative to the configuration file's folder when it came from there.
    fn path(&self, key: &'static str) -> Option<PathBuf> {
        self.get(key)
            .map(|value| super::relative_paths::path(value, self.origin(key)))
    }

    fn required_path(&self, key: &'static str, fix: &str) -> Result<PathBuf, ConfigError> {
        self.required(key, fix)
            .map(|value| super::relative_paths::path(value, self.origin(key)))
    }

    /// `confirmation_mail_per_hour`: `auto` or a number.
    fn confirmation_budget(&self) -> Result<ConfirmationMailBudget, ConfigError> {
        const KEY: &str = "confirmation_mail_per_hour";
        if self
            .get(KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("auto"))
        {
            return Ok(ConfirmationMailBudget::Auto);
        }
        self.number(KEY, 1, 10_000_000)
            .map(ConfirmationMailBudget::PerHour)
            .map_err(|_| {
                self.invalid(
                    KEY,
                    "is neither `auto` nor a number of mails",
                    "use `auto` (scaled to the list) or a number from 1 to 10000000",
                )
            })
    }

    fn number<T>(&self, key: &'static str, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let text = self.required(key, "set a whole number")?;
        let n: T = text.trim().parse().map_err(|_| {
            self.invalid(
                key,
                "is not a whole number",
                format!("use a number from {min} to {max}"),
            )
        })?;
        if n < min || n > max {
            return Err(self.invalid(
                key,
                "is out of range",
                format!("use a number from {min} to {max}"),
            ));
        }
        Ok(n)
    }

    fn flag(&self, key: &'static str) -> Result<bool, ConfigError> {
        match self.required(key, "use true or false")?.trim() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(self.invalid(key, "is not true or false", "use true or false")),
        }
    }

    fn seconds(&self, key: &'static str, min: u64, max: u64) -> Result<Duration, ConfigError> {
        self.number(key, min, max).map(Duration::from_secs)
    }

    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let base_url = self.base_url()?;
        let from: Mailbox = self
            .required(
                "from",
                "set it to e.g. \"The AI Morning Post <morning@example.com>\"",
            )?
            .parse()
            .map_err(|e| {
                self.invalid(
                    "from",
                    format!("is not a mailbox ({e})"),
                    "write it as \"Name <address@example.com>\"",
                )
            })?;
        if from
            .name
            .as_deref()
            .is_some_and(|n| n.chars().any(char::is_control))
        {
            return Err(self.invalid(
                "from",
                "contains a control character",
                "remove line breaks from the name",
            ));
        }
        let database_url = Secret::new(super::relative_paths::database_url(
            self.required(
                "database_url",
                "use sqlite://morningpost.db or postgres://user@host/db",
            )?,
            self.origin("database_url"),
        ));
        if !(database_url.expose().starts_with("sqlite:")
            || database_url.expose().starts_with("postgres://")
            || database_url.expose().starts_with("postgresql://"))
        {
            return Err(self.invalid(
                "database_url",
                "must start with sqlite: or postgres://",
                "use sqlite://morningpost.db or postgres://user@host/db",
            ));
        }
        let smtp_url = self.get("smtp_url").map(Secret::new);
        let dkim = match (self.get("dkim_key_file"), self.get("dkim_selector")) {
            (None, None) => None,
            (Some(file), Some(selector)) => {
                if selector.is_empty()
                    || !selector
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
                {
                    return Err(self.invalid(
                        "dkim_selector",
                        "is not a DNS label",
                        "use letters, digits and '-', e.g. \"mp2026\"",
                    ));
                }
                Some(DkimSettings {
                    key_file: super::relative_paths::path(file, self.origin("dkim_key_file")),
                    selector: selector.to_owned(),
                })
            }
            (Some(_), None) => {
                return Err(self.invalid(
                    "dkim_selector",
                    "is missing while dkim_key_file is set",
                    "set MORNINGPOST_DKIM_SELECTOR too, or unset the key file",
                ));
            }
            (None, Some(_)) => {
                return Err(self.invalid(
                    "dkim_key_file",
                    "is missing while dkim_selector is set",
                    "set MORNINGPOST_DKIM_KEY_FILE to your PEM key, or unset the selector",
                ));
            }
        };
        let bind = self
            .required("bind", "use host:port, e.g. 127.0.0.1:8080")?
            .parse()
            .map_err(|_| {
                self.invalid(
                    "bind",
                    "is not an address:port",
                    "use host:port, e.g. 127.0.0.1:8080",
                )
            })?;
        let newsletter = self.newsletter(&from)?;
        let rate: u32 = self.number("rate_per_second", 0, 1_000_000)?;
        let delivery = DeliverySettings {
            concurrency: self.number("concurrency", 1, 256)?,
            rate_per_second: (rate > 0).then_some(rate),
            batch_size: self.number("batch_size", 1, 10_000)?,
            lease: self.seconds("lease_seconds", 10, 86_400)?,
            retry_first: self.seconds("retry_first_seconds", 1, 86_400)?,
            retry_cap: self.seconds("retry_cap_seconds", 1, 7 * 86_400)?,
            give_up_after: self.seconds("give_up_after_seconds", 60, 30 * 86_400)?,
            smtp_timeout: self.seconds("smtp_timeout_seconds", 1, 3_600)?,
            relay_failures_before_pause: self.number(
                "relay_failures_before_pause",
                1,
                1_000_000,
            )?,
            max_lateness: Duration::from_secs(
                60 * self.number::<u64>("max_lateness_minutes", 1, 7 * 24 * 60)?,
            ),
            confirmation_mail_per_hour: self.confirmation_budget()?,
        };
        let bounces = self.bounce_settings()?;
        let timezone = crate::domain::TimeZoneName::parse(
            self.required("timezone", "use an IANA name such as Europe/Berlin")?,
        )
        .map_err(|e| {
            self.invalid(
                "timezone",
                e.to_string(),
                "use an IANA name such as Europe/Berlin or America/New_York",
            )
        })?;
        let rate: u32 = self.number("subscribe_rate_per_minute", 0, 1_000_000)?;
        let subscriptions = SubscriptionSettings {
            confirm_valid: Duration::from_secs(
                self.number::<u64>("confirm_hours", 1, 24 * 30)? * 3600,
            ),
            resend_after: self.seconds("confirm_resend_seconds", 0, 86_400)?,
            allow_bounced: self.flag("allow_bounced_resubscribe")?,
            rate_per_minute: (rate > 0).then_some(rate),
            trust_forwarded_for: self.flag("trust_forwarded_for")?,
            trusted_proxies: self.networks("trusted_proxies")?,
            allowed_origins: self.origins("allowed_origins")?,
        };
        if subscriptions.trust_forwarded_for && subscriptions.trusted_proxies.is_empty() {
            return Err(self.invalid(
                "trusted_proxies",
                "is empty while trust_forwarded_for is true",
                "list your proxy's address (e.g. 127.0.0.1), or set trust_forwarded_for = false",
            ));
        }
        let http = HttpSettings {
            header_timeout: self.seconds("http_header_timeout_seconds", 1, 3_600)?,
            idle_timeout: self.seconds("http_idle_timeout_seconds", 1, 3_600)?,
            body_timeout: self.seconds("http_body_timeout_seconds", 1, 3_600)?,
            max_connections: self.number("http_max_connections", 1, 1_000_000)?,
            shutdown_timeout: self.seconds("http_shutdown_timeout_seconds", 1, 3_600)?,
            metrics_allowed_from: self.networks("metrics_allowed_from")?,
        };
        let database = crate::store::StoreOptions {
            pool_size: self.number("database_pool_size", 1, 1000)?,
            statement_timeout: self.seconds("database_statement_timeout_seconds", 1, 3600)?,
            ..Default::default()
        };
        if delivery.lease < delivery.shortest_lease() {
            return Err(self.invalid(
                "lease_seconds",
                "is too short for the SMTP timeout",
                "make it at least 3 × smtp_timeout_seconds + 5: a send must end before its lease does",
            ));
        }
        Ok(Settings {
            database,
            subscriptions,
            base_url,
            from,
            database_url,
            smtp_url,
            smtp_ca_file: self.path("smtp_ca_file"),
            outbox_dir: self.required_path("outbox_dir", "set a folder path")?,
            secret_key: self.get("secret_key").map(Secret::new),
            secret_key_file: self.required_path("secret_key_file", "set a file path")?,
            dkim,
            bind,
            newsletter,
            timezone,
            bounces,
            ses: super::SesSettings {
                enabled: self.flag("ses_webhook")?,
                topic_arns: list(self.get("ses_topic_arns"))
                    .map(str::to_owned)
                    .collect(),
                certificate_dir: self.required_path("ses_certificate_dir", "set a folder path")?,
            },
            delivery,
            http,
            log_format: {
                let raw = self.required("log_format", "use text or json")?;
                crate::logging::LogFormat::parse(raw).ok_or_else(|| {
                    self.invalid("log_format", "is not text or json", "use text or json")
                })?
            },
        })
    }

    fn bounce_settings(&self) -> Result<super::BounceSettings, ConfigError> {
        let address = self
            .get("bounce_address")
            .map(|a| {
                crate::domain::BounceAddress::parse(a).map_err(|e| {
                    self.invalid(
                        "bounce_address",
                        e.to_string(),
                        "use an address whose mail you read, e.g. bounces@news.example.com",
                    )
                })
            })
            .transpose()?;
        let percent =
            |key| -> Result<f64, ConfigError> { Ok(self.number::<f64>(key, 0.0, 100.0)? / 100.0) };
        Ok(super::BounceSettings {
            address,
            soft_limit: self.number("soft_bounce_limit", 1, 100)?,
            soft_window: Duration::from_secs(
                86_400 * self.number::<u64>("soft_bounce_window_days", 1, 3650)?,
            ),
            pause_complaint_rate: percent("pause_complaint_rate_percent")?,
            pause_bounce_rate: percent("pause_bounce_rate_percent")?,
        })
    }

    /// A comma-separated list of addresses and CIDRs; empty = none.
    fn networks(&self, key: &'static str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        let fix =
            "list addresses or CIDRs separated by commas, e.g. \"127.0.0.1, 10.0.0.0/8, ::1\"";
        list(self.get(key))
            .map(|item| {
                item.parse::<ipnet::IpNet>()
                    .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        self.invalid(key, format!("has {item:?}, not an address or CIDR"), fix)
                    })
            })
            .collect()
    }

    /// A comma-separated list of web origins (`https://host[:port]`), ASCII serialized.
    fn origins(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        let fix = "list origins separated by commas, e.g. \"https://blog.example.com, https://example.org:8443\"";
        list(self.get(key))
            .map(|item| {
                let bad = |why: &str| self.invalid(key, format!("has {item:?}, {why}"), fix);
                let url = url::Url::parse(item).map_err(|_| bad("not a URL"))?;
                if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
                    return Err(bad("not an http(s) origin"));
                }
                if url.path() != "/" || url.query().is_some() || url.username() != "" {
                    return Err(bad("which has more than scheme, host and port"));
                }
                Ok(url.origin().ascii_serialization())
            })
            .collect()
    }

    fn base_url(&self) -> Result<String, ConfigError> {
        let fix = "set it to the public address readers open, e.g. https://news.example.com";
        let text = self.required("base_url", fix)?;
        let url = url::Url::parse(text)
            .map_err(|e| self.invalid("base_url", format!("is not a URL ({e})"), fix))?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            "http" => {
                return Err(self.invalid(
                    "base_url",
                    "uses http:// for a public host",
                    "use https:// (http is only for localhost)",
                ));
            }
            _ => return Err(self.invalid("base_url", "must start with https://", fix)),
        }
        if url.query().is_some() || url.fragment().is_some() || url.username() != "" {
            return Err(self.invalid("base_url", "must not carry a query, fragment or user", fix));
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    fn newsletter(&self, from: &Mailbox) -> Result<Newsletter, ConfigError> {
        let line = |key: &'static str| -> Result<String, ConfigError> {
            let v = self.required(key, "set one line of text")?;
            if v.chars().any(char::is_control) {
                return Err(self.invalid(
                    key,
                    "contains a control character",
                    "keep it on one line",
                ));
            }
            Ok(v.trim().to_owned())
        };
        let list_id = match self.get("list_id") {
            Some(id) => {
                let id = id.trim().trim_start_matches('<').trim_end_matches('>');
                if id.is_empty()
                    || !id.contains('.')
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                {
                    return Err(self.invalid(
                        "list_id",
                        "is not a dotted identifier",
                        "use e.g. morning.example.com",
                    ));
                }
                format!("<{id}>")
            }
            None => format!("<morning.{}>", from.email.domain()),
        };
        let unsubscribe_address = match self.get("unsubscribe_address") {
            Some(a) => crate::domain::SubscriberEmail::parse(a)
                .map_err(|e| {
                    self.invalid(
                        "unsubscribe_address",
                        e.to_string(),
                        "use an address you receive mail at",
                    )
                })?
                .to_string(),
            None => format!("unsubscribe@{}", from.email.domain()),
        };
        Ok(Newsletter {
            name: line("name")?,
            tagline: line("tagline")?,
            postal_address: line("postal_address")?,
            list_id,
            unsubscribe_address,
        })
    }
}

/// The non-empty, trimmed items of a comma-separated value.
fn list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_alone_are_valid() {
        let s = Settings::from_sources(None, &env(&[])).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.newsletter.list_id, "<morning.example.com>");
        assert_eq!(s.delivery.concurrency, 8);
        assert!(s.smtp_url.is_none());
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "base_url = \"https://file.example.com/\"\nconcurrency = 3\n";
        let s = Settings::from_sources(
            Some((Path::new("m.toml"), file)),
            &env(&[("MORNINGPOST_BASE_URL", "https://env.example.com")]),
        )
        .unwrap();
        assert_eq!(s.base_url, "https://env.example.com");
        assert_eq!(s.delivery.concurrency, 3);
    }

    #[test]
    fn every_relative_path_in_a_file_is_read_from_its_folder() {
        let file = "secret_key_file = \"mp.key\"\noutbox_dir = \"out\"\n\
                    dkim_key_file = \"keys/dkim.pem\"\ndkim_selector = \"mp\"\n\
                    smtp_ca_file = \"/etc/ssl/ca.pem\"\ndatabase_url = \"sqlite://news.db\"\n";
        let config = Path::new("/etc/mp/morningpost.toml");
        let s = Settings::from_sources(Some((config, file)), &env(&[])).unwrap();
        assert_eq!(s.secret_key_file, Path::new("/etc/mp/mp.key"));
        assert_eq!(s.outbox_dir, Path::new("/etc/mp/out"));
        assert_eq!(
            s.dkim.map(|d| d.key_file),
            Some(PathBuf::from("/etc/mp/keys/dkim.pem"))
        );
        assert_eq!(s.smtp_ca_file, Some(PathBuf::from("/etc/ssl/ca.pem")));
        assert_eq!(s.database_url.expose(), "sqlite:///etc/mp/news.db");
        // The environment and the defaults stay relative to the working folder.
        let s = Settings::from_sources(
            Some((config, "smtp_ca_file = \"ca.pem\"\n")),
            &env(&[("MORNINGPOST_OUTBOX_DIR", "out")]),
        )
        .unwrap();
        assert_eq!(s.outbox_dir, Path::new("out"));
        assert_eq!(s.secret_key_file, Path::new("morningpost.key"));
        assert_eq!(s.smtp_ca_file, Some(PathBuf::from("/etc/mp/ca.pem")));
    }

    #[test]
    fn lists_in_the_file_read_as_the_environment_writes_them() {
        let file = "smtp_url = [\"smtp://a.example\", \"smtp://b.example?weight=2\"]\n\
                    metrics_allowed_from = [\"10.1.0.0/16\", \"::1\"]\n";
        let s = Settings::from_sources(Some((Path::new("mp.toml"), file)), &env(&[])).unwrap();
        assert_eq!(
            s.smtp_url.as_ref().map(Secret::expose),
            Some("smtp://a.example smtp://b.example?weight=2")
        );
        assert_eq!(s.http.metrics_allowed_from.len(), 2);
    }

    #[test]
    fn errors_name_the_key_the_origin_and_the_fix() {
        let e = Settings::from_sources(
            None,
            &env(&[("MORNINGPOST_BASE_URL", "http://news.example.com")]),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("`base_url`")
                && msg.contains("MORNINGPOST_BASE_URL")
                && msg.contains("use https://"),
            "{msg}"
        );

        let e = Settings::from_sources(Some((Path::new("m.toml"), "colour = 1")), &env(&[]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("unknown key `colour` in m.toml"),
            "{e}"
        );

        let e =
            Settings::from_sources(None, &env(&[("MORNINGPOST_CONCURRENCY", "lots")])).unwrap_err();
        assert!(e.to_string().contains("is not a whole number"), "{e}");

        let e = Settings::from_sources(None, &env(&[("MORNINGPOST_DKIM_KEY_FILE", "k.pem")]))
            .unwrap_err();
        assert!(e.to_string().contains("dkim_selector"), "{e}");

        let short_lease = env(&[
            ("MORNINGPOST_LEASE_SECONDS", "60"),
            ("MORNINGPOST_SMTP_TIMEOUT_SECONDS", "30"),
        ]);
        let e = Settings::from_sources(None, &short_lease)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`lease_seconds`") && e.contains("3 × smtp_timeout_seconds + 5"),
            "{e}"
        );
    }

    #[test]
    fn proxies_and_origins_are_lists_checked_item_by_item() {
        let s = Settings::from_sources(None, &env(&[])).unwrap();
        let loopback = |ip: &str| {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            s.subscriptions
                .trusted_proxies
                .iter()
                .any(|n| n.contains(&ip))
        };
        assert!(loopback("127.0.0.1") && loopback("127.9.9.9") && loopback("::1"));
        assert!(!loopback("10.0.0.1") && !loopback("192.0.2.55"));
        assert!(s.subscriptions.allowed_origins.is_empty());

        let s = Settings::from_sources(
            None,
            &env(&[
                (
                    "MORNINGPOST_TRUSTED_PROXIES",
                    " 10.0.0.0/8,192.0.2.9 ,, fd00::/8",
                ),
                (
                    "MORNINGPOST_ALLOWED_ORIGINS",
                    "https://Blog.Example.com/, http://localhost:3000",
                ),
            ]),
        )
        .unwrap();
        let nets: Vec<String> = s
            .subscriptions
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.0.2.9/32", "fd00::/8"]);
        assert_eq!(
            s.subscriptions.allowed_origins,
            ["https://blog.example.com", "http://localhost:3000"]
        );

        for (var, value, says) in [
            (
                "MORNINGPOST_TRUSTED_PROXIES",
                "10.0.0.0/33",
                "\"10.0.0.0/33\", not an address",
            ),
            (
                "MORNINGPOST_TRUSTED_PROXIES",
                "proxy.local",
                "\"proxy.local\", not an address",
            ),
            (
                "MORNINGPOST_ALLOWED_ORIGINS",
                "blog.example.com",
                "not a URL",
            ),
            (
                "MORNINGPOST_ALLOWED_ORIGINS",
                "ftp://example.com",
                "not an http(s) origin",
            ),
            (
                "MORNINGPOST_ALLOWED_ORIGINS",
                "https://example.com/form",
                "more than scheme",
            ),
        ] {
            let e = Settings::from_sources(None, &env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains(var), "{value}: {e}");
        }
        let e = Settings::from_sources(
            None,
            &env(&[
                ("MORNINGPOST_TRUST_FORWARDED_FOR", "true"),
                ("MORNINGPOST_TRUSTED_PROXIES", ""),
            ]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("is empty while trust_forwarded_for is true"),
            "{e}"
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        let e = Settings::from_sources(
            None,
            &env(&[("MORNINGPOST_DATABASE_URL", "mysql://root:hunter2@db/x")]),
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let s = Settings::from_sources(
            None,
            &env(&[(
                "MORNINGPOST_SMTP_URL",
                "smtp://me:hunter2@relay.example.com",
            )]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
