// The one place pdf.js is used: a PDF's bytes (already checked against their SHA-256 by the
// core) rendered page by page to a canvas. The window loads this module (and pdf.js with it) only
// when a PDF is opened. pdf.js's worker is bundled by Vite as a local asset (`?url`) and started
// here as a module worker from the app's own origin, which the window's CSP allows as a script
// from 'self'; it is handed to pdf.js as its port, so pdf.js never wraps it in a `blob:` URL.
// Nothing is fetched: no CDN, no standard fonts or CMaps (fonts a PDF does not embed are drawn
// with the system's), no WebAssembly decoders (`useWasm: false`; the CSP has no 'wasm-unsafe-eval').
import { GlobalWorkerOptions, getDocument } from "pdfjs-dist";
import type { PDFDocumentProxy, RenderTask } from "pdfjs-dist";
import type { TextItem } from "pdfjs-dist/types/src/display/api";
import workerUrl from "pdfjs-dist/build/pdf.worker.min.mjs?url";

/** An open PDF, as the document view uses it (tests stand in their own). */
export interface PdfPages {
  /** The number of pages. */
  count: number;
  /** Page `page`'s size at scale 1 (CSS pixels: 72 dpi). */
  size(page: number): Promise<{ width: number; height: number }>;
  /** Draws page `page` (1-based) at `scale` (1 = 72 dpi) on `canvas`; a newer call cancels an older one. */
  render(page: number, scale: number, canvas: HTMLCanvasElement): Promise<void>;
  /** The text of page `page`, for reading aloud and copying (shown as text, never as markup). */
  text(page: number): Promise<string>;
  close(): void;
}

let worker: Worker | null = null;

/** Opens `bytes` with pdf.js (in its worker). Rejects when they are not a PDF it can read. */
export async function openPdf(bytes: ArrayBuffer): Promise<PdfPages> {
  if (!worker) {
    worker = new Worker(workerUrl, { type: "module", name: "pdf.js" });
    GlobalWorkerOptions.workerPort = worker;
  }
  const task = getDocument({
    data: new Uint8Array(bytes),
    useWasm: false,
    useSystemFonts: true,
    enableXfa: false,
  });
  const doc: PDFDocumentProxy = await task.promise;
  let current: RenderTask | null = null;
  return {
    count: doc.numPages,
    async size(n) {
      const { width, height } = (await doc.getPage(n)).getViewport({ scale: 1 });
      return { width, height };
    },
    async render(n, scale, canvas) {
      current?.cancel();
      const page = await doc.getPage(n);
      const viewport = page.getViewport({ scale });
      const ratio = window.devicePixelRatio || 1;
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = `${Math.floor(viewport.width)}px`;
      canvas.style.height = `${Math.floor(viewport.height)}px`;
      const task = page.render({ canvas, viewport, transform: ratio === 1 ? undefined : [ratio, 0, 0, ratio, 0, 0] });
      current = task;
      try {
        await task.promise;
      } catch (e) {
        // A newer render took over: not an error.
        if (e instanceof Error && e.name === "RenderingCancelledException") return;
        throw e;
      } finally {
        if (current === task) current = null;
      }
    },
    async text(n) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      return content.items
        .map((item) => ("str" in item ? (item as TextItem).str + ((item as TextItem).hasEOL ? "\n" : "") : ""))
        .join("")
        .trim();
    },
    close() {
      current?.cancel();
      void task.destroy();
    },
  };
}
