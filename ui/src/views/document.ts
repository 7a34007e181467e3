// A document in the record (a C-CDA download, kept as received): its narrative, sanitised by the
// core, shown only inside a sandboxed frame (no scripts, an opaque origin, a policy that allows
// no fetch and no style but ours), beside the entries that were made from it. Nothing from the
// document is ever parsed as markup in the window's own DOM: the frame gets it as `srcdoc`.
// A PDF or an image is not shown: the patient can save a copy to open it elsewhere.
import { api } from "../api";
import type { DocumentView } from "../bindings/DocumentView";
import type { ListItem } from "../bindings/ListItem";
import { append, h } from "../dom";
import { showError } from "../errors";
import { chooseButton } from "./export";

/** The frame's own stylesheet (fixed; its SHA-256 is allowed by the window's CSP too). */
export const FRAME_STYLE =
  "body{font:15px/1.45 system-ui,sans-serif;color:#17181c;background:#fff;margin:12px}" +
  "h2{font-size:1.15em;margin:1.2em 0 .4em}h3{font-size:1em;margin:1em 0 .3em}" +
  "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #c9ccd4;padding:3px 6px;text-align:left;vertical-align:top}" +
  "th{background:#eef1f6}caption,.caption{font-weight:600;text-align:left}" +
  ".bold{font-weight:600}.italics,.emphasis{font-style:italic}.underline{text-decoration:underline}" +
  ".footnote{display:block;color:#5c606b}.link{text-decoration:underline dotted}.empty{color:#5c606b}";

/** The policy inside the frame: nothing may be fetched; only inline style (ours) applies. */
export const FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'";

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The frame's whole document: our policy and stylesheet, then each section's title (escaped
 * text) and its HTML (already sanitised by the core: only the narrative's own structure).
 */
export function frameDocument(doc: DocumentView): string {
  const sections = doc.sections
    .map((s) => {
      const heading = s.depth === 0 ? "h2" : "h3";
      const body = s.html.trim() ? s.html : `<p class="empty">This section has no text.</p>`;
      return `<section><${heading}>${escapeText(s.title)}</${heading}>${body}</section>`;
    })
    .join("");
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">` +
    `<style>${FRAME_STYLE}</style></head><body>${sections || `<p class="empty">This document has no sections.</p>`}</body></html>`
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
  const t = doc.content_type ?? "";
  const ext = t.includes("pdf") ? "pdf" : t.includes("xml") ? "xml" : t.startsWith("image/") ? t.slice(6).split(/[+;]/)[0] : "bin";
  return `${base}.${ext}`;
}

/**
 * The document `id` of `person`: its narrative in a sandboxed frame (or, for a PDF or an image,
 * a way to save it), and the entries made from it; `open` shows one of them in detail.
 */
export async function documentPanel(person: number, id: string, open: (item: ListItem) => void): Promise<HTMLElement> {
  const panel = h("section", { class: "document", id: "document" });
  let doc: DocumentView;
  try {
    doc = await api.documentView(person, id);
  } catch (e) {
    showError(panel, e);
    return panel;
  }
  const about = [doc.date?.slice(0, 10), doc.author && `by ${doc.author}`, doc.custodian && `from ${doc.custodian}`].filter(Boolean).join(" · ");
  append(panel, h("h2", { id: "document-title" }, doc.title), about ? h("p", { class: "muted", id: "document-about" }, about) : null);
  const body = h("div", { class: "document-body" });
  if (doc.kind === "narrative") {
    body.appendChild(documentFrame(doc));
  } else {
    const path = h("input", { type: "text", id: "document-path", placeholder: `/home/me/Documents/${suggestedName(doc)}`, "aria-label": "Save as" });
    const save = h("button", { id: "save-document", class: "primary" }, "Save a copy");
    const result = h("div", { id: "save-document-result", "aria-live": "polite" });
    save.addEventListener("click", async () => {
      result.textContent = "";
      try {
        const written = await api.saveDocument(person, id, path.value);
        result.appendChild(h("p", { class: "ok", id: "document-saved" }, `Saved to ${written.path}. It is a plain file: keep it safe.`));
      } catch (e) {
        showError(result, e);
      }
    });
    body.appendChild(
      h(
        "div",
        { class: "document-file", id: "document-file" },
        h("p", {}, `This document is ${kindOfFile(doc.content_type)}, which OwnRecord does not display. Save a copy to open it with another program.`),
        h("div", { class: "row" }, h("label", {}, "Save as ", path), chooseButton(path, suggestedName(doc), "choose-document-path")),
        save,
        result,
      ),
    );
  }
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
