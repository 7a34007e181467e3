//! The summary as (X)HTML: tables for the IPS narrative, and a whole page for the benchmark's
//! browser baseline. All text is escaped: nothing from a portal is ever markup here.

use std::fmt::Write;

use crate::export::summary::{Summary, Table};

/// Escapes text for XHTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A `<table>` (well-formed XHTML) of a summary table, or a paragraph when it is empty.
pub fn table(table: &Table) -> String {
    let mut out = String::new();
    if let Some(note) = &table.note {
        let _ = write!(out, "<p>{}</p>", escape(note));
    }
    if table.rows.is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(table.empty));
        return out;
    }
    out.push_str("<table><thead><tr>");
    for column in &table.columns {
        let _ = write!(out, "<th>{}</th>", escape(column.title));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in &row.cells {
            if cell.strong {
                let _ = write!(out, "<td><b>{}</b></td>", escape(&cell.text));
            } else {
                let _ = write!(out, "<td>{}</td>", escape(&cell.text));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A printable page with the same content as the PDF.
pub fn page(summary: &Summary) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Patient summary</title><style>\
         body{font-family:'DejaVu Sans',sans-serif;font-size:9pt;margin:18mm}\
         table{border-collapse:collapse;width:100%}thead{display:table-header-group}\
         th{text-align:left;border-bottom:1px solid #444}td{vertical-align:top;padding:1pt 3pt}\
         tr:nth-child(even){background:#f2f2f2}h2{font-size:12.5pt}</style></head><body>",
    );
    let p = &summary.patient;
    let _ = write!(out, "<h1>{}</h1><p>", escape(&p.name));
    if let Some(b) = &p.birth_date {
        let _ = write!(out, "Born {} ", escape(b));
    }
    if let Some(g) = &p.gender {
        let _ = write!(out, "· {} ", escape(g));
    }
    for (label, value) in &p.identifiers {
        let _ = write!(out, "· {}: {} ", escape(label), escape(value));
    }
    let _ = write!(
        out,
        "</p><p>{}</p>",
        escape(&crate::export::pdf::notice(&summary.generated))
    );
    for section in &summary.sections {
        let _ = write!(
            out,
            "<h2>{}</h2>{}",
            escape(section.section.title()),
            table(&section.table)
        );
    }
    let _ = write!(
        out,
        "<h2>Sources</h2>{}</body></html>",
        table(&summary.sources)
    );
    out
}
