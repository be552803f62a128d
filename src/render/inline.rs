//! css-inline: the `<style>` rules become `style` attributes (what most mail clients need);
//! the client rules (`@media`, dark mode, auto-link resets) are in their own kept `<style>`
//! block (`head.rs`), so at-rules are not collected a second time.

use std::sync::OnceLock;

use super::RenderError;

fn inliner() -> &'static css_inline::CSSInliner<'static> {
    static INLINER: OnceLock<css_inline::CSSInliner<'static>> = OnceLock::new();
    INLINER.get_or_init(|| {
        css_inline::CSSInliner::options()
            .load_remote_stylesheets(false)
            .keep_link_tags(false)
            .keep_at_rules(false)
            .apply_width_attributes(true)
            .build()
    })
}

pub(super) fn inline_css(html: &str) -> Result<String, RenderError> {
    inliner().inline(html).map_err(RenderError::Inline)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inliner is given only our own templates, so no issue makes it fail; the error is
    /// built here to check what the operator would read. Before, the cause was flattened into
    /// a `String`: no `source()`, and the text printed inside the message.
    #[test]
    fn an_inlining_error_keeps_its_cause_as_the_source() {
        let cause = std::io::Error::other("the stylesheet cannot be read");
        let err = RenderError::Inline(css_inline::InlineError::IO(cause));
        let source = std::error::Error::source(&err).expect("the cause is kept");
        assert_eq!(source.to_string(), "the stylesheet cannot be read");
        assert!(
            !err.to_string().contains("cannot be read"),
            "main prints the cause once, after the message: {err}"
        );
    }
}
