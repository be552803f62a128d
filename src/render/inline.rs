//! css-inline: the `<style>` rules become `style` attributes (what most mail clients need);
//! at-rules such as `@media` stay in a `<style>` tag for the clients that honour them.

use std::sync::OnceLock;

use super::RenderError;

fn inliner() -> &'static css_inline::CSSInliner<'static> {
    static INLINER: OnceLock<css_inline::CSSInliner<'static>> = OnceLock::new();
    INLINER.get_or_init(|| {
        css_inline::CSSInliner::options()
            .load_remote_stylesheets(false)
            .keep_link_tags(false)
            .keep_at_rules(true)
            .apply_width_attributes(true)
            .build()
    })
}

pub(super) fn inline_css(html: &str) -> Result<String, RenderError> {
    inliner()
        .inline(html)
        .map_err(|e| RenderError::Inline(e.to_string()))
}
