use std::path::Path;

use super::error::{IssueError, Problem};
use super::front_matter::{FrontMatter, split_front_matter};
use super::markdown::parse_body;
use super::model::Issue;
use super::reserved::{find_reserved, reserved_escape};

/// An issue file is at most this big; a real one is ~20 KB.
const MAX_ISSUE_BYTES: usize = 2 * 1024 * 1024;

/// Reads and parses an issue file. Errors name the file, line and column.
pub fn read_issue_file(path: &Path) -> Result<Issue, IssueError> {
    let bytes = std::fs::read(path).map_err(|source| IssueError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_issue(&path.display().to_string(), &bytes)
}

/// Parses an issue from its bytes; `file` is only used in error messages.
pub fn parse_issue(file: &str, bytes: &[u8]) -> Result<Issue, IssueError> {
    let src = SourceText::decode(file, bytes)?;
    let text = src.text;
    if let Some((offset, c)) = find_reserved(text) {
        return Err(src.error_at(offset, Problem::ReservedCharacter(c)));
    }
    let split = split_front_matter(text).map_err(|(offset, p)| src.error_at(offset, p))?;
    let front = FrontMatter::parse(split.toml)
        .map_err(|(offset, p)| src.error_at(split.toml_offset + offset, p))?;
    // TOML escapes decode after the check above: look at what they decoded to.
    let texts = [
        Some(&front.title),
        front.subject.as_ref(),
        front.preheader.as_ref(),
    ];
    if let Some((_, c)) = texts.into_iter().flatten().find_map(|t| find_reserved(t)) {
        let offset = split.toml_offset + reserved_escape(split.toml).unwrap_or(0);
        return Err(src.error_at(offset, Problem::ReservedCharacter(c)));
    }
    if split.body.trim().is_empty() {
        return Err(src.error_at(split.body_offset, Problem::EmptyBody));
    }
    let (lead, sections) = parse_body(split.body)
        .map_err(|(offset, p)| src.error_at(split.body_offset + offset, p))?;
    Ok(Issue {
        subject: front.subject.unwrap_or_else(|| front.title.clone()),
        title: front.title,
        date: front.date,
        preheader: front.preheader,
        slug: front.slug,
        lead,
        sections,
    })
}

/// The decoded text of a file, with the means to turn a byte offset into `FILE:LINE:COL`.
struct SourceText<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> SourceText<'a> {
    fn decode(file: &'a str, bytes: &'a [u8]) -> Result<Self, IssueError> {
        if bytes.len() > MAX_ISSUE_BYTES {
            return Err(IssueError::At {
                file: file.to_owned(),
                line: 1,
                col: 1,
                problem: Problem::TooLarge(bytes.len()),
            });
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Self { file, text }),
            Err(e) => {
                // The valid prefix is text, so the position of the bad byte can be counted.
                let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
                let (line, col) = line_col(valid, valid.len());
                Err(IssueError::At {
                    file: file.to_owned(),
                    line,
                    col,
                    problem: Problem::InvalidUtf8,
                })
            }
        }
    }

    fn error_at(&self, offset: usize, problem: Problem) -> IssueError {
        let (line, col) = line_col(self.text, offset);
        IssueError::At {
            file: self.file.to_owned(),
            line,
            col,
            problem,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé\nx", 0), (1, 1));
        assert_eq!(line_col("ab\ncé\nx", 3), (2, 1));
        assert_eq!(line_col("ab\ncé\nx", 7), (3, 1));
        assert_eq!(line_col("ab\ncé\nx", 6), (2, 3));
    }
}
