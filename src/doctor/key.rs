//! The secret key: there, readable, and the one this database was used with (its recorded
//! fingerprint, docs/architecture.md decision 38). Unsubscribe links, confirmation links and
//! the keyed hashes stored for every reader are made under it.

use super::Check;
use crate::config::{SecretKeyError, Settings};
use crate::report::Chain;
use crate::store::Store;

const KEY: &str = "secret key";
const FINGERPRINT: &str = "key fingerprint";

pub(super) async fn check(settings: &Settings, store: Option<&Store>, checks: &mut Vec<Check>) {
    let file = settings.secret_key_file.display().to_string();
    let recorded = match store {
        Some(store) => Some(store.key_fingerprint().await),
        None => None,
    };
    let key = match settings.existing_token_key() {
        Ok(Some(key)) => key,
        Ok(None) => {
            checks.push(match &recorded {
                Some(Ok(Some(fingerprint))) => Check::fail(
                    KEY,
                    format!(
                        "secret_key is not set and {file} does not exist, but this database was \
                         used with a key (fingerprint {fingerprint})"
                    ),
                    format!(
                        "restore {file} from a backup (or set secret_key to that key): a new key \
                         would break the links in mail already sent and every reader's \
                         unsubscribe link"
                    ),
                ),
                _ => Check::warn(
                    KEY,
                    format!("secret_key is not set and {file} does not exist yet"),
                    "run `morningpost init`: it creates the key file (and records its \
                     fingerprint); then back the file up",
                ),
            });
            checks.push(Check::skip(FINGERPRINT, "there is no key to compare"));
            return;
        }
        Err(e) => {
            let fix = match &e {
                SecretKeyError::BadKey => {
                    "set secret_key to the 64 hex digits of the key this installation was used \
                     with (a new one: `openssl rand -hex 32`)"
                        .to_owned()
                }
                SecretKeyError::BadFile { .. } => {
                    format!("restore {file} from a backup: links in mail already sent depend on it")
                }
                SecretKeyError::Io { .. } => format!(
                    "make {file} and its folder readable by the user morningpost runs as, or set \
                     secret_key"
                ),
            };
            checks.push(Check::fail(KEY, Chain(&e).to_string(), fix));
            checks.push(Check::skip(FINGERPRINT, "the key cannot be read"));
            return;
        }
    };
    let ours = key.fingerprint();
    let source = match settings.secret_key {
        Some(_) => "from secret_key".to_owned(),
        None => format!("from {file}"),
    };
    checks.push(Check::pass(KEY, format!("{source} (fingerprint {ours})")));
    checks.push(match recorded {
        None => Check::skip(FINGERPRINT, "the database cannot be read (see above)"),
        Some(Err(e)) => Check::fail(
            FINGERPRINT,
            Chain(&e).to_string(),
            "check that the database user may read the `installation` table",
        ),
        Some(Ok(None)) => Check::warn(
            FINGERPRINT,
            "none is recorded for this database yet (it predates the record)",
            "run `morningpost init` with the key this database has always been used with: it \
             records that key's fingerprint (so do `send`, `worker` and `serve`)",
        ),
        Some(Ok(Some(recorded))) if recorded == ours => {
            Check::pass(FINGERPRINT, "the key this database was used with")
        }
        Some(Ok(Some(recorded))) => Check::fail(
            FINGERPRINT,
            format!(
                "the secret key differs from the one this database was used with (fingerprint \
                 {ours}; the database's is {recorded})"
            ),
            format!(
                "links in mail already sent, and every existing reader's unsubscribe link, will \
                 not work under this key: restore the old key file ({file}) or secret_key from a \
                 backup (a subscribers export names its key's fingerprint on its first line)"
            ),
        ),
    });
}
