//! `cargo bench --bench render` (or `scripts/bench render`): the full render of the sample
//! issue (parse, maud, css-inline) and personalising one recipient's HTML + text.
//! Targets on the 2-core machine: full render < 20 ms; personalisation < 10 µs.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use morningpost::config::Settings;
use morningpost::issue::parse_issue;
use morningpost::render::{RenderContext, SlotValues, render_issue};

const SAMPLE: &[u8] = include_bytes!("../examples/issues/2026-11-27.md");

fn benches(c: &mut Criterion) {
    let env: BTreeMap<String, String> = [(
        "MORNINGPOST_BASE_URL".to_owned(),
        "https://news.example.com".to_owned(),
    )]
    .into();
    let settings = Settings::from_sources(None, &env).expect("bench settings");
    let ctx = RenderContext::from_settings(&settings);

    c.bench_function(
        "render/full (parse + maud + css-inline, HTML + text + web)",
        |b| {
            b.iter(|| {
                let issue = parse_issue("sample.md", black_box(SAMPLE)).expect("sample parses");
                render_issue(&issue, &ctx).expect("sample renders")
            })
        },
    );

    let issue = parse_issue("sample.md", SAMPLE).expect("sample parses");
    let rendered = render_issue(&issue, &ctx).expect("sample renders");
    c.bench_function("render/personalise one recipient (HTML + text)", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let token = format!("tok{n:020}");
            let unsubscribe_url = format!("https://news.example.com/unsubscribe/{token}");
            let values = SlotValues {
                unsubscribe_url: &unsubscribe_url,
                view_url: "https://news.example.com/issues/2026-11-27",
                recipient: "reader@example.com",
                confirm_url: "",
                why: "you signed up and confirmed your address by email.",
            };
            let html = rendered.html.fill_html(black_box(&values));
            let text = rendered.text.fill_text(black_box(&values));
            (html, text)
        })
    });
}

criterion_group!(render, benches);
criterion_main!(render);
