//! Where a relative path in the settings points: one rule for every path setting
//! (`outbox_dir`, `secret_key_file`, `dkim_key_file`, `smtp_ca_file`) and for the file of a
//! `sqlite:` `database_url`. Read from a configuration file, a relative path names a file
//! beside that configuration, not in whatever folder the command runs from: a cron job runs
//! elsewhere, and a path resolved against its folder found (and created) an empty database, a
//! new secret key (other unsubscribe links) and a new outbox. From the environment or the
//! default, the working folder is what the operator meant.

use std::path::{Path, PathBuf};

use super::Origin;

/// The folder a relative value is read from when it is not the working folder: the
/// configuration file's, when the value came from that file.
fn config_folder(origin: &Origin) -> Option<&Path> {
    let Origin::File(config) = origin else {
        return None;
    };
    config.parent().filter(|p| !p.as_os_str().is_empty())
}

/// A path setting: joined to the configuration file's folder when it is relative and came
/// from that file; otherwise as written.
pub(super) fn path(value: &str, origin: &Origin) -> PathBuf {
    let path = Path::new(value);
    match config_folder(origin) {
        Some(folder) if path.is_relative() => folder.join(path),
        _ => path.to_owned(),
    }
}

/// The URL with a relative SQLite path joined to the configuration file's folder when the
/// value came from that file; any other URL unchanged.
pub(super) fn database_url(url: &str, origin: &Origin) -> String {
    let Some(folder) = config_folder(origin) else {
        return url.to_owned();
    };
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_owned();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    // sqlx percent-decodes the path: a folder name holding `%`, `?` or `#` must stay literal.
    let folder = folder
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("sqlite://{folder}/{path}{query}")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn file(p: &str) -> Origin {
        Origin::File(PathBuf::from(p))
    }

    #[test]
    fn a_relative_path_setting_from_a_file_is_beside_it() {
        let f = file("/etc/morningpost/morningpost.toml");
        assert_eq!(path("mp.key", &f), PathBuf::from("/etc/morningpost/mp.key"));
        assert_eq!(path("out", &f), PathBuf::from("/etc/morningpost/out"));
        assert_eq!(
            path("keys/dkim.pem", &file("conf/m.toml")),
            PathBuf::from("conf/keys/dkim.pem")
        );
        assert_eq!(path("/var/mp/mp.key", &f), PathBuf::from("/var/mp/mp.key"));
        // A file in the working folder: the working folder is its folder already.
        assert_eq!(
            path("mp.key", &file("morningpost.toml")),
            PathBuf::from("mp.key")
        );
        for origin in [
            Origin::Default,
            Origin::Env("MORNINGPOST_OUTBOX_DIR".into()),
        ] {
            assert_eq!(path("out", &origin), PathBuf::from("out"));
        }
    }

    #[test]
    fn a_relative_database_path_from_a_file_resolves_beside_it() {
        let f = file("/etc/morningpost/morningpost.toml");
        assert_eq!(
            database_url("sqlite://news.db", &f),
            "sqlite:///etc/morningpost/news.db"
        );
        assert_eq!(
            database_url("sqlite:data/news.db?mode=rwc", &f),
            "sqlite:///etc/morningpost/data/news.db?mode=rwc"
        );
        assert_eq!(
            database_url("sqlite://news.db", &file("conf/m.toml")),
            "sqlite://conf/news.db"
        );
        assert_eq!(
            database_url("sqlite://news.db", &file("/a%b/m.toml")),
            "sqlite:///a%25b/news.db"
        );
    }

    #[test]
    fn other_urls_and_origins_stay_as_written() {
        let f = file("/etc/morningpost/morningpost.toml");
        for url in [
            "sqlite:///var/lib/news.db",
            "sqlite::memory:",
            "postgres://u@h/db",
        ] {
            assert_eq!(database_url(url, &f), url);
        }
        // A file in the working folder: the working folder is its folder already.
        assert_eq!(
            database_url("sqlite://news.db", &file("morningpost.toml")),
            "sqlite://news.db"
        );
        for origin in [
            Origin::Default,
            Origin::Env("MORNINGPOST_DATABASE_URL".into()),
        ] {
            assert_eq!(
                database_url("sqlite://news.db", &origin),
                "sqlite://news.db"
            );
        }
    }
}
