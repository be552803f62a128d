//! Printing an error with its causes on one line, for logs. An error's own message never
//! repeats its source (the `caused by:` lines of `main` print the chain once), so a log line
//! that showed only the top message would lose the reason.

use std::fmt;

/// `top: cause: deeper cause`.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("recording failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn prints_every_cause_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(Chain(&e).to_string(), "recording failed: disk full");
    }
}
