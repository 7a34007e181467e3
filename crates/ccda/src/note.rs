//! An HTML or XHTML note (a DocumentReference's attachment from a portal: a visit note, a
//! letter) as sanitised HTML for display, held to the same rules as a C-CDA narrative
//! ([`crate::narrative::sanitise`]).
//!
//! The note's markup is a stranger's: it is parsed by `ammonia` (html5ever, as a browser would)
//! and only an allow-list of structural tags survives — paragraphs, headings, emphasis, lists,
//! tables, quotes, preformatted text. No script (nor its text), no `<style>` (nor its text), no
//! `style` or `class` attribute (the document's own styles never apply: the frame's fixed
//! stylesheet does), no event handler, no form, no image or other embedded content, no `<meta>`,
//! `<link>` or `<base>`, no URL with a scheme (so nothing remote can be fetched or opened): a link
//! keeps its text and only a same-document `#fragment`. Every `id` is prefixed
//! ([`crate::narrative::ID_PREFIX`]) and fragment links follow it, so they cannot clash with
//! anything else.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::narrative::ID_PREFIX;

/// The tags a note's HTML may keep.
pub const TAGS: &[&str] = &[
    "p",
    "br",
    "hr",
    "div",
    "span",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "del",
    "ins",
    "sub",
    "sup",
    "small",
    "mark",
    "abbr",
    "cite",
    "q",
    "blockquote",
    "pre",
    "code",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "col",
    "colgroup",
    "a",
];

/// Elements whose content is dropped with them (not even their text is shown).
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script", "style", "title", "template", "noscript", "iframe", "noembed", "noframes", "object",
    "svg", "math", "xmp", "textarea", "select",
];

/// Cleans a whole HTML (or XHTML) document or fragment to the note allow-list: the content of
/// its `<body>`, structure only.
pub fn sanitise(html: &str) -> String {
    let tags: HashSet<&str> = TAGS.iter().copied().collect();
    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        ("td", ["colspan", "rowspan"].into()),
        ("th", ["colspan", "rowspan"].into()),
        ("col", ["span"].into()),
        ("colgroup", ["span"].into()),
        ("ol", ["start"].into()),
        ("a", ["href"].into()),
    ]
    .into();
    ammonia::Builder::empty()
        .tags(tags)
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(tag_attributes)
        .generic_attributes(["id"].into())
        .id_prefix(Some(ID_PREFIX))
        // No scheme is allowed: every absolute URL (http:, javascript:, data:, file:…) is dropped.
        .url_schemes(HashSet::new())
        // Of relative URLs only a same-document fragment stays, pointing at the prefixed id.
        .url_relative(ammonia::UrlRelative::Custom(Box::new(fragment)))
        .link_rel(None)
        .strip_comments(true)
        .attribute_filter(|_, attribute, value| match attribute {
            "colspan" | "rowspan" | "span" | "start" => small_number(value).then_some(value.into()),
            _ => Some(value.into()),
        })
        .clean(html)
        .to_string()
}

/// `#x` → `#n-x` (the id it names is prefixed); anything else is dropped.
fn fragment(url: &str) -> Option<Cow<'_, str>> {
    let target = url.strip_prefix('#')?;
    let ok = !target.is_empty()
        && target.len() <= 128
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| Cow::Owned(format!("#{ID_PREFIX}{target}")))
}

fn small_number(v: &str) -> bool {
    !v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_stays_and_everything_else_goes() {
        let html = sanitise(
            r##"<!DOCTYPE html><html><head><title>Secret title</title><meta http-equiv="refresh" content="0;url=https://evil.example/">
            <base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/s.css">
            <style>body { background: url(https://evil.example/t.png) }</style><script>window.__xss=1</script></head>
            <body onload="window.__xss=2"><h1 class="big" style="color:red">Visit note</h1>
            <p>Seen for <b>cough</b>.<img src=x onerror="window.__xss=3"></p>
            <a href="javascript:window.__xss=4">js</a> <a href="https://evil.example/">out</a> <a href="#plan">plan</a>
            <form action="https://evil.example/"><input name="q"><button>Send</button></form>
            <table border="1"><tr><td colspan="2" onclick="x()">a</td><td rowspan="9999">b</td></tr></table>
            <svg><script>window.__xss=5</script></svg><iframe src="https://evil.example/"></iframe>
            <h2 id="plan">Plan</h2><!-- a comment --></body></html>"##,
        );
        assert!(html.contains("<h1>Visit note</h1>"), "{html}");
        assert!(html.contains("<p>Seen for <b>cough</b>.</p>"), "{html}");
        assert!(
            html.contains("<a>js</a> <a>out</a> <a href=\"#n-plan\">plan</a>"),
            "{html}"
        );
        assert!(html.contains("<h2 id=\"n-plan\">Plan</h2>"), "{html}");
        assert!(
            html.contains("<td colspan=\"2\">a</td><td>b</td>"),
            "{html}"
        );
        assert!(html.contains("Send"), "a button's text stays: {html}");
        for gone in [
            "Secret title",
            "<script",
            "__xss",
            "<style",
            "background",
            "<img",
            "onerror",
            "onload",
            "onclick",
            "style=",
            "class=",
            "<meta",
            "<base",
            "<link",
            "<form",
            "<input",
            "<button",
            "<svg",
            "<iframe",
            "evil.example",
            "javascript:",
            "comment",
            "border",
        ] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
    }

    #[test]
    fn xhtml_reads_the_same() {
        let html = sanitise(
            r#"<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>One<br/>two</p><ul><li>three</li></ul></body></html>"#,
        );
        assert!(
            html.contains("<p>One<br>two</p><ul><li>three</li></ul>"),
            "{html}"
        );
        assert!(!html.contains("<?xml"), "{html}");
    }
}
