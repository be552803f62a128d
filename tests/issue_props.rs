//! Arbitrary front matter and Markdown never panic the parser or the renderer.

mod support;

use morningpost::issue::parse_issue;
use morningpost::render::{RenderContext, render_issue};
use proptest::prelude::*;

fn markdownish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("## ".to_owned()),
        Just("### ".to_owned()),
        Just("#### ".to_owned()),
        Just("# ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("  - ".to_owned()),
        Just(" — ".to_owned()),
        Just("**".to_owned()),
        Just("*".to_owned()),
        Just("> ".to_owned()),
        Just("```\n".to_owned()),
        Just("[a](https://e.com)".to_owned()),
        Just("[b](/p)".to_owned()),
        Just("[c](javascript:x)".to_owned()),
        Just("![i](https://e.com/i.png)".to_owned()),
        Just("<b>".to_owned()),
        Just("---".to_owned()),
        "[a-zA-Z0-9 ]{0,12}",
        "\\PC{0,6}",
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

fn front_matter() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("title = \"T\"\n".to_owned()),
        Just("date = 2026-11-27\n".to_owned()),
        Just("subject = \"S\"\n".to_owned()),
        Just("preheader = \"P\"\n".to_owned()),
        Just("slug = \"s-1\"\n".to_owned()),
        "[a-z]{1,6} = \\PC{0,8}\n",
        "\\PC{0,20}\n",
    ];
    prop::collection::vec(line, 0..7).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parsing_and_rendering_never_panic(fm in front_matter(), body in markdownish(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let ctx = RenderContext::from_settings(&support::settings(&[]));
        let mut src = format!("+++\n{fm}+++\n{body}").into_bytes();
        src.extend(bytes.iter().filter(|b| **b > 0x7f).take(2));
        for input in [src.as_slice(), bytes.as_slice(), body.as_bytes()] {
            match parse_issue("p.md", input) {
                Ok(issue) => {
                    let r = render_issue(&issue, &ctx);
                    prop_assert!(r.is_ok());
                }
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(text.starts_with("p.md:"), "{}", text);
                }
            }
        }
    }
}
