//! A section's narrative (`<text>`, the CDA NarrativeBlock) as HTML for display.
//!
//! Two lines of defence. First, the NarrativeBlock is walked element by element and only its own
//! vocabulary becomes HTML (paragraphs, tables, lists, line breaks, sub/superscript, footnotes):
//! text is escaped, `styleCode` becomes at most one of a few fixed classes, `linkHtml` keeps its
//! text and a same-document `#fragment` only, `renderMultiMedia` and anything unknown that could
//! hold code (`script`, `style`, `object`…) are dropped, other unknown elements keep only their
//! text. Second, the HTML is run through `ammonia` with an allow-list of exactly those tags and
//! attributes: no script, no `style`, no event handlers, no URL with a scheme (so nothing remote
//! can be fetched or opened), and every `id` prefixed so it cannot clash with anything else.
//!
//! The window shows the result inside a sandboxed iframe (no scripts, opaque origin, a CSP that
//! allows no fetch at all); this module makes sure there is nothing there to block.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use roxmltree::Node;
use serde::Serialize;

use crate::decode;
use crate::error::Error;

/// The HL7 v3 namespace every C-CDA element is in.
const HL7: &str = "urn:hl7-org:v3";

/// The prefix of every `id` in the HTML (and of the `#fragment` links to them).
pub const ID_PREFIX: &str = "n-";

/// The classes the HTML may carry, from `styleCode` and the structure (captions, footnotes).
pub const CLASSES: &[&str] = &[
    "bold",
    "italics",
    "underline",
    "emphasis",
    "caption",
    "footnote",
    "link",
];

/// The deepest nesting of elements walked; deeper content is kept as text only.
const MAX_DEPTH: usize = 64;

/// One section's narrative, in document order. Nested sections follow their parent with a
/// greater `depth` (0 for a section directly in the document's body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NarrativeSection {
    /// The section's title (or, without one, its code's display name, or "Untitled section").
    pub title: String,
    /// Sanitised HTML: the allowed tags only, no scripts, styles, URLs with a scheme or raw ids.
    pub html: String,
    pub depth: u32,
}

/// The sections of a C-CDA document with their narrative as sanitised HTML. The bytes are
/// decoded as [`decode::text`] does (BOM, UTF-16) and parsed as the converter parses them: DTDs
/// (so entities) refused, the number of nodes capped.
pub fn sections(xml_bytes: &[u8]) -> Result<Vec<NarrativeSection>, Error> {
    let text = decode::text(xml_bytes)?;
    let mut declared = String::new();
    let doc = crate::document::parse(&text, &mut declared)?;
    let root = doc.root_element();
    if !is(root, "ClinicalDocument") {
        return Err(Error::NotClinicalDocument);
    }
    let mut out = Vec::new();
    for body in children(root, "component").flat_map(|c| children(c, "structuredBody")) {
        for component in children(body, "component") {
            for section in children(component, "section") {
                walk_section(section, 0, &mut out);
            }
        }
    }
    Ok(out)
}

fn walk_section(section: Node, depth: u32, out: &mut Vec<NarrativeSection>) {
    let title = children(section, "title")
        .next()
        .map(plain_text)
        .filter(|t| !t.is_empty())
        .or_else(|| {
            children(section, "code")
                .next()
                .and_then(|c| c.attribute("displayName"))
                .map(collapse)
                .filter(|t| !t.is_empty())
        })
        .unwrap_or_else(|| "Untitled section".to_owned());
    let html = children(section, "text")
        .next()
        .map(|text| {
            let mut raw = String::new();
            convert_children(text, &mut raw, 0);
            sanitise(&raw)
        })
        .unwrap_or_default();
    out.push(NarrativeSection { title, html, depth });
    for component in children(section, "component") {
        for nested in children(component, "section") {
            walk_section(nested, depth + 1, out);
        }
    }
}

fn is(node: Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && matches!(node.tag_name().namespace(), None | Some(HL7))
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children().filter(move |c| is(*c, name))
}

/// An element's text, whitespace collapsed.
fn plain_text(node: Node) -> String {
    let joined: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    collapse(&joined)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Elements whose content is never shown, not even as text.
const DROPPED: &[&str] = &[
    "renderMultiMedia",
    "script",
    "style",
    "object",
    "embed",
    "iframe",
    "img",
    "svg",
    "math",
    "template",
    "noscript",
];

fn convert_children(node: Node, out: &mut String, depth: usize) {
    for child in node.children() {
        if child.is_text() {
            escape_into(child.text().unwrap_or_default(), out);
        } else if child.is_element() {
            convert_element(child, out, depth + 1);
        }
    }
}

fn convert_element(el: Node, out: &mut String, depth: usize) {
    let name = el.tag_name().name();
    if DROPPED.contains(&name) {
        return;
    }
    if depth > MAX_DEPTH || !matches!(el.tag_name().namespace(), None | Some(HL7)) {
        escape_into(&plain_text(el), out);
        return;
    }
    let tag: Option<&str> = match name {
        "paragraph" => Some("p"),
        "content" => Some(match el.attribute("revised") {
            Some("delete") => "del",
            Some("insert") => "ins",
            _ => "span",
        }),
        "table" | "thead" | "tbody" | "tfoot" | "tr" | "th" | "td" | "col" | "colgroup" => {
            Some(name)
        }
        "caption" => Some(match el.parent_element().map(|p| p.tag_name().name()) {
            Some("table") => "caption",
            Some("list") => "div",
            _ => "span",
        }),
        "list" => Some(match el.attribute("listType") {
            Some("ordered") => "ol",
            _ => "ul",
        }),
        "item" => Some("li"),
        "br" => Some("br"),
        "sub" => Some("sub"),
        "sup" => Some("sup"),
        "footnote" => Some("small"),
        "footnoteRef" => {
            if let Some(target) = el.attribute("IDREF").and_then(fragment_id) {
                let _ = write!(out, "<sup><a href=\"#{ID_PREFIX}");
                escape_into(target, out);
                out.push_str("\">*</a></sup>");
            }
            return;
        }
        "linkHtml" => match el.attribute("href").and_then(|h| h.strip_prefix('#')) {
            Some(target) if fragment_id(target).is_some() => Some("a"),
            _ => Some("span"),
        },
        // Unknown elements: their text only.
        _ => None,
    };
    let Some(tag) = tag else {
        convert_children(el, out, depth);
        return;
    };
    out.push('<');
    out.push_str(tag);
    let mut classes: Vec<&str> = style_classes(el.attribute("styleCode")).collect();
    match name {
        "caption" if tag != "caption" => classes.push("caption"),
        "footnote" => classes.push("footnote"),
        "linkHtml" if tag == "span" => classes.push("link"),
        _ => {}
    }
    if !classes.is_empty() {
        out.push_str(" class=\"");
        out.push_str(&classes.join(" "));
        out.push('"');
    }
    if let Some(id) = el.attribute("ID").and_then(fragment_id) {
        // The sanitiser prefixes it (ID_PREFIX).
        attribute(out, "id", id);
    }
    if tag == "a"
        && let Some(target) = el.attribute("href").and_then(|h| h.strip_prefix('#'))
    {
        attribute(out, "href", &format!("#{ID_PREFIX}{target}"));
    }
    for span in ["colspan", "rowspan", "span"] {
        if let Some(n) = el.attribute(span).filter(|v| is_small_number(v)) {
            attribute(out, span, n);
        }
    }
    out.push('>');
    if tag == "br" || tag == "col" {
        return;
    }
    convert_children(el, out, depth);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// `styleCode` (space-separated) → the few fixed classes that can show it.
fn style_classes(style: Option<&str>) -> impl Iterator<Item = &'static str> + '_ {
    style
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|code| match code.to_ascii_lowercase().as_str() {
            "bold" => Some("bold"),
            "italics" => Some("italics"),
            "underline" => Some("underline"),
            "emphasis" => Some("emphasis"),
            _ => None,
        })
}

/// An id that can stand in an `id` attribute and a `#fragment` as is: letters, digits, `-_.:`.
fn fragment_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then_some(id)
}

fn is_small_number(v: &str) -> bool {
    !v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit())
}

fn attribute(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(value, out);
    out.push('"');
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// Cleans HTML with the viewer's allow-list (the second line of defence; public so the window's
/// tests and others can hold any HTML to the same rules).
pub fn sanitise(html: &str) -> String {
    let tags: HashSet<&str> = [
        "p", "span", "del", "ins", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
        "col", "colgroup", "ul", "ol", "li", "br", "sub", "sup", "small", "div", "a",
    ]
    .into();
    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        ("td", ["colspan", "rowspan"].into()),
        ("th", ["colspan", "rowspan"].into()),
        ("col", ["span"].into()),
        ("colgroup", ["span"].into()),
        ("a", ["href"].into()),
    ]
    .into();
    let classes: HashSet<&str> = CLASSES.iter().copied().collect();
    let allowed_classes: HashMap<&str, HashSet<&str>> =
        tags.iter().map(|t| (*t, classes.clone())).collect();
    ammonia::Builder::empty()
        .tags(tags)
        .tag_attributes(tag_attributes)
        .generic_attributes(["id"].into())
        .allowed_classes(allowed_classes)
        .id_prefix(Some(ID_PREFIX))
        // No scheme is allowed: every absolute URL (http:, javascript:, data:, file:…) is dropped.
        .url_schemes(HashSet::new())
        // Of relative URLs only a same-document fragment stays.
        .url_relative(ammonia::UrlRelative::Custom(Box::new(same_document)))
        .link_rel(None)
        .strip_comments(true)
        .clean(html)
        .to_string()
}

/// A relative URL that stays: a `#fragment` within the narrative, nothing else.
fn same_document(url: &str) -> Option<Cow<'_, str>> {
    url.strip_prefix('#')
        .and_then(fragment_id)
        .map(|_| Cow::Borrowed(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <component><structuredBody>{body}</structuredBody></component>
</ClinicalDocument>"#
        )
    }

    fn section(title: &str, text: &str) -> String {
        format!(
            "<component><section><title>{title}</title><text>{text}</text></section></component>"
        )
    }

    fn one(text: &str) -> String {
        let bytes = doc(&section("S", text));
        let mut found = sections(bytes.as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        found.remove(0).html
    }

    /// Nothing that can run, style, fetch or navigate away is in `html`'s markup (its text,
    /// escaped, may say anything).
    fn assert_inert(html: &str) {
        let lower: String = html
            .to_ascii_lowercase()
            .split('<')
            .skip(1)
            .map(|tag| format!("<{}>", tag.split('>').next().unwrap_or_default()))
            .collect();
        for bad in [
            "<script",
            "<style",
            "<img",
            "<iframe",
            "<object",
            "<embed",
            "<svg",
            "<link",
            "<meta",
            "<base",
            "<form",
            "style=",
            "onerror",
            "onclick",
            "onload",
            "javascript:",
            "http:",
            "https:",
            "data:",
            "file:",
            "src=",
        ] {
            assert!(!lower.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn the_narrative_vocabulary_becomes_html() {
        let html = one(
            r#"<paragraph styleCode="Bold Rrule xBogus">Hello <content styleCode="Italics" ID="c1">world</content><br/>next</paragraph>
               <list listType="ordered"><caption>Steps</caption><item>one</item><item>two<sub>2</sub><sup>3</sup></item></list>
               <list><item>bullet</item></list>
               <table border="1" width="100%"><caption>Meds</caption><colgroup span="2"><col/></colgroup>
                 <thead><tr><th colspan="2">Name</th></tr></thead>
                 <tbody><tr><td rowspan="x">a</td><td>b<footnoteRef IDREF="f1"/></td></tr></tbody></table>
               <footnote ID="f1">a note</footnote>
               <content revised="delete">old</content>"#,
        );
        assert!(
            html.contains(
                r#"<p class="bold">Hello <span class="italics" id="n-c1">world</span><br>next</p>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"<ol><div class="caption">Steps</div><li>one</li><li>two<sub>2</sub><sup>3</sup></li></ol>"#), "{html}");
        assert!(html.contains("<ul><li>bullet</li></ul>"), "{html}");
        assert!(
            html.contains("<table><caption>Meds</caption><colgroup span=\"2\"><col></colgroup>"),
            "{html}"
        );
        assert!(html.contains(r#"<th colspan="2">Name</th>"#), "{html}");
        assert!(
            html.contains("<td>a</td>"),
            "a non-numeric rowspan is dropped: {html}"
        );
        assert!(
            html.contains(r##"<sup><a href="#n-f1">*</a></sup>"##),
            "{html}"
        );
        assert!(
            html.contains(r#"<small class="footnote" id="n-f1">a note</small>"#),
            "{html}"
        );
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(
            !html.contains("border") && !html.contains("width"),
            "{html}"
        );
    }

    #[test]
    fn sections_titles_nesting_and_encodings() {
        let body = format!(
            "{}<component><section><code code=\"10160-0\" displayName=\"History of medication use\"/>\
             <text>x</text><component><section><title> Inner\n title </title></section></component></section></component>",
            section("Problems &amp; concerns", "<paragraph>p</paragraph>")
        );
        let xml = doc(&body);
        let found = sections(xml.as_bytes()).unwrap();
        let titles: Vec<(&str, u32)> = found.iter().map(|s| (s.title.as_str(), s.depth)).collect();
        assert_eq!(
            titles,
            [
                ("Problems & concerns", 0),
                ("History of medication use", 0),
                ("Inner title", 1)
            ]
        );
        assert_eq!(found[2].html, "");
        // UTF-16 with a BOM reads the same.
        let utf16: Vec<u8> = format!("\u{feff}{}", xml.replace("UTF-8", "UTF-16"))
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(sections(&utf16).unwrap(), found);
    }

    #[test]
    fn refuses_dtds_and_other_documents() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><ClinicalDocument xmlns="urn:hl7-org:v3">&b;</ClinicalDocument>"#;
        assert!(matches!(
            sections(bomb.as_bytes()),
            Err(Error::Xml {
                problem: crate::XmlProblem::Dtd,
                ..
            })
        ));
        assert_eq!(
            sections(b"<html><body/></html>"),
            Err(Error::NotClinicalDocument)
        );
        assert!(matches!(
            sections(b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><component>"),
            Err(Error::Xml { .. })
        ));
    }

    #[test]
    fn hostile_markup_in_the_narrative_comes_out_inert() {
        // Elements of another namespace (XHTML smuggled into the narrative) and of HL7's own with
        // HTML names: scripts and styles vanish with their content, others keep their text only.
        let html = one(
            r##"<paragraph>before<script>window.__xss=1</script><h:script xmlns:h="http://www.w3.org/1999/xhtml">window.__xss=2</h:script>after</paragraph>
               <paragraph style="background:url(http://evil.example/x)" onclick="window.__xss=3" styleCode="Bold">styled</paragraph>
               <style>p { color: red }</style>
               <img src="http://evil.example/pixel.png" onerror="window.__xss=4"/>
               <h:img xmlns:h="http://www.w3.org/1999/xhtml" src="https://evil.example/p.png"/>
               <renderMultiMedia referencedObject="MM1"><caption>X-ray</caption></renderMultiMedia>
               <linkHtml href="javascript:window.__xss=5">click me</linkHtml>
               <linkHtml href="https://evil.example/phish">phish</linkHtml>
               <linkHtml href="#c1">see above</linkHtml>
               <linkHtml href="#&quot;&gt;&lt;script&gt;">odd</linkHtml>
               <content ID="x&quot; onmouseover=&quot;alert(1)">id</content>
               <paragraph>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</paragraph>"##,
        );
        assert_inert(&html);
        assert!(html.contains("<p>beforeafter</p>"), "{html}");
        assert!(html.contains(r#"<p class="bold">styled</p>"#), "{html}");
        assert!(!html.contains("X-ray") && !html.contains("color"), "{html}");
        assert!(
            html.contains(r#"<span class="link">click me</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="link">phish</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r##"<a href="#n-c1">see above</a>"##),
            "{html}"
        );
        assert!(html.contains(r#"<span class="link">odd</span>"#), "{html}");
        assert!(
            html.contains("<span>id</span>"),
            "a malformed id is dropped: {html}"
        );
        // Escaped markup is text, shown as text.
        assert!(
            html.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;"
            ),
            "{html}"
        );
    }

    #[test]
    fn nested_tables_stay_tables_and_deep_nesting_is_bounded() {
        let html = one(
            "<table><tbody><tr><td><table><tbody><tr><td>inner<script>x()</script></td></tr></tbody></table></td></tr></tbody></table>",
        );
        assert_eq!(
            html,
            "<table><tbody><tr><td><table><tbody><tr><td>inner</td></tr></tbody></table></td></tr></tbody></table>"
        );
        let deep = format!(
            "{}deep{}",
            "<content>".repeat(500),
            "</content>".repeat(500)
        );
        let html = one(&deep);
        assert!(html.contains("deep"));
        assert!(html.matches("<span>").count() <= MAX_DEPTH);
    }

    #[test]
    fn the_sanitiser_holds_any_html_to_the_rules() {
        let html = sanitise(
            r##"<p style="color:red" onmouseover="x()" class="bold evil" id="main">a</p>
               <script>alert(1)</script><style>*{}</style><img src="http://evil.example/x" onerror="x()">
               <a href="javascript:alert(1)">j</a><a href="http://evil.example/">h</a><a href="//evil.example/">s</a>
               <a href="page.html">r</a><a href="#top">f</a>
               <iframe src="https://evil.example"></iframe><svg onload="x()"><circle/></svg>
               <table background="http://evil.example/bg.png"><tr><td style="x">c</td></tr></table>
               <form action="https://evil.example"><input name=q></form><!-- comment -->
               <base href="https://evil.example/"><link rel=stylesheet href="https://evil.example/s.css">
               <meta http-equiv="refresh" content="0;url=https://evil.example">"##,
        );
        assert_inert(&html);
        assert!(
            html.contains(r#"<p class="bold" id="n-main">a</p>"#),
            "{html}"
        );
        assert!(html.contains("<a>j</a><a>h</a><a>s</a>"), "{html}");
        assert!(
            html.contains("<a>r</a>"),
            "a relative page is dropped: {html}"
        );
        assert!(html.contains(r##"<a href="#top">f</a>"##), "{html}");
        assert!(html.contains("<td>c</td>"), "{html}");
        assert!(
            !html.contains("comment") && !html.contains("alert"),
            "{html}"
        );
        assert!(
            !html.contains("<input") && !html.contains("<a href=\"page"),
            "{html}"
        );
    }
}
