//! The body every email of the newsletter shares: a fluid container at most 600 px wide
//! (right with or without the `<style>` block), held at 600 px in Outlook for Windows by a
//! ghost table, on a full-width background.

use maud::{Markup, PreEscaped, html};

use super::head::{ghost_table_close, ghost_table_open};

/// The widest the mail gets; phones get their own width.
pub const CONTAINER_WIDTH: u32 = 600;

/// `rows` are the container's `<tr>`s; `preheader` is the inbox preview, hidden in the body.
pub fn email_body(preheader: Option<&str>, rows: Markup) -> Markup {
    html! {
        // `id="body"` lets the `u + #body` auto-link reset find the body inside Gmail.
        body id="body" class="body" {
            @if let Some(pre) = preheader {
                // The padding keeps clients from pulling body text into the preview after it.
                div class="preheader" { (pre) (PreEscaped("&#8199;&#65279;&#847;".repeat(30))) }
            }
            table class="wrapper" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" {
                tr { td align="center" {
                    (ghost_table_open(CONTAINER_WIDTH))
                    table class="container" role="presentation" cellpadding="0" cellspacing="0" border="0" {
                        (rows)
                    }
                    (ghost_table_close())
                } }
            }
        }
    }
}
