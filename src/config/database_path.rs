//! Where a relative `sqlite:` path points. Read from a configuration file, it names a file
//! beside that configuration, not in whatever folder the command runs from: a cron job runs
//! elsewhere, and a path resolved against its folder found (and created) an empty database.
//! From the environment or the default, the working folder is what the operator meant.

use std::path::Path;

use super::Origin;

/// The URL with a relative SQLite path joined to the configuration file's folder when the
/// value came from that file; any other URL unchanged.
pub(super) fn resolve(url: &str, origin: &Origin) -> String {
    let Origin::File(config) = origin else {
        return url.to_owned();
    };
    let Some(folder) = config.parent().filter(|p| !p.as_os_str().is_empty()) else {
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
    fn a_relative_path_from_a_file_resolves_beside_it() {
        let f = file("/etc/morningpost/morningpost.toml");
        assert_eq!(
            resolve("sqlite://news.db", &f),
            "sqlite:///etc/morningpost/news.db"
        );
        assert_eq!(
            resolve("sqlite:data/news.db?mode=rwc", &f),
            "sqlite:///etc/morningpost/data/news.db?mode=rwc"
        );
        assert_eq!(
            resolve("sqlite://news.db", &file("conf/m.toml")),
            "sqlite://conf/news.db"
        );
        assert_eq!(
            resolve("sqlite://news.db", &file("/a%b/m.toml")),
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
            assert_eq!(resolve(url, &f), url);
        }
        // A file in the working folder: the working folder is its folder already.
        assert_eq!(
            resolve("sqlite://news.db", &file("morningpost.toml")),
            "sqlite://news.db"
        );
        for origin in [
            Origin::Default,
            Origin::Env("MORNINGPOST_DATABASE_URL".into()),
        ] {
            assert_eq!(resolve("sqlite://news.db", &origin), "sqlite://news.db");
        }
    }
}
