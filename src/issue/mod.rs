//! The issue format: TOML front matter between `+++` lines, then Markdown.
//! `docs/issue-format.md` is the operator's guide; this module is its single implementation.

mod error;
mod front_matter;
mod markdown;
mod model;
mod parse;
pub(crate) mod reserved;

pub use error::{IssueError, Problem};
pub use model::{Block, Card, Href, Inline, Issue, Section};
pub use parse::{parse_issue, read_issue_file};
