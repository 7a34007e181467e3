//! Small helpers over roxmltree for HL7 v3 elements (namespace `urn:hl7-org:v3`).

use roxmltree::Node;

pub const HL7: &str = "urn:hl7-org:v3";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Whether `node` is the HL7 element `name` (a document without a namespace is accepted too).
pub fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && matches!(node.tag_name().namespace(), None | Some(HL7))
}

/// The first child element called `name`.
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, name))
}

/// The child elements called `name`.
pub fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, name))
}

/// The element at a path of child names.
pub fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

/// A non-empty attribute.
pub fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The `xsi:type` of an element, without any prefix (`PQ`, `CD`, `IVL_PQ`…).
pub fn xsi_type<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    let t = node.attribute((XSI, "type"))?;
    Some(t.rsplit(':').next().unwrap_or(t))
}

/// The templateId roots of an element.
pub fn template_roots<'a>(node: Node<'a, '_>) -> impl Iterator<Item = &'a str> {
    children(node, "templateId").filter_map(|t| attr(t, "root"))
}

/// Whether the element carries any of these templateId roots.
pub fn has_template(node: Node<'_, '_>, roots: &[&str]) -> bool {
    template_roots(node).any(|r| roots.contains(&r))
}

/// All text under an element, with runs of white space made one space.
pub fn text(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for t in node.descendants().filter(|d| d.is_text()) {
        for word in t.text().unwrap_or_default().split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// The element's text, or None when empty.
pub fn text_of(node: Option<Node<'_, '_>>) -> Option<String> {
    node.map(text).filter(|t| !t.is_empty())
}

/// The `nullFlavor` of an element.
pub fn null_flavor<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    attr(node, "nullFlavor")
}

/// Whether `negationInd="true"`.
pub fn negated(node: Node<'_, '_>) -> bool {
    node.attribute("negationInd") == Some("true")
}
