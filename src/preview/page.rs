//! The preview's page: four frames of the email (desktop and phone, light and dark), the
//! text twin and the warnings — or the error with its location — and a script that
//! reloads the page when the file is rendered again.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Current, Rendition};

/// A desktop mail client's reading pane, and a common phone.
const DESKTOP: u32 = 640;
const PHONE: u32 = 375;

/// The email as a client in dark mode shows it: the rules the mail keeps for
/// `prefers-color-scheme: dark` applied unconditionally.
pub(super) fn as_dark(html: &str) -> String {
    html.replace(crate::render::DARK_MODE_MEDIA, "@media all")
}

pub(super) fn shell(current: &Current) -> Markup {
    let (title, broken) = match &current.rendition {
        Rendition::Good(sample) => (sample.subject.as_str(), None),
        Rendition::Broken(error) => ("The issue cannot be rendered", Some(error.as_str())),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Preview · " (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (title) }
                    p class="hint" { "Save the file to render it again; this page reloads by itself." }
                }
                @match (&current.rendition, broken) {
                    (_, Some(error)) => {
                        section class="error" role="alert" {
                            h2 { "Error" }
                            pre { (error) }
                            p { "Fix the file and save it: the preview comes back by itself." }
                        }
                    }
                    (Rendition::Good(sample), None) => {
                        @if sample.warnings.is_empty() {
                            p class="ok" { "No warnings." }
                        } @else {
                            section class="warnings" {
                                h2 { "Warnings" }
                                ul { @for w in &sample.warnings { li { (w) } } }
                            }
                        }
                        div class="frames" {
                            (frame("Desktop · light", DESKTOP, "light"))
                            (frame("Phone · light", PHONE, "light"))
                            (frame("Phone · dark", PHONE, "dark"))
                            (frame("Desktop · dark", DESKTOP, "dark"))
                        }
                        section class="text" {
                            h2 { "Plain-text part" }
                            pre { (sample.text) }
                        }
                    }
                    (Rendition::Broken(_), None) => {}
                }
                script { (PreEscaped(RELOAD.replace("VERSION", &current.version.to_string()))) }
            }
        }
    }
}

fn frame(label: &str, width: u32, scheme: &str) -> Markup {
    html! {
        figure class="frame" {
            figcaption { (label) " · " (width) " px" }
            iframe title=(label) src=(format!("/email.html?scheme={scheme}")) width=(width) height="900" {}
        }
    }
}

/// Waits for the next rendition (the server holds the request until there is one) and
/// reloads; if the preview server is gone, tries again every second.
const RELOAD: &str = "(async()=>{const v=VERSION;for(;;){try{const r=await fetch('/changes?after='+v);const n=Number(await r.text());if(n!==v){location.reload();return}}catch(e){await new Promise(s=>setTimeout(s,1000))}}})();";

const STYLE: &str = "body{margin:0;padding:16px;font:15px/1.4 -apple-system,'Segoe UI',Roboto,Arial,sans-serif;background:#e9e7e1;color:#1f2328}\
header h1{margin:0 0 4px;font-size:20px}.hint{margin:0 0 12px;color:#5c6166}\
.frames{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\
.frame{margin:0;background:#fff;padding:8px;border:1px solid #c9c4b8}\
.frame figcaption{font-weight:bold;margin:0 0 6px}.frame iframe{border:1px solid #c9c4b8;display:block;background:#fff}\
.error{background:#fff0ee;border:2px solid #a3361f;padding:12px 16px;margin:0 0 16px}\
.error pre{white-space:pre-wrap;font-size:15px;color:#7a1f0e}\
.warnings{background:#fff8e1;border:1px solid #b58900;padding:8px 16px;margin:0 0 16px}.ok{color:#2e6b30}\
.text pre{background:#fff;border:1px solid #c9c4b8;padding:12px;max-width:80ch;white-space:pre-wrap}";
