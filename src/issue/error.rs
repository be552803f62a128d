use std::path::PathBuf;

/// A broken issue file, reported as `FILE:LINE:COL: what is wrong`.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("cannot read the issue file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{col}: {problem}")]
    At {
        file: String,
        line: usize,
        col: usize,
        problem: Problem,
    },
}

impl IssueError {
    /// The problem, for callers (and tests) that match on it.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            IssueError::At { problem, .. } => Some(problem),
            IssueError::Read { .. } => None,
        }
    }

    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            IssueError::At { line, col, .. } => Some((*line, *col)),
            IssueError::Read { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the file is not valid UTF-8: save it as UTF-8")]
    InvalidUtf8,
    #[error("the file is {0} bytes; an issue file is at most 2 MB")]
    TooLarge(usize),
    #[error(
        "missing front matter: the file must start with a line `+++`, then title and date, then `+++`"
    )]
    MissingFrontMatter,
    #[error("the front matter opened here is never closed: add a line `+++` after it")]
    UnclosedFrontMatter,
    #[error("front matter: {0}")]
    Toml(String),
    #[error("front matter has no `{0}`: add for example {1}")]
    MissingKey(&'static str, &'static str),
    #[error("`{0}` must be one line of text and not blank")]
    BadText(&'static str),
    #[error(
        "`{key}` is {chars} characters and becomes the mail's subject, which is at most {max}: \
         shorten it{}",
        shorter_subject_hint(.key)
    )]
    SubjectTooLong {
        key: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("`date` must be a calendar date like 2026-11-27 (no time): {0}")]
    BadDate(String),
    #[error("`slug`: {0}")]
    BadSlug(String),
    #[error("the issue has no body: write the lead story below the closing `+++`")]
    EmptyBody,
    #[error(
        "a `#` heading is not allowed in the body: the title comes from the front matter; start sections with `##`"
    )]
    TopHeading,
    #[error("link target `{0}` is not allowed: use https://…, mailto:… or a /path on this site")]
    BadLink(String),
    #[error(
        "link `{0}` names no page of this site: site links may point to `/` (the subscribe page), \
         `/issues` (the archive), `/issues/YYYY-MM-DD` (an issue) or `/issues/feed.xml` (the feed)"
    )]
    NoSuchPage(String),
    #[error("nested lists are not supported: make the inner items part of the outer item's text")]
    NestedList,
    #[error("`{0}` is reserved for internal use and cannot appear in an issue")]
    ReservedCharacter(char),
    #[error("a heading cannot be empty")]
    EmptyHeading,
}

/// A long title is only a problem as the subject: a shorter `subject` solves it too.
fn shorter_subject_hint(key: &str) -> &'static str {
    if key == "title" {
        " or add a shorter `subject`"
    } else {
        ""
    }
}
