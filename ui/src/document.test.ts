// A document in the window (mocked IPC): its narrative or an HTML note only ever inside a
// sandboxed frame, set through srcdoc (never innerHTML in the window's DOM); plain text as text;
// a PDF page by page on a canvas (pdf.js stood in for: it needs a real canvas), with its buttons
// and keys; an image as a blob: URL; its entries open their details; a file OwnRecord does not
// display is offered to save; files dropped on the window go through the import.
import { clearMocks, mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import conf from "../../tauri.conf.json";
import type { DocumentView } from "./bindings/DocumentView";
import type { Person } from "./bindings/Person";
import type { PdfPages } from "./pdf";
import { FRAME_CSP, FRAME_STYLE, ZOOMS, documentPanel, frameDocument, hasPresentedForm } from "./views/document";
import { connectionsView, importLines } from "./views/connections";
import { recordView } from "./views/record";

// pdf.js itself needs a real canvas (the WebDriver test draws a real PDF); here a stand-in.
const pdfjs = vi.hoisted(() => ({ openPdf: vi.fn() }));
vi.mock("./pdf", () => pdfjs);

const tick = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const ann: Person = { id: 7, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [], resources: 12 };
const evil = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

function ccd(overrides: Partial<DocumentView> = {}): DocumentView {
  return {
    id: "doc1",
    title: `Summary ${evil}`,
    date: "2024-05-06T10:00:00-05:00",
    author: "Dr. Ray",
    custodian: "Good Health Clinic",
    content_type: "text/xml",
    kind: "narrative",
    bytes: 1234,
    sections: [
      { title: "ALLERGIES", html: "<table><tbody><tr><td>Penicillin</td></tr></tbody></table>", depth: 0 },
      // Even if the core let markup through, it would only reach the sandboxed frame.
      { title: `Notes ${evil}`, html: `<p class="bold">Feeling well</p>${evil}`, depth: 1 },
      { title: "Empty", html: "", depth: 0 },
    ],
    text: null,
    entries: [
      { resource_type: "AllergyIntolerance", id: "a1", date: "2024-05-06", display: "Penicillin", detail: "active", code: null, source: "Summary.xml" },
      { resource_type: "Observation", id: "o1", date: "2024-05-06", display: "Glucose", detail: "95 mg/dL", code: "2339-0", source: "Summary.xml" },
    ],
    ...overrides,
  };
}

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
  document.body.innerHTML = "";
});

describe("document view", () => {
  it("shows the narrative only in a sandboxed frame given srcdoc, never through innerHTML", async () => {
    const innerHTML = vi.spyOn(Element.prototype, "innerHTML", "set");
    mockIPC((cmd, args) => {
      if (cmd === "document_view") {
        expect(args).toEqual({ person: 7, id: "doc1", of: "DocumentReference" });
        return ccd();
      }
    });
    const panel = await documentPanel(7, "doc1", () => {});
    document.body.appendChild(panel);
    const frame = panel.querySelector<HTMLIFrameElement>("iframe#document-frame")!;
    expect(frame.getAttribute("sandbox")).toBe("");
    expect(frame.hasAttribute("src")).toBe(false);
    expect(frame.childNodes.length).toBe(0);
    const srcdoc = frame.srcdoc;
    expect(srcdoc).toContain(`<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">`);
    expect(FRAME_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(srcdoc.indexOf("Content-Security-Policy")).toBeLessThan(srcdoc.indexOf("<style>"));
    expect(srcdoc).toContain(`<style>${FRAME_STYLE}</style>`);
    expect(srcdoc).toContain("<h2>ALLERGIES</h2><table>");
    // Titles are text: escaped in the frame's document.
    expect(srcdoc).toContain("<h3>Notes &#60;img src=x onerror=&#34;window.__xss=1&#34;&#62;&#60;script&#62;");
    expect(srcdoc).toContain(`<h2>Empty</h2><p class="empty">This section has no text.</p>`);
    // The window's own DOM holds the title as text and no markup from the document.
    expect(panel.querySelector("#document-title")!.textContent).toBe(`Summary ${evil}`);
    expect(panel.querySelector("#document-about")!.textContent).toBe("2024-05-06 · by Dr. Ray · from Good Health Clinic");
    expect(document.querySelectorAll("img, script").length).toBe(0);
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    expect(innerHTML).not.toHaveBeenCalled();
    expect(panel.querySelector("#document-entries")!.textContent).toContain("Penicillin");
  });

  it("allows the frame's fixed stylesheet by its hash in the window's CSP", async () => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(FRAME_STYLE)));
    const hash = `'sha256-${btoa(String.fromCharCode(...digest))}'`;
    const styleSrc = (conf.app.security.csp as string).split(";").map((d) => d.trim()).find((d) => d.startsWith("style-src"))!;
    expect(styleSrc.split(" ")).toContain(hash);
    expect(styleSrc).not.toContain("unsafe-inline");
  });

  it("keeps the window's CSP strict: images may be blob: URLs, scripts and workers only the app's own", () => {
    const directives = new Map(
      (conf.app.security.csp as string).split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("img-src")).toEqual(["'self'", "data:", "blob:"]);
    expect(directives.get("connect-src")).toEqual(["ipc:", "http://ipc.localhost"]);
    expect(directives.get("object-src")).toEqual(["'none'"]);
    // pdf.js's worker is a module from 'self' (script-src covers it): no worker-src, no blob: worker.
    expect(directives.has("worker-src")).toBe(false);
    expect(directives.has("child-src")).toBe(false);
    expect(conf.app.security.csp).not.toMatch(/unsafe-eval|wasm-unsafe-eval|https?:\/\/(?!ipc\.localhost)/);
  });

  it("opens the document from a DocumentReference's detail, and each entry from the document", async () => {
    const opened: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "list_items") return { total: 1, items: [{ resource_type: "DocumentReference", id: "doc1", date: "2024-05-06", display: "Summary", detail: null, code: null, source: "Summary.xml" }] };
      if (cmd === "resource_detail") {
        opened.push(args);
        const a = args as { resourceType: string; id: string };
        return { resource_type: a.resourceType, id: a.id, display: a.id, source: "Summary.xml", source_kind: "file", imported_at: "2026-01-01T00:00:00Z", json: "{}" };
      }
      if (cmd === "document_view") return ccd();
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    view.querySelector<HTMLButtonElement>("#items .item")!.click();
    await tick();
    view.querySelector<HTMLButtonElement>("#view-document")!.click();
    await tick();
    expect(view.querySelector(".split")!.classList.contains("reading")).toBe(true);
    expect(view.querySelector("#detail iframe[sandbox='']")).not.toBeNull();
    const entries = view.querySelectorAll<HTMLButtonElement>("#document-entries .item");
    expect([...entries].map((e) => e.querySelector(".label")!.textContent)).toEqual(["Penicillin", "Glucose"]);
    entries[1].click();
    await tick();
    expect(opened).toEqual([
      { person: 7, resourceType: "DocumentReference", id: "doc1" },
      { person: 7, resourceType: "Observation", id: "o1" },
    ]);
    expect(view.querySelector("#detail iframe")).toBeNull();
    expect(view.querySelector("#show-trend")).not.toBeNull();
    expect(view.querySelector(".split")!.classList.contains("reading")).toBe(false);
  });

  it("offers a file it does not display to save", async () => {
    let saved: unknown;
    mockIPC((cmd, args) => {
      if (cmd === "document_view") return ccd({ kind: "file", content_type: "application/msword", sections: [], entries: [], title: "Visit summary" });
      if (cmd === "save_document") {
        saved = args;
        return { path: "/home/ann/visit.doc", sha256: "00", bytes: 10 };
      }
      if (cmd === "document_original") throw new Error("not asked for a file it does not display");
    });
    const panel = await documentPanel(7, "doc1", () => {});
    document.body.appendChild(panel);
    expect(panel.querySelector("iframe, canvas, img, pre")).toBeNull();
    expect(panel.querySelector("#document-file")!.textContent).toContain("This document is a file (application/msword), which OwnRecord does not display.");
    expect(panel.textContent).toContain("No entries were made from this document.");
    expect(panel.querySelector<HTMLInputElement>("#document-path")!.placeholder).toBe("/home/me/Documents/Visit summary.bin");
    panel.querySelector<HTMLInputElement>("#document-path")!.value = "/home/ann/visit.doc";
    panel.querySelector<HTMLButtonElement>("#save-document")!.click();
    await tick();
    expect(saved).toEqual({ person: 7, id: "doc1", path: "/home/ann/visit.doc", of: "DocumentReference" });
    expect(panel.querySelector("#document-saved")!.textContent).toBe("Saved to /home/ann/visit.doc. It is a plain file: keep it safe.");
  });

  it("draws a PDF page by page on a canvas, with buttons and keys to turn pages and zoom", async () => {
    const bytes = new Uint8Array([37, 80, 68, 70, 45]).buffer;
    const drawn: [number, number][] = [];
    const pages: PdfPages = {
      count: 3,
      size: vi.fn(async () => ({ width: 612, height: 792 })),
      render: vi.fn(async (page: number, scale: number, canvas: HTMLCanvasElement) => {
        expect(canvas.id).toBe("pdf-canvas");
        drawn.push([page, scale]);
      }),
      text: vi.fn(async (page: number) => (page === 2 ? "" : `Page ${page} says <img src=x onerror="window.__xss=1">`)),
      close: vi.fn(),
    };
    pdfjs.openPdf.mockResolvedValue(pages);
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "document_view") return ccd({ kind: "pdf", content_type: "application/pdf", sections: [], title: "Visit summary" });
      if (cmd === "document_original") {
        asked.push(args);
        return bytes;
      }
    });
    const innerHTML = vi.spyOn(Element.prototype, "innerHTML", "set");
    const panel = await documentPanel(7, "doc1", () => {});
    document.body.appendChild(panel);
    const frame = () => new Promise((r) => setTimeout(r, 40));
    await frame();
    expect(asked).toEqual([{ person: 7, id: "doc1", of: "DocumentReference" }]);
    expect(pdfjs.openPdf).toHaveBeenCalledWith(bytes);
    const $ = (css: string) => panel.querySelector<HTMLElement>(css)!;
    const canvas = $("#pdf-canvas");
    expect(canvas.getAttribute("role")).toBe("img");
    expect(canvas.getAttribute("aria-label")).toBe("Page 1 of 3 of Visit summary");
    expect($("#pdf-page").textContent).toBe("Page 1 of 3");
    // It fits the width (jsdom lays nothing out: the page's own size).
    expect($("#pdf-zoom").textContent).toBe("100%");
    expect($("#pdf-fit").getAttribute("aria-pressed")).toBe("true");
    expect(drawn).toEqual([[1, 1]]);
    // The page's text, as text.
    expect($("#pdf-text").textContent).toBe(`Page 1 says <img src=x onerror="window.__xss=1">`);
    expect(document.querySelectorAll("img").length).toBe(0);
    expect($("#pdf-prev").getAttribute("aria-disabled")).toBe("true");

    $("#pdf-next").click();
    await tick();
    expect($("#pdf-page").textContent).toBe("Page 2 of 3");
    expect($("#pdf-viewer").dataset.page).toBe("2");
    expect($("#pdf-text").textContent).toBe("This page has no text (it may be a scan).");
    expect($("#pdf-prev").getAttribute("aria-disabled")).toBe("false");
    $("#pdf-zoom-in").click();
    await tick();
    expect($("#pdf-zoom").textContent).toBe("125%");
    expect($("#pdf-fit").getAttribute("aria-pressed")).toBe("false");
    $("#pdf-zoom-out").click();
    await tick();
    $("#pdf-zoom-out").click();
    await tick();
    expect($("#pdf-zoom").textContent).toBe("75%");
    // By keyboard, on the page itself.
    const sheet = $("#pdf-sheet");
    expect(sheet.getAttribute("tabindex")).toBe("0");
    const key = async (k: string) => {
      sheet.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
      await tick();
    };
    await key("End");
    expect($("#pdf-page").textContent).toBe("Page 3 of 3");
    expect($("#pdf-next").getAttribute("aria-disabled")).toBe("true");
    // Past the last page nothing is drawn again.
    const before = drawn.length;
    $("#pdf-next").click();
    await key("ArrowRight");
    expect(drawn.length).toBe(before);
    await key("ArrowLeft");
    expect($("#pdf-page").textContent).toBe("Page 2 of 3");
    await key("+");
    expect($("#pdf-zoom").textContent).toBe("100%");
    for (let i = 0; i < 10; i++) await key("-");
    expect($("#pdf-zoom").textContent).toBe(`${ZOOMS[0] * 100}%`);
    expect($("#pdf-zoom-out").getAttribute("aria-disabled")).toBe("true");
    $("#pdf-fit").click();
    await tick();
    expect($("#pdf-zoom").textContent).toBe("100%");
    await key("Home");
    expect(drawn.at(-1)).toEqual([1, 1]);
    expect(innerHTML).not.toHaveBeenCalled();
    // The original can still be saved.
    expect($("#save-document").textContent).toBe("Save the original");
    expect(panel.querySelector<HTMLInputElement>("#document-path")!.placeholder).toBe("/home/me/Documents/Visit summary.pdf");
  });

  it("keeps one PDF open at a time", async () => {
    const open = (): PdfPages => ({ count: 1, size: async () => ({ width: 612, height: 792 }), render: async () => {}, text: async () => "", close: vi.fn() });
    const first = open();
    const second = open();
    pdfjs.openPdf.mockResolvedValueOnce(first).mockResolvedValueOnce(second);
    mockIPC((cmd) => {
      if (cmd === "document_view") return ccd({ kind: "pdf", content_type: "application/pdf", sections: [] });
      if (cmd === "document_original") return new ArrayBuffer(4);
    });
    await documentPanel(7, "doc1", () => {});
    expect(first.close).not.toHaveBeenCalled();
    await documentPanel(7, "doc2", () => {});
    expect(first.close).toHaveBeenCalledOnce();
    expect(second.close).not.toHaveBeenCalled();
  });

  it("says so when pdf.js cannot read a PDF, and keeps the original to save", async () => {
    pdfjs.openPdf.mockRejectedValue(new Error("Invalid PDF structure."));
    vi.spyOn(console, "warn").mockImplementation(() => {});
    mockIPC((cmd) => {
      if (cmd === "document_view") return ccd({ kind: "pdf", content_type: "application/pdf", sections: [] });
      if (cmd === "document_original") return new ArrayBuffer(4);
    });
    const panel = await documentPanel(7, "doc1", () => {});
    expect(panel.querySelector("#pdf-problem")!.textContent).toBe("This PDF could not be shown. Save the original to open it with another program.");
    expect(panel.querySelector("canvas")).toBeNull();
    expect(panel.querySelector("#save-document")).not.toBeNull();
  });

  it("shows an image as a blob: URL with an alt text", async () => {
    const made: Blob[] = [];
    const revoked: string[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => {
      made.push(b);
      return "blob:tauri://localhost/1234";
    });
    URL.revokeObjectURL = vi.fn((u: string) => void revoked.push(u));
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]).buffer;
    for (const [kind, type] of [["png", "image/png"], ["jpeg", "image/jpeg"]] as const) {
      made.length = 0;
      mockIPC((cmd) => {
        if (cmd === "document_view") return ccd({ kind, content_type: type, sections: [], title: `Rash photo ${evil}` });
        if (cmd === "document_original") return bytes;
      });
      const panel = await documentPanel(7, "doc1", () => {});
      const img = panel.querySelector<HTMLImageElement>("img#document-image")!;
      expect(img.getAttribute("src")).toBe("blob:tauri://localhost/1234");
      expect(img.alt).toBe(`Rash photo ${evil}`);
      expect(made.length).toBe(1);
      expect(made[0].type).toBe(type);
      expect(made[0].size).toBe(4);
      img.dispatchEvent(new Event("load"));
      expect(revoked.at(-1)).toBe("blob:tauri://localhost/1234");
      expect(panel.querySelectorAll("img").length).toBe(1);
      expect(panel.querySelector("iframe, script")).toBeNull();
    }
  });

  it("shows plain text as text", async () => {
    const innerHTML = vi.spyOn(Element.prototype, "innerHTML", "set");
    mockIPC((cmd) => {
      if (cmd === "document_view") return ccd({ kind: "text", content_type: "text/plain", sections: [], text: `Seen today.\n${evil}\n\tPlan: rest.` });
      if (cmd === "document_original") throw new Error("text comes with the view");
    });
    const panel = await documentPanel(7, "doc1", () => {});
    document.body.appendChild(panel);
    const pre = panel.querySelector("pre#document-text")!;
    expect(pre.textContent).toBe(`Seen today.\n${evil}\n\tPlan: rest.`);
    expect(pre.children.length).toBe(0);
    expect(document.querySelectorAll("img, script, iframe").length).toBe(0);
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    expect(innerHTML).not.toHaveBeenCalled();
  });

  it("shows an HTML note in the sandboxed frame, without section headings", async () => {
    const innerHTML = vi.spyOn(Element.prototype, "innerHTML", "set");
    mockIPC((cmd) => {
      if (cmd === "document_view")
        return ccd({ kind: "html", content_type: "text/html", title: "Visit note", sections: [{ title: "Visit note", html: "<h1>Visit note</h1><p>Seen for <strong>cough</strong>.</p>", depth: 0 }] });
    });
    const panel = await documentPanel(7, "doc1", () => {});
    document.body.appendChild(panel);
    const frame = panel.querySelector<HTMLIFrameElement>("iframe#document-frame")!;
    expect(frame.getAttribute("sandbox")).toBe("");
    expect(frame.srcdoc).toContain(`<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">`);
    expect(frame.srcdoc).toContain("<body><h1>Visit note</h1><p>Seen for <strong>cough</strong>.</p></body>");
    expect(frame.srcdoc).not.toContain("<h2>");
    expect(frameDocument(ccd({ kind: "html", sections: [{ title: "t", html: " ", depth: 0 }] }))).toContain(`<body><p class="empty">This note has no text.</p></body>`);
    expect(document.querySelectorAll("img, script").length).toBe(0);
    expect(innerHTML).not.toHaveBeenCalled();
  });

  it("opens a DiagnosticReport's presented form from its detail, beside its results", async () => {
    const asked: unknown[] = [];
    const report = { resourceType: "DiagnosticReport", id: "r1", presentedForm: [{ contentType: "text/html" }] };
    mockIPC((cmd, args) => {
      if (cmd === "list_items")
        return {
          total: 2,
          items: [
            { resource_type: "DiagnosticReport", id: "r1", date: "2024-05-06", display: "XR Chest", detail: null, code: null, source: "portal" },
            { resource_type: "DiagnosticReport", id: "r2", date: "2024-05-06", display: "CBC", detail: null, code: null, source: "portal" },
          ],
        };
      if (cmd === "resource_detail") {
        const a = args as { id: string };
        const json = a.id === "r1" ? report : { resourceType: "DiagnosticReport", id: "r2" };
        return { resource_type: "DiagnosticReport", id: a.id, display: a.id, source: "portal", source_kind: "portal", imported_at: "2026-01-01T00:00:00Z", json: JSON.stringify(json) };
      }
      if (cmd === "document_view") {
        asked.push(args);
        return ccd({ kind: "html", title: "XR Chest", sections: [{ title: "XR Chest", html: "<p>No acute findings.</p>", depth: 0 }] });
      }
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    view.querySelector<HTMLButtonElement>("#items .item[data-id='r2']")!.click();
    await tick();
    expect(view.querySelector("#view-document")).toBeNull();
    view.querySelector<HTMLButtonElement>("#items .item[data-id='r1']")!.click();
    await tick();
    expect(view.querySelector("#view-document")!.textContent).toBe("View the report");
    view.querySelector<HTMLButtonElement>("#view-document")!.click();
    await tick();
    expect(asked).toEqual([{ person: 7, id: "r1", of: "DiagnosticReport" }]);
    expect(view.querySelector<HTMLIFrameElement>("#detail iframe[sandbox='']")!.srcdoc).toContain("<body><p>No acute findings.</p></body>");
    expect(hasPresentedForm("not json")).toBe(false);
    expect(hasPresentedForm(`{"presentedForm": []}`)).toBe(false);
  });

  it("shows why a document cannot be shown", async () => {
    mockIPC(() => {
      throw { code: "original_damaged", message: "The original of this document in the vault does not match its checksum, so it is not shown. Import it again." };
    });
    const panel = await documentPanel(7, "doc1", () => {});
    expect(panel.textContent).toContain("does not match its checksum");
    expect(panel.querySelector("iframe")).toBeNull();
  });

  it("builds one whole document for the frame", () => {
    const html = frameDocument(ccd({ sections: [] }));
    // A language and a title, for screen readers (axe: html-has-lang, document-title).
    expect(html.startsWith("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")).toBe(true);
    expect(html).toMatch(/<title>Summary [^<]*<\/title>/);
    expect(html).not.toContain(`<title>Summary ${evil}`);
    expect(html).toContain(`<body><p class="empty">This document has no sections.</p></body></html>`);
  });
});

describe("import", () => {
  const report = {
    file: "Summary.xml",
    new: 40,
    updated: 0,
    unchanged: 0,
    older: 0,
    documents: [{ path: "Summary.xml", title: "Continuity of Care Document", document_reference_id: "doc1", summary: "Problems 12, Medications 14 (2 kept as text only)" }],
  };

  it("reports each document of the file in a line", () => {
    expect(importLines(report)).toEqual([
      "Imported Summary.xml: 40 new, 0 updated, 0 unchanged.",
      "Continuity of Care Document: Problems 12, Medications 14 (2 kept as text only).",
    ]);
  });

  it("imports a typed path, asking whose record it is when the import asks", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "connections") return [];
      if (cmd === "people") return [ann];
      if (cmd === "import_file") {
        const a = args as { path: string; person: unknown };
        calls.push({ path: a.path, person: a.person });
        if (a.person === null) throw { code: "who_is_this", message: "Whose?" };
        return report;
      }
    });
    const view = connectionsView("http://127.0.0.1/fhir");
    document.body.appendChild(view);
    await tick();
    view.querySelector<HTMLInputElement>("#import-path")!.value = "/home/ann/Summary.xml";
    view.querySelector<HTMLButtonElement>("#import-path-go")!.click();
    await tick();
    expect(view.querySelector("#who-question")!.textContent).toBe("Is this Ann Lee's record, or someone new?");
    view.querySelector<HTMLButtonElement>("#who-new")!.click();
    await tick();
    expect(calls).toEqual([
      { path: "/home/ann/Summary.xml", person: null },
      { path: "/home/ann/Summary.xml", person: "new" },
    ]);
    expect(view.querySelector("#import-result .import-done")!.textContent).toBe("Imported Summary.xml: 40 new, 0 updated, 0 unchanged.");
    expect(view.querySelector("#import-result .import-documents")!.textContent).toBe("Continuity of Care Document: Problems 12, Medications 14 (2 kept as text only).");
  });

  it("imports files dropped on the window through the same import", async () => {
    const imported: string[] = [];
    mockWindows("main");
    mockIPC(
      (cmd, args) => {
        if (cmd === "vault_status") return { exists: true, unlocked: true, dir: "/v", demo_portal: "http://127.0.0.1/fhir" };
        if (cmd === "people") return [ann];
        if (cmd === "list_items") return { total: 0, items: [] };
        if (cmd === "connections") return [];
        if (cmd === "import_file") {
          imported.push((args as { path: string }).path);
          return { ...report, file: (args as { path: string }).path.split("/").pop() };
        }
      },
      { shouldMockEvents: true },
    );
    document.body.innerHTML = `<main id="app"></main>`;
    await import("./main");
    await tick();
    const { emit } = await import("@tauri-apps/api/event");
    await emit("tauri://drag-enter", { paths: ["/d/Summary.xml"], position: { x: 10, y: 10 } });
    expect(document.querySelector(".shell")!.classList.contains("drop-target")).toBe(true);
    await emit("tauri://drag-drop", { paths: ["/d/Summary.xml", "/d/labs.zip"], position: { x: 10, y: 10 } });
    await tick(10);
    expect(document.querySelector(".shell")!.classList.contains("drop-target")).toBe(false);
    expect(document.querySelector("#nav-connections")!.getAttribute("aria-current")).toBe("true");
    expect(imported).toEqual(["/d/Summary.xml", "/d/labs.zip"]);
    expect([...document.querySelectorAll("#import-result .import-done")].map((p) => p.textContent)).toEqual([
      "Imported Summary.xml: 40 new, 0 updated, 0 unchanged.",
      "Imported labs.zip: 40 new, 0 updated, 0 unchanged.",
    ]);
  });
});
