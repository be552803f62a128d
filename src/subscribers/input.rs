//! Opening a subscriber file as a stream of CSV records: a UTF-8 BOM is skipped, the
//! separator (`,` `;` or tab) is found from the header row, our backups' version line is
//! read, and every record can be named by its line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::backup::{BackupHeader, HeaderError};
use super::cells::{LineTracker, TrackedReader};

/// Records longer than this are refused (a 10 MB name, a row of a million columns): each
/// stays in memory while it is read.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the header row")]
    Header(#[source] csv::Error),
    #[error(transparent)]
    Version(#[from] HeaderError),
}

pub struct Input {
    pub records: csv::Reader<TrackedReader<Box<dyn BufRead>>>,
    pub tracker: LineTracker,
    /// The header row, trimmed and in lower case.
    pub headers: Vec<String>,
    /// Our backup's first line, when the file is one.
    pub backup: Option<BackupHeader>,
}

impl Input {
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let file = std::fs::File::open(path).map_err(|source| InputError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_reader(Box::new(BufReader::with_capacity(64 * 1024, file)), path)
    }

    pub fn from_reader(mut reader: Box<dyn BufRead>, path: &Path) -> Result<Self, InputError> {
        let io = |source| InputError::Open {
            path: path.display().to_string(),
            source,
        };
        if reader.fill_buf().map_err(io)?.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
        let mut first_line = 1;
        let mut backup = None;
        if reader.fill_buf().map_err(io)?.starts_with(b"#") {
            let mut line = Vec::new();
            reader
                .by_ref()
                .take(4096)
                .read_until(b'\n', &mut line)
                .map_err(io)?;
            backup = Some(BackupHeader::parse(&line)?);
            first_line = 2;
        }
        let separator = separator(reader.fill_buf().map_err(io)?);
        let tracker = LineTracker::starting_at(first_line);
        let mut records = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(separator)
            .from_reader(tracker.reader(reader));
        let headers = records
            .headers()
            .map_err(InputError::Header)?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        Ok(Self {
            records,
            tracker,
            headers,
            backup,
        })
    }

    /// The column with one of these names (in lower case), if any.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.contains(&h.as_str()))
    }
}

/// `;` when the header row has semicolons and no commas (what spreadsheets in many
/// European locales write), a tab likewise, else `,`.
fn separator(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| line.iter().filter(|b| **b == c).count();
    match (count(b','), count(b';'), count(b'\t')) {
        (0, s, _) if s > 0 => b';',
        (0, 0, t) if t > 0 => b'\t',
        _ => b',',
    }
}

/// Why a record could not be read. The csv crate's own text would name its own line count.
pub fn unreadable(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the row is not valid UTF-8: save the file as UTF-8".to_owned()
        }
        _ => format!("unreadable row: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_separator_is_found_from_the_header() {
        assert_eq!(separator(b"email,name\n"), b',');
        assert_eq!(separator(b"email;name\r\na@b;x,y\n"), b';');
        assert_eq!(separator(b"email\tname\n"), b'\t');
        assert_eq!(separator(b"email\n"), b',');
    }
}
