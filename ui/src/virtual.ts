// A list of thousands of entries drawn with a few dozen elements. A scroll container holds an
// `<ol>` as tall as every row would be (the spacer); only the rows in view, and a few either side,
// are in it, each placed at its own position. Rows are one line of one fixed height, measured from
// the first row drawn (or given: jsdom has no layout). Entries come from an array (search hits)
// or from pages asked for as the view reaches them: a page is asked for once, kept in a Map while
// it is near the view and dropped once far, and an answer for a source no longer shown is ignored.
//
// The keyboard: one Tab stop for the whole list (the last entry focused), the arrows go from entry
// to entry, Home and End to the first and last, Page Up and Page Down by a screen; the entry with
// the focus stays drawn when it scrolls out of view, so the focus is never lost.
import { clear, h } from "./dom";

export type Page<T> = { items: T[]; total: number };

/** Where the entries come from: all known at once, or asked for a page at a time. */
export type Source<T> = { items: T[] } | { page: (offset: number, limit: number) => Promise<Page<T>> };

export interface VirtualListOptions<T> {
  /** The scroll container's id, and the list's. */
  scrollId: string;
  listId: string;
  /** The focusable element of one row (a button); it gets `data-index` and its `tabindex` here. */
  row: (item: T, index: number) => HTMLElement;
  /** How many entries a page asks for. */
  pageSize?: number;
  /** Rows drawn beyond the view on either side. */
  overscan?: number;
  /** A row's height and the view's, in pixels; measured when not given. */
  rowHeight?: number;
  viewportHeight?: number;
  /** The number of entries, each time it is known anew. */
  onTotal?: (total: number) => void;
  /** A page that could not be read. */
  onError?: (error: unknown) => void;
}

export interface VirtualList<T> {
  /** The scroll container, to be placed in the view. */
  element: HTMLElement;
  /** Shows the entries of `source` from the top, instead of whatever was shown. */
  show(source: Source<T>): void;
  /** Moves the focus to entry `index`, scrolled into view. */
  focusEntry(index: number): void;
}

/** Used until a row has been measured (and in jsdom, which measures nothing). */
const FALLBACK_ROW = 40;
const FALLBACK_VIEW = 600;
/** Pages asked for at once: more would be for places the view has already scrolled past. */
const MAX_PENDING = 2;
/** Pages kept on either side of those in view. */
const KEEP_PAGES = 2;

type Row = { li: HTMLLIElement; loaded: boolean };

export function virtualList<T>(options: VirtualListOptions<T>): VirtualList<T> {
  const pageSize = options.pageSize ?? 100;
  const overscan = options.overscan ?? 6;
  const list = h("ol", { class: "items virtual-list", id: options.listId });
  const scroll = h("div", { class: "virtual-scroll", id: options.scrollId }, list);

  let source: Source<T> | null = null;
  /** Bumped by `show`: an answer for an earlier source is ignored. */
  let generation = 0;
  let total = 0;
  let known = false;
  let pages = new Map<number, T[]>();
  let pending = new Set<number>();
  const rows = new Map<number, Row>();
  /** The entry that is the list's Tab stop (the last one focused). */
  let active = 0;
  let measured: number | null = null;
  let laidOut = 0;

  const rowHeight = () => options.rowHeight ?? measured ?? FALLBACK_ROW;
  const viewHeight = () => options.viewportHeight ?? (scroll.clientHeight || FALLBACK_VIEW);
  const itemAt = (i: number): T | undefined => {
    if (!source) return undefined;
    if ("items" in source) return source.items[i];
    return pages.get(Math.floor(i / pageSize))?.[i % pageSize];
  };

  /** The first and last entries in view (clamped to the list). */
  const inView = (): [number, number] => {
    const rh = rowHeight();
    const vh = viewHeight();
    const top = Math.min(scroll.scrollTop, Math.max(0, total * rh - vh));
    return [Math.max(0, Math.floor(top / rh)), Math.min(total - 1, Math.ceil((top + vh) / rh) - 1)];
  };

  const fillRow = (row: Row, index: number) => {
    const item = itemAt(index);
    clear(row.li);
    row.loaded = item !== undefined;
    if (item === undefined) {
      row.li.classList.add("placeholder");
      row.li.setAttribute("tabindex", index === active ? "0" : "-1");
      row.li.appendChild(h("span", { class: "muted" }, "Loading…"));
      return;
    }
    row.li.classList.remove("placeholder");
    row.li.removeAttribute("tabindex");
    const el = options.row(item, index);
    el.dataset.index = String(index);
    el.setAttribute("tabindex", index === active ? "0" : "-1");
    row.li.appendChild(el);
  };
  const makeRow = (index: number): Row => {
    const li = h("li", { "data-index": String(index), "aria-posinset": String(index + 1), "aria-setsize": String(total) });
    li.style.top = `${index * rowHeight()}px`;
    const row = { li, loaded: false };
    fillRow(row, index);
    return row;
  };
  /** The element of entry `index` that takes the focus. */
  const focusable = (index: number): HTMLElement | undefined => {
    const row = rows.get(index);
    if (!row) return undefined;
    return row.loaded ? (row.li.firstElementChild as HTMLElement) : row.li;
  };
  const setActive = (index: number) => {
    if (index === active) return;
    focusable(active)?.setAttribute("tabindex", "-1");
    active = index;
    focusable(active)?.setAttribute("tabindex", "0");
  };

  /** Asks for the pages the view needs, those in view first; drops those far from it. */
  const fetchPages = (first: number, last: number) => {
    if (!source || "items" in source) return;
    if (!known) return request(0);
    const firstPage = Math.floor(first / pageSize);
    const lastPage = Math.floor(last / pageSize);
    const near = [Math.floor(Math.max(0, first - pageSize / 2) / pageSize), Math.floor(Math.min(total - 1, last + pageSize / 2) / pageSize)];
    for (let p = firstPage; p <= lastPage; p++) request(p);
    for (const p of near) request(p);
    for (const p of pages.keys()) {
      if (p < firstPage - KEEP_PAGES || p > lastPage + KEEP_PAGES) pages.delete(p);
    }
  };
  const request = (page: number) => {
    if (!source || "items" in source || pages.has(page) || pending.has(page) || pending.size >= MAX_PENDING) return;
    const asked = generation;
    const waiting = pending;
    waiting.add(page);
    source.page(page * pageSize, pageSize).then(
      (answer) => {
        waiting.delete(page);
        if (asked !== generation) return;
        pages.set(page, answer.items);
        setTotal(answer.total);
        render();
      },
      (error) => {
        waiting.delete(page);
        // No render here: it would ask again at once. The next scroll does.
        if (asked === generation) options.onError?.(error);
      },
    );
  };
  const setTotal = (n: number) => {
    if (known && n === total) return;
    known = true;
    total = n;
    for (const row of rows.values()) row.li.setAttribute("aria-setsize", String(total));
    if (active >= total) setActive(Math.max(0, total - 1));
    options.onTotal?.(total);
  };

  /** Draws the rows in view (and the one with the Tab stop), and asks for what they need. */
  const render = () => {
    let rh = rowHeight();
    if (rh !== laidOut) {
      laidOut = rh;
      for (const [i, row] of rows) row.li.style.top = `${i * rh}px`;
    }
    list.style.height = `${total * rh}px`;
    const [first, last] = total > 0 ? inView() : [0, -1];
    const from = Math.max(0, first - overscan);
    const to = Math.min(total - 1, last + overscan);
    fetchPages(first, last);
    const wanted = (i: number) => (i >= from && i <= to) || i === active;
    for (const [i, row] of rows) {
      if (i >= total || !wanted(i)) {
        row.li.remove();
        rows.delete(i);
      }
    }
    // Rows are kept in the list's order (a screen reader reads them so); existing ones never
    // move, so the one with the focus keeps it.
    const indices = active >= 0 && active < total && (active < from || active > to) ? [active] : [];
    for (let i = from; i <= to; i++) indices.push(i);
    indices.sort((a, b) => a - b);
    let cursor = list.firstElementChild;
    for (const i of indices) {
      const row = rows.get(i);
      if (row) {
        if (!row.loaded && itemAt(i) !== undefined) {
          const focused = row.li === document.activeElement;
          fillRow(row, i);
          if (focused) focusable(i)?.focus();
        }
        cursor = row.li.nextElementSibling;
      } else {
        const made = makeRow(i);
        rows.set(i, made);
        list.insertBefore(made.li, cursor);
      }
    }
    // The row height, measured once from a drawn row (it follows the system's font size).
    if (options.rowHeight === undefined && measured === null) {
      const drawn = list.firstElementChild;
      const height = drawn ? drawn.getBoundingClientRect().height : 0;
      if (height > 0) {
        measured = height;
        if (height !== rh) render();
      }
    }
  };

  const focusEntry = (index: number) => {
    if (total === 0) return;
    const i = Math.min(total - 1, Math.max(0, index));
    setActive(i);
    const rh = rowHeight();
    const vh = viewHeight();
    if (i * rh < scroll.scrollTop) scroll.scrollTop = i * rh;
    else if ((i + 1) * rh > scroll.scrollTop + vh) scroll.scrollTop = (i + 1) * rh - vh;
    render();
    focusable(i)?.focus();
  };

  const indexOf = (target: EventTarget | null): number | null => {
    const li = target instanceof Element ? target.closest<HTMLElement>("li[data-index]") : null;
    return li && list.contains(li) ? Number(li.dataset.index) : null;
  };
  list.addEventListener("keydown", (e) => {
    const at = indexOf(e.target);
    if (at === null) return;
    const screen = Math.max(1, Math.floor(viewHeight() / rowHeight()) - 1);
    const moves: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: total - 1, PageDown: at + screen, PageUp: at - screen };
    if (!Object.hasOwn(moves, e.key)) return;
    e.preventDefault();
    focusEntry(moves[e.key]);
  });
  // Whatever entry gets the focus (Tab, a click) becomes the list's Tab stop.
  list.addEventListener("focusin", (e) => {
    const at = indexOf(e.target);
    if (at !== null) setActive(at);
  });
  scroll.addEventListener("scroll", render, { passive: true });
  // A new size of the view, or of the text (rows are sized in rem): measured again.
  if (typeof ResizeObserver !== "undefined") {
    const resized = new ResizeObserver(() => {
      if (!scroll.isConnected) return resized.disconnect();
      measured = null;
      render();
    });
    resized.observe(scroll);
  }

  const show = (next: Source<T>) => {
    generation++;
    source = next;
    pages = new Map();
    pending = new Set();
    rows.clear();
    clear(list);
    active = 0;
    total = 0;
    known = false;
    scroll.scrollTop = 0;
    if ("items" in next) setTotal(next.items.length);
    render();
  };

  return { element: scroll, show, focusEntry };
}
