//! Reading the messages a test received.

use std::collections::BTreeMap;

use super::sink::SmtpSink;

/// A header of a raw message, unfolded; empty when absent.
pub fn raw_header(bytes: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(bytes);
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
        .unwrap_or_default()
}

/// The first URL of a message's `List-Unsubscribe` (the https one; the mailto follows).
pub fn list_unsubscribe_url(bytes: &[u8]) -> String {
    let header = raw_header(bytes, "List-Unsubscribe");
    header
        .split('<')
        .nth(1)
        .and_then(|s| s.split('>').next())
        .unwrap_or_else(|| panic!("no URL in List-Unsubscribe: {header:?}"))
        .to_owned()
}

/// Message-ID → copies received, counting only messages that arrived whole (a message cut
/// off by a killed sender is not a delivery).
pub fn copies_by_message_id(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut copies = BTreeMap::new();
    for m in sink.messages() {
        let text = String::from_utf8_lossy(&m);
        if !text.trim_end().ends_with("--=_morningpost_alternative--") {
            continue;
        }
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("Message-ID")
            .to_owned();
        *copies.entry(id).or_default() += 1;
    }
    copies
}
