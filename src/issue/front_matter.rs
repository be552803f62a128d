//! The `+++` TOML block at the top of an issue file.

use serde::Deserialize;
use toml::Spanned;

use super::error::Problem;
use crate::domain::IssueSlug;

/// The longest subject, in characters. RFC 5322 sets no bound (long ones are folded), but mail
/// programs show some 60 characters and a subject of thousands is a mistake.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// Byte offsets are relative to the text handed in; the caller adds its own base.
type Located<T> = Result<T, (usize, Problem)>;

pub(super) struct Split<'a> {
    pub toml: &'a str,
    pub toml_offset: usize,
    pub body: &'a str,
    pub body_offset: usize,
}

/// Finds the `+++` … `+++` block; the delimiter lines may carry trailing spaces or `\r`.
pub(super) fn split_front_matter(text: &str) -> Located<Split<'_>> {
    let mut lines = line_spans(text);
    match lines.next() {
        Some((_, line)) if line.trim_end() == "+++" => {}
        _ => return Err((0, Problem::MissingFrontMatter)),
    }
    let toml_offset = text.find('\n').map_or(text.len(), |i| i + 1);
    for (start, line) in lines {
        if line.trim_end() == "+++" {
            let body_offset = (start + line.len() + 1).min(text.len());
            return Ok(Split {
                toml: &text[toml_offset..start],
                toml_offset,
                body: &text[body_offset..],
                body_offset,
            });
        }
    }
    Err((0, Problem::UnclosedFrontMatter))
}

/// (byte offset, line without its `\n`) for each line.
fn line_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('\n').map(move |line| {
        let start = offset;
        offset += line.len() + 1;
        (start, line)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<Spanned<String>>,
    date: Option<Spanned<toml::Value>>,
    subject: Option<Spanned<String>>,
    preheader: Option<Spanned<String>>,
    slug: Option<Spanned<String>>,
}

pub(super) struct FrontMatter {
    pub title: String,
    pub date: time::Date,
    pub subject: Option<String>,
    pub preheader: Option<String>,
    pub slug: IssueSlug,
}

impl FrontMatter {
    pub fn parse(toml_text: &str) -> Located<Self> {
        let raw: Raw = toml::from_str(toml_text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            (offset, Problem::Toml(e.message().trim().to_owned()))
        })?;
        let title = raw.title.ok_or((
            0,
            Problem::MissingKey("title", "title = \"Today's headline\""),
        ))?;
        let title_start = title.span().start;
        let title = one_line("title", title)?;
        let date = raw
            .date
            .ok_or((0, Problem::MissingKey("date", "date = 2026-11-27")))?;
        let date = parse_date(date)?;
        let subject = match raw.subject {
            Some(s) => {
                let start = s.span().start;
                let subject = one_line("subject", s)?;
                bound_subject("subject", &subject, start)?;
                Some(subject)
            }
            // The title is the subject then.
            None => {
                bound_subject("title", &title, title_start)?;
                None
            }
        };
        let preheader = raw
            .preheader
            .map(|s| one_line("preheader", s))
            .transpose()?;
        let slug = match raw.slug {
            None => IssueSlug::from_date(date),
            Some(s) => {
                let start = s.span().start;
                IssueSlug::parse(s.get_ref())
                    .map_err(|e| (start, Problem::BadSlug(e.to_string())))?
            }
        };
        Ok(Self {
            title,
            date,
            subject,
            preheader,
            slug,
        })
    }
}

/// Titles, subjects and preheaders end up in mail headers: one line, no control characters.
fn one_line(key: &'static str, value: Spanned<String>) -> Located<String> {
    let start = value.span().start;
    let text = value.into_inner();
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().any(char::is_control) {
        return Err((start, Problem::BadText(key)));
    }
    Ok(trimmed.to_owned())
}

/// A subject of at most `MAX_SUBJECT_CHARS` characters.
fn bound_subject(key: &'static str, text: &str, start: usize) -> Located<()> {
    let chars = text.chars().count();
    if chars > MAX_SUBJECT_CHARS {
        return Err((
            start,
            Problem::SubjectTooLong {
                key,
                chars,
                max: MAX_SUBJECT_CHARS,
            },
        ));
    }
    Ok(())
}

fn parse_date(value: Spanned<toml::Value>) -> Located<time::Date> {
    let start = value.span().start;
    let bad = |why: String| (start, Problem::BadDate(why));
    match value.into_inner() {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                let month = time::Month::try_from(d.month).map_err(|e| bad(e.to_string()))?;
                time::Date::from_calendar_date(i32::from(d.year), month, d.day)
                    .map_err(|e| bad(e.to_string()))
            }
            _ => Err(bad(format!("found {dt}"))),
        },
        toml::Value::String(s) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s.trim(), format).map_err(|e| bad(format!("{s:?}: {e}")))
        }
        other => Err(bad(format!("found a {}", other.type_str()))),
    }
}
