// A document in the record, kept as received, shown by its kind (the core decides it, from the
// content type and the bytes): a C-CDA document's narrative or an HTML note, sanitised by the
// core, only inside a sandboxed frame (no scripts, an opaque origin, a policy that allows no
// fetch and no style but ours); plain text as text; a PDF drawn by pdf.js page by page on a
// canvas; a PNG or JPEG as a `blob:` URL in an <img>; beside the entries that were made from it.
// Nothing from the document is ever parsed as markup in the window's own DOM: the frame gets it
// as `srcdoc`. Any document's original can be saved; one OwnRecord does not display only that.
import { api } from "../api";
import type { DocumentKind } from "../bindings/DocumentKind";
import type { DocumentOf } from "../bindings/DocumentOf";
import type { DocumentView } from "../bindings/DocumentView";
import type { ListItem } from "../bindings/ListItem";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import type { PdfPages } from "../pdf";
import { chooseButton } from "./export";

/** The frame's own stylesheet (fixed; its SHA-256 is allowed by the window's CSP too). */
export const FRAME_STYLE =
  "body{font:93.75%/1.45 system-ui,sans-serif;color:#17181c;background:#fff;margin:12px}" +
  "h2{font-size:1.15em;margin:1.2em 0 .4em}h3{font-size:1em;margin:1em 0 .3em}" +
  "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #c9ccd4;padding:3px 6px;text-align:left;vertical-align:top}" +
  "th{background:#eef1f6}caption,.caption{font-weight:600;text-align:left}" +
  ".bold{font-weight:600}.italics,.emphasis{font-style:italic}.underline{text-decoration:underline}" +
  ".footnote{display:block;color:#5c606b}.link{text-decoration:underline dotted}.empty{color:#5c606b}" +
  "h1{font-size:1.3em;margin:.8em 0 .4em}pre{white-space:pre-wrap}blockquote{margin:.5em 0 .5em 1em;padding-left:.8em;border-left:3px solid #c9ccd4}";

/** The policy inside the frame: nothing may be fetched; only inline style (ours) applies. */
export const FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'";

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The frame's whole document: our policy and stylesheet, then each section's title (escaped
 * text) and its HTML (already sanitised by the core: only the narrative's own structure); for an
 * HTML note, its one section's HTML (sanitised by the core to an allow-list of structure).
 */
export function frameDocument(doc: DocumentView): string {
  const note = doc.kind === "html" ? doc.sections.map((s) => s.html).join("").trim() : null;
  const sections = doc.sections
    .map((s) => {
      const heading = s.depth === 0 ? "h2" : "h3";
      const body = s.html.trim() ? s.html : `<p class="empty">This section has no text.</p>`;
      return `<section><${heading}>${escapeText(s.title)}</${heading}>${body}</section>`;
    })
    .join("");
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeText(doc.title)}</title>` +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">` +
    `<style>${FRAME_STYLE}</style></head><body>${note !== null ? note || `<p class="empty">This note has no text.</p>` : sections || `<p class="empty">This document has no sections.</p>`}</body></html>`
  );
}

/** The sandboxed frame showing `doc`'s narrative (scripts, forms, popups, navigation: none). */
export function documentFrame(doc: DocumentView): HTMLIFrameElement {
  const frame = h("iframe", { id: "document-frame", class: "document-frame", title: `The text of ${doc.title}`, sandbox: "", referrerpolicy: "no-referrer" });
  frame.srcdoc = frameDocument(doc);
  return frame;
}

function kindOfFile(contentType: string | null): string {
  if (!contentType) return "a file";
  if (contentType.includes("pdf")) return "a PDF file";
  if (contentType.startsWith("image/")) return "an image";
  return `a file (${contentType})`;
}

function suggestedName(doc: DocumentView): string {
  const base = doc.title.replace(/[^\p{L}\p{N} ._-]+/gu, "").trim().slice(0, 60) || "document";
  const ext: Record<DocumentKind, string | null> = { narrative: "xml", html: "html", text: "txt", pdf: "pdf", png: "png", jpeg: "jpg", file: null };
  const t = doc.content_type ?? "";
  const other = t.includes("pdf") ? "pdf" : t.includes("xml") ? "xml" : t.startsWith("image/") ? t.slice(6).split(/[+;]/)[0] : "bin";
  return `${base}.${ext[doc.kind] ?? other}`;
}

/** Whether a DiagnosticReport (its raw JSON) carries a presented form: a report to read. */
export function hasPresentedForm(json: string): boolean {
  try {
    const form = (JSON.parse(json) as { presentedForm?: unknown }).presentedForm;
    return Array.isArray(form) && form.length > 0;
  } catch {
    return false;
  }
}

/** The zoom steps of the PDF viewer (1 = the page's own size, 72 dpi); it opens fitting the width. */
export const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

/** The PDF open now: one at a time, the one before is closed (its pages freed in pdf.js's worker). */
let openNow: PdfPages | null = null;

/** Loads pdf.js (its own chunk, only when a PDF is opened) and opens `bytes` with it. */
async function openPdf(bytes: ArrayBuffer): Promise<PdfPages> {
  const pdf = await import("../pdf");
  openNow?.close();
  openNow = null;
  openNow = await pdf.openPdf(bytes);
  return openNow;
}

/**
 * A PDF's viewer: one page at a time on a canvas, fitting the width at first; previous / next,
 * zoom out / in and "Fit width" buttons (and on the page itself the arrow, Page Up/Down,
 * Home/End, + and - keys); the page's text below, as text.
 */
export function pdfViewer(pdf: PdfPages, title: string): HTMLElement {
  let page = 1;
  /** The scale drawn, or `null` while it fits the width. */
  let zoom: number | null = null;
  let scale = 1;
  const canvas = h("canvas", { id: "pdf-canvas", class: "pdf-canvas", role: "img" });
  const sheet = h("div", { class: "pdf-sheet", id: "pdf-sheet", tabindex: "0", "aria-label": `${title}: the arrow keys turn the pages, + and - zoom` }, canvas);
  const prev = h("button", { id: "pdf-prev" }, "‹ Previous page");
  const next = h("button", { id: "pdf-next" }, "Next page ›");
  const where = h("span", { id: "pdf-page", "aria-live": "polite" });
  const out = h("button", { id: "pdf-zoom-out", "aria-label": "Zoom out" }, "−");
  const inn = h("button", { id: "pdf-zoom-in", "aria-label": "Zoom in" }, "+");
  const fit = h("button", { id: "pdf-fit" }, "Fit width");
  const size = h("span", { id: "pdf-zoom", "aria-live": "polite" });
  const text = h("pre", { class: "document-text", id: "pdf-text" });
  const problem = h("div", { id: "pdf-problem", "aria-live": "polite" });
  const viewer = h(
    "div",
    { class: "pdf-viewer", id: "pdf-viewer", role: "group", "aria-label": `PDF: ${title}` },
    h("div", { class: "row pdf-controls", role: "group", "aria-label": "Pages and zoom" }, prev, where, next, h("span", { class: "pdf-zoom" }, out, size, inn, fit)),
    problem,
    sheet,
    h("details", { class: "pdf-text" }, h("summary", {}, "Text of this page"), text),
  );
  let shown = 0;
  const show = async () => {
    const at = page;
    const mine = ++shown;
    where.textContent = `Page ${at} of ${pdf.count}`;
    canvas.setAttribute("aria-label", `Page ${at} of ${pdf.count} of ${title}`);
    // aria-disabled, not disabled: a button that reaches the end keeps the keyboard's focus.
    prev.setAttribute("aria-disabled", String(at <= 1));
    next.setAttribute("aria-disabled", String(at >= pdf.count));
    try {
      if (zoom === null) {
        // The sheet's width less its padding; before it is laid out, the page's own size.
        const room = sheet.clientWidth - 24;
        const { width } = await pdf.size(at);
        scale = room > 0 && width > 0 ? Math.min(Math.max(room / width, ZOOMS[0]), ZOOMS[ZOOMS.length - 1]) : 1;
      } else {
        scale = zoom;
      }
      size.textContent = `${Math.round(scale * 100)}%`;
      out.setAttribute("aria-disabled", String(scale <= ZOOMS[0]));
      inn.setAttribute("aria-disabled", String(scale >= ZOOMS[ZOOMS.length - 1]));
      fit.setAttribute("aria-pressed", String(zoom === null));
      await pdf.render(at, scale, canvas);
      const words = await pdf.text(at);
      if (mine !== shown) return;
      text.textContent = words || "This page has no text (it may be a scan).";
      clear(problem);
      viewer.dataset.page = String(at);
      viewer.dataset.scale = String(scale);
    } catch (e) {
      if (mine !== shown) return;
      clear(problem);
      problem.appendChild(h("p", { class: "error" }, `Page ${at} could not be drawn. Save the original to open it with another program.`));
      console.warn("pdf.js", e);
    }
  };
  const turn = (to: number) => {
    const clamped = Math.min(Math.max(to, 1), pdf.count);
    if (clamped === page) return;
    page = clamped;
    void show();
  };
  /** The next zoom step above (`+1`) or below (`-1`) the scale drawn now. */
  const step = (direction: 1 | -1) => {
    const to = direction > 0 ? ZOOMS.find((z) => z > scale * 1.001) : [...ZOOMS].reverse().find((z) => z < scale * 0.999);
    if (to === undefined) return;
    zoom = to;
    void show();
  };
  prev.addEventListener("click", () => turn(page - 1));
  next.addEventListener("click", () => turn(page + 1));
  out.addEventListener("click", () => step(-1));
  inn.addEventListener("click", () => step(1));
  fit.addEventListener("click", () => {
    zoom = null;
    void show();
  });
  sheet.addEventListener("keydown", (e) => {
    const actions: Record<string, () => void> = {
      ArrowLeft: () => turn(page - 1),
      PageUp: () => turn(page - 1),
      ArrowRight: () => turn(page + 1),
      PageDown: () => turn(page + 1),
      Home: () => turn(1),
      End: () => turn(pdf.count),
      "+": () => step(1),
      "=": () => step(1),
      "-": () => step(-1),
    };
    const action = actions[e.key];
    if (action && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      action();
    }
  });
  // Drawn once the viewer is in the page (so it can fit its width).
  requestAnimationFrame(() => void show());
  return viewer;
}

/** An image's original as a `blob:` URL in an <img> (the window's CSP allows `img-src blob:`). */
function imageOf(doc: DocumentView, bytes: ArrayBuffer): HTMLImageElement {
  const url = URL.createObjectURL(new Blob([bytes], { type: doc.kind === "png" ? "image/png" : "image/jpeg" }));
  const img = h("img", { id: "document-image", class: "document-image", src: url, alt: doc.title || "An image in the record" });
  // Once decoded, the image stays shown; the URL is not needed any more.
  img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
  img.addEventListener("error", () => URL.revokeObjectURL(url), { once: true });
  return img;
}

/** What the document says, by its kind; `null` for a file OwnRecord does not display. */
async function contentOf(person: number, id: string, of: DocumentOf, doc: DocumentView): Promise<HTMLElement | null> {
  switch (doc.kind) {
    case "narrative":
    case "html":
      return documentFrame(doc);
    case "text":
      return h("pre", { class: "document-text", id: "document-text", tabindex: "0", "aria-label": doc.title }, doc.text ?? "");
    case "pdf":
    case "png":
    case "jpeg": {
      const box = h("div", { class: "document-render", id: "document-render" });
      try {
        const bytes = await api.documentOriginal(person, id, of);
        if (doc.kind === "pdf") {
          try {
            box.appendChild(pdfViewer(await openPdf(bytes), doc.title));
          } catch (e) {
            console.warn("pdf.js", e);
            box.appendChild(h("p", { class: "error", id: "pdf-problem" }, "This PDF could not be shown. Save the original to open it with another program."));
          }
        } else {
          box.appendChild(imageOf(doc, bytes));
        }
      } catch (e) {
        showError(box, e);
      }
      return box;
    }
    case "file":
      return null;
  }
}

/**
 * The document `id` of `person` (a DocumentReference, or a DiagnosticReport's presented form):
 * what it says (by its kind), a way to save its original, and the entries made from it (a
 * report's results); `open` shows one of them in detail.
 */
export async function documentPanel(person: number, id: string, open: (item: ListItem) => void, of: DocumentOf = "DocumentReference"): Promise<HTMLElement> {
  const panel = h("section", { class: "document", id: "document" });
  let doc: DocumentView;
  try {
    doc = await api.documentView(person, id, of);
  } catch (e) {
    showError(panel, e);
    return panel;
  }
  const about = [doc.date?.slice(0, 10), doc.author && `by ${doc.author}`, doc.custodian && `from ${doc.custodian}`].filter(Boolean).join(" · ");
  append(panel, h("h2", { id: "document-title" }, doc.title), about ? h("p", { class: "muted", id: "document-about" }, about) : null);
  const body = h("div", { class: "document-body" });
  const content = await contentOf(person, id, of, doc);
  const path = h("input", { type: "text", id: "document-path", placeholder: `/home/me/Documents/${suggestedName(doc)}`, "aria-label": "Save as" });
  const save = h("button", { id: "save-document", class: content ? "" : "primary" }, "Save the original");
  const result = h("div", { id: "save-document-result", "aria-live": "polite" });
  save.addEventListener("click", async () => {
    result.textContent = "";
    try {
      const written = await api.saveDocument(person, id, path.value, of);
      result.appendChild(h("p", { class: "ok", id: "document-saved" }, `Saved to ${written.path}. It is a plain file: keep it safe.`));
    } catch (e) {
      showError(result, e);
    }
  });
  const saving = [h("div", { class: "row" }, h("label", {}, "Save as ", path), chooseButton(path, suggestedName(doc), "choose-document-path")), save, result];
  // What it says with a way to save it, beside (or, in a narrow window, above) its entries.
  body.appendChild(
    content
      ? h("div", { class: "document-main" }, content, h("div", { class: "document-save", id: "document-save" }, ...saving))
      : h(
          "div",
          { class: "document-file", id: "document-file" },
          h("p", {}, `This document is ${kindOfFile(doc.content_type)}, which OwnRecord does not display. Save the original to open it with another program.`),
          ...saving,
        ),
  );
  const entries = h("ol", { class: "items", id: "document-entries" });
  for (const item of doc.entries) {
    const button = h(
      "button",
      { class: "item", "data-type": item.resource_type, "data-id": item.id },
      h("span", { class: "date" }, item.date ? item.date.slice(0, 10) : "—"),
      h("span", { class: "label" }, item.display),
      h("span", { class: "muted" }, item.detail ?? ""),
    );
    button.addEventListener("click", () => open(item));
    entries.appendChild(h("li", {}, button));
  }
  const made = doc.entries.length === 0 ? "No entries were made from this document." : `Made from this document: ${doc.entries.length} ${doc.entries.length === 1 ? "entry" : "entries"}`;
  body.appendChild(h("div", { class: "document-entries" }, h("h3", {}, made), entries));
  panel.appendChild(body);
  return panel;
}
