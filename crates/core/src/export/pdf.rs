//! The PDF visit summary, drawn with printpdf: US Letter, DejaVu Sans (subset, so any Unicode in
//! names and notes prints), tables that break across pages with their headers repeated, page
//! numbers and a patient-provided-copy notice on every page. Same summary in, same bytes out.

use std::sync::OnceLock;

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, WindingOrder,
};
use sha2::{Digest, Sha256};

use crate::export::summary::{Summary, Table};

const REGULAR_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

// US Letter, in points.
const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN_X: f32 = 48.0;
const MARGIN_TOP: f32 = 50.0;
/// Room kept at the bottom for the footer.
const MARGIN_BOTTOM: f32 = 64.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;

const BODY_SIZE: f32 = 8.5;
const LINE: f32 = 10.6;
const CELL_PAD: f32 = 2.5;
/// A cell longer than this many lines is cut (with an ellipsis) so a row always fits a page.
const MAX_CELL_LINES: usize = 40;

/// The sentence every page and the HTML copy carry.
pub fn notice(generated: &str) -> String {
    format!(
        "Patient-provided copy, generated {generated} by OwnRecord from the records my providers sent me. \
         It is not a certified medical record; please check anything important with its source."
    )
}

struct Fonts {
    regular: ParsedFont,
    bold: ParsedFont,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        // Cannot panic: the fonts are bundled and every PDF test parses them.
        #[allow(clippy::expect_used)]
        let parse = |bytes: &[u8]| {
            ParsedFont::from_bytes(bytes, 0, &mut Vec::new())
                .expect("the embedded DejaVu Sans font parses")
        };
        Fonts {
            regular: parse(REGULAR_TTF),
            bold: parse(BOLD_TTF),
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

impl Fonts {
    fn font(&self, weight: Weight) -> &ParsedFont {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// The width of `text` at `size`, from the font's advance widths.
    fn width(&self, weight: Weight, text: &str, size: f32) -> f32 {
        let font = self.font(weight);
        let units = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        let advance: f32 = text
            .chars()
            .map(|c| {
                font.lookup_glyph_index(c as u32)
                    .map(|g| f32::from(font.get_horizontal_advance(g)))
                    .unwrap_or(units * 0.6)
            })
            .sum();
        advance * size / units
    }

    /// Greedy word wrap to `width`; words wider than a line are broken between characters.
    fn wrap(&self, weight: Weight, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(weight, &candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if self.width(weight, word, size) <= width {
                    line = word.to_owned();
                } else {
                    for c in word.chars() {
                        line.push(c);
                        if self.width(weight, &line, size) > width {
                            line.pop();
                            lines.push(std::mem::take(&mut line));
                            line.push(c);
                        }
                    }
                }
            }
            if !line.is_empty() || lines.is_empty() {
                lines.push(line);
            }
        }
        lines
    }
}

/// Renders the summary. Deterministic: fixed font ids, fixed dates, a content-derived file id.
pub fn render(summary: &Summary) -> Vec<u8> {
    let fonts = fonts();
    let mut doc = PdfDocument::new("Patient summary");
    let regular = FontId("F1".to_owned());
    let bold = FontId("F2".to_owned());
    for (id, font) in [(&regular, &fonts.regular), (&bold, &fonts.bold)] {
        doc.resources
            .fonts
            .map
            .insert(id.clone(), printpdf::font::PdfFont::new(font.clone()));
    }
    let generated = time::Date::parse(
        &summary.generated,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(|d| d.midnight().assume_utc().unix_timestamp())
    .unwrap_or(0);
    // Cannot panic: midnight of any `time::Date` (or 0) is a valid timestamp.
    #[allow(clippy::expect_used)]
    let generated = printpdf::date::OffsetDateTime::from_unix_timestamp(generated)
        .expect("a day after 1970 is a valid PDF date");
    let info = &mut doc.metadata.info;
    info.creation_date = generated;
    info.modification_date = generated;
    info.metadata_date = generated;
    info.creator = "OwnRecord".to_owned();
    info.producer = "OwnRecord (printpdf)".to_owned();
    info.subject = "Patient-provided health summary".to_owned();

    let mut layout = Layout {
        fonts,
        ids: [regular, bold],
        pages: Vec::new(),
        ops: Vec::new(),
        y: PAGE_HEIGHT - MARGIN_TOP,
    };
    layout.header(summary);
    for section in &summary.sections {
        layout.table(section.section.title(), &section.table);
    }
    layout.table("Sources", &summary.sources);
    let pages = layout.finish(summary);
    let bytes = doc.with_pages(pages).save(
        &PdfSaveOptions {
            subset_fonts: true,
            ..PdfSaveOptions::default()
        },
        &mut Vec::new(),
    );
    with_stable_file_id(bytes)
}

/// printpdf writes a pseudo-random `/ID` in the trailer; replace it (same length, so no offset
/// moves) with one derived from the rest of the file.
fn with_stable_file_id(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(at) = bytes.windows(4).rposition(|w| w == b"/ID[") else {
        return bytes;
    };
    let Some((head, tail)) = bytes.split_at_mut_checked(at) else {
        return bytes;
    };
    let digest = hex::encode(Sha256::digest(head));
    let mut chars = digest.bytes().cycle();
    let mut in_string = false;
    for b in tail.iter_mut().skip(4).take_while(|b| **b != b']') {
        match *b {
            b'(' => in_string = true,
            b')' => in_string = false,
            _ if in_string => *b = chars.next().unwrap_or(b'0'),
            _ => {}
        }
    }
    bytes
}

struct Layout<'f> {
    fonts: &'f Fonts,
    ids: [FontId; 2],
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// The top of the next thing to draw, in points from the page's bottom.
    y: f32,
}

const INK: (f32, f32, f32) = (0.1, 0.1, 0.12);
const MUTED: (f32, f32, f32) = (0.35, 0.35, 0.4);
const ACCENT: (f32, f32, f32) = (0.05, 0.3, 0.55);
const ALERT: (f32, f32, f32) = (0.7, 0.05, 0.05);
const SHADE: (f32, f32, f32) = (0.94, 0.95, 0.97);
const RULE: (f32, f32, f32) = (0.55, 0.58, 0.65);

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

impl Layout<'_> {
    fn font_id(&self, weight: Weight) -> FontId {
        match weight {
            Weight::Regular => self.ids[0].clone(),
            Weight::Bold => self.ids[1].clone(),
        }
    }

    /// One line of text with its baseline at `y`.
    fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        color: (f32, f32, f32),
        text: &str,
    ) {
        if text.is_empty() {
            return;
        }
        let font = self.font_id(weight);
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFillColor { col: rgb(color) },
            Op::SetFont {
                font: PdfFontHandle::External(font),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32, color: (f32, f32, f32)) {
        self.ops.push(Op::SetFillColor { col: rgb(color) });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(y),
                width: Pt(width),
                height: Pt(height),
                mode: Some(PaintMode::Fill),
                winding_order: Some(WindingOrder::NonZero),
            },
        });
    }

    fn rule(&mut self, y: f32, thickness: f32, color: (f32, f32, f32)) {
        let point = |x: f32| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        self.ops.extend([
            Op::SetOutlineColor { col: rgb(color) },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: vec![point(MARGIN_X), point(PAGE_WIDTH - MARGIN_X)],
                    is_closed: false,
                },
            },
        ]);
    }

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = PAGE_HEIGHT - MARGIN_TOP;
    }

    fn room(&self) -> f32 {
        self.y - MARGIN_BOTTOM
    }

    /// Wrapped text, breaking pages between lines.
    fn paragraph(&mut self, text: &str, size: f32, weight: Weight, color: (f32, f32, f32)) {
        let line = size * 1.25;
        for l in self.fonts.wrap(weight, text, size, CONTENT_WIDTH) {
            if self.room() < line {
                self.new_page();
            }
            self.text(MARGIN_X, self.y - size, size, weight, color, &l);
            self.y -= line;
        }
    }

    fn header(&mut self, summary: &Summary) {
        let p = &summary.patient;
        self.text(
            MARGIN_X,
            self.y - 9.0,
            9.0,
            Weight::Bold,
            ACCENT,
            "PATIENT SUMMARY",
        );
        self.y -= 14.0;
        self.paragraph(&p.name, 18.0, Weight::Bold, INK);
        let mut facts = Vec::new();
        if let Some(born) = &p.birth_date {
            facts.push(format!("Born {born}"));
        }
        if let Some(gender) = &p.gender {
            facts.push(format!("Sex {gender}"));
        }
        facts.extend(
            p.identifiers
                .iter()
                .map(|(label, value)| format!("{label}: {value}")),
        );
        self.y -= 2.0;
        self.paragraph(&facts.join("   ·   "), 9.5, Weight::Regular, INK);
        self.y -= 6.0;
        // The notice, in a tinted box.
        let lines = self.fonts.wrap(
            Weight::Regular,
            &notice(&summary.generated),
            8.5,
            CONTENT_WIDTH - 12.0,
        );
        let height = lines.len() as f32 * LINE + 8.0;
        self.fill_rect(MARGIN_X, self.y - height, CONTENT_WIDTH, height, SHADE);
        let mut y = self.y - 4.0;
        for l in lines {
            self.text(MARGIN_X + 6.0, y - 8.5, 8.5, Weight::Regular, MUTED, &l);
            y -= LINE;
        }
        self.y -= height + 6.0;
    }

    /// A section: title, note, and a table whose header row repeats on every page it spans.
    fn table(&mut self, title: &str, table: &Table) {
        let widths: Vec<f32> = {
            let total: f32 = table.columns.iter().map(|c| c.width).sum();
            table
                .columns
                .iter()
                .map(|c| c.width / total * CONTENT_WIDTH)
                .collect()
        };
        let wrap_row = |layout: &Self, cells: &[(String, Weight)]| -> Vec<Vec<String>> {
            cells
                .iter()
                .zip(&widths)
                .map(|((text, weight), width)| {
                    let mut lines =
                        layout
                            .fonts
                            .wrap(*weight, text, BODY_SIZE, width - 2.0 * CELL_PAD);
                    if lines.len() > MAX_CELL_LINES {
                        lines.truncate(MAX_CELL_LINES);
                        if let Some(last) = lines.last_mut() {
                            last.push('…');
                        }
                    }
                    lines
                })
                .collect()
        };
        let header_cells: Vec<(String, Weight)> = table
            .columns
            .iter()
            .map(|c| (c.title.to_owned(), Weight::Bold))
            .collect();
        let header = wrap_row(self, &header_cells);
        let header_height = row_height(&header);
        // Keep the title with the header row and the first row.
        let first_row_height = table
            .rows
            .first()
            .map(|row| {
                let cells: Vec<(String, Weight)> = row
                    .cells
                    .iter()
                    .map(|c| (c.text.clone(), weight_of(c.strong)))
                    .collect();
                row_height(&wrap_row(self, &cells))
            })
            .unwrap_or(LINE);
        if self.room() < 26.0 + header_height + first_row_height.min(PAGE_HEIGHT / 3.0) {
            self.new_page();
        }
        self.section_title(title, false);
        if let Some(note) = &table.note {
            self.paragraph(note, 8.0, Weight::Regular, MUTED);
            self.y -= 1.0;
        }
        if table.rows.is_empty() {
            self.paragraph(table.empty, BODY_SIZE, Weight::Regular, MUTED);
            self.y -= 8.0;
            return;
        }
        self.draw_row(&header, &widths, &[], true, None);
        self.rule(self.y + 1.0, 0.6, RULE);
        for (i, row) in table.rows.iter().enumerate() {
            let cells: Vec<(String, Weight)> = row
                .cells
                .iter()
                .map(|c| (c.text.clone(), weight_of(c.strong)))
                .collect();
            let strong: Vec<bool> = row.cells.iter().map(|c| c.strong).collect();
            let lines = wrap_row(self, &cells);
            let height = row_height(&lines);
            if self.room() < height {
                self.new_page();
                self.section_title(title, true);
                self.draw_row(&header, &widths, &[], true, None);
                self.rule(self.y + 1.0, 0.6, RULE);
            }
            let shade = (i % 2 == 1).then_some(SHADE);
            self.draw_row(&lines, &widths, &strong, false, shade);
        }
        self.y -= 10.0;
    }

    fn section_title(&mut self, title: &str, continued: bool) {
        let text = if continued {
            format!("{title} (continued)")
        } else {
            title.to_owned()
        };
        self.text(MARGIN_X, self.y - 12.5, 12.5, Weight::Bold, ACCENT, &text);
        self.y -= 17.0;
    }

    fn draw_row(
        &mut self,
        cells: &[Vec<String>],
        widths: &[f32],
        strong: &[bool],
        header: bool,
        shade: Option<(f32, f32, f32)>,
    ) {
        let height = row_height(cells);
        if let Some(color) = shade {
            self.fill_rect(MARGIN_X, self.y - height, CONTENT_WIDTH, height, color);
        }
        let mut x = MARGIN_X;
        for (i, (lines, width)) in cells.iter().zip(widths).enumerate() {
            let is_strong = strong.get(i).copied().unwrap_or(false);
            // A strong first cell names an active item; a strong later cell is a value to notice.
            let (weight, color) = if header {
                (Weight::Bold, INK)
            } else if is_strong && i > 0 {
                (Weight::Bold, ALERT)
            } else if is_strong {
                (Weight::Bold, INK)
            } else {
                (Weight::Regular, INK)
            };
            let mut y = self.y - CELL_PAD;
            for line in lines {
                self.text(x + CELL_PAD, y - BODY_SIZE, BODY_SIZE, weight, color, line);
                y -= LINE;
            }
            x += width;
        }
        self.y -= height;
    }

    /// Adds the footer (notice, patient, page i of n) to every page and returns them.
    fn finish(mut self, summary: &Summary) -> Vec<PdfPage> {
        self.new_page();
        let total = self.pages.len();
        let pages = std::mem::take(&mut self.pages);
        let left = format!(
            "{} · born {} · patient-provided copy",
            summary.patient.name,
            summary.patient.birth_date.as_deref().unwrap_or("—")
        );
        pages
            .into_iter()
            .enumerate()
            .map(|(i, ops)| {
                self.ops = ops;
                self.rule(MARGIN_BOTTOM - 16.0, 0.4, RULE);
                let left_lines = self
                    .fonts
                    .wrap(Weight::Regular, &left, 7.5, CONTENT_WIDTH - 90.0);
                self.text(
                    MARGIN_X,
                    MARGIN_BOTTOM - 27.0,
                    7.5,
                    Weight::Regular,
                    MUTED,
                    left_lines.first().map_or("", String::as_str),
                );
                self.text(
                    MARGIN_X,
                    MARGIN_BOTTOM - 37.0,
                    7.5,
                    Weight::Regular,
                    MUTED,
                    &format!("Generated {} by OwnRecord", summary.generated),
                );
                let number = format!("Page {} of {}", i + 1, total);
                let width = self.fonts.width(Weight::Regular, &number, 7.5);
                self.text(
                    PAGE_WIDTH - MARGIN_X - width,
                    MARGIN_BOTTOM - 27.0,
                    7.5,
                    Weight::Regular,
                    MUTED,
                    &number,
                );
                PdfPage::new(
                    printpdf::Mm::from(Pt(PAGE_WIDTH)),
                    printpdf::Mm::from(Pt(PAGE_HEIGHT)),
                    std::mem::take(&mut self.ops),
                )
            })
            .collect()
    }
}

fn weight_of(strong: bool) -> Weight {
    if strong {
        Weight::Bold
    } else {
        Weight::Regular
    }
}

fn row_height(cells: &[Vec<String>]) -> f32 {
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    lines as f32 * LINE + 2.0 * CELL_PAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let fonts = fonts();
        let text = "Prediabetes with a very long note: Überprüfung der Glukosewerte αβγ and 漢字 pneumonoultramicroscopicsilicovolcanoconiosis";
        let lines = fonts.wrap(Weight::Regular, text, 9.0, 80.0);
        assert!(lines.len() > 3);
        for line in &lines {
            assert!(fonts.width(Weight::Regular, line, 9.0) <= 80.0, "{line}");
        }
        let rejoined: String = lines.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(rejoined, original);
    }
}
