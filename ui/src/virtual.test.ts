// The virtual list (virtual.ts) with a fake source of pages: what it draws, what it asks for, and
// where the keyboard goes. jsdom lays nothing out, so the row's and the view's heights are given.
import { afterEach, describe, expect, it } from "vitest";
import { h } from "./dom";
import { type Page, type Source, virtualList } from "./virtual";

const ROW = 40;
const VIEW = 400;

const settle = async () => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setTimeout(r, 0));
};

afterEach(() => {
  document.body.innerHTML = "";
});

/** `total` entries named e0, e1, …, a page at a time; each answer waits for `release` when held. */
function pages(total: number, held = false) {
  const asked: number[] = [];
  const waiting = new Map<number, () => void>();
  const answer = (offset: number, limit: number): Page<string> => ({
    total,
    items: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => `e${offset + i}`),
  });
  const source: Source<string> = {
    page: (offset, limit) => {
      asked.push(offset);
      if (!held) return Promise.resolve(answer(offset, limit));
      return new Promise((resolve) => waiting.set(offset, () => resolve(answer(offset, limit))));
    },
  };
  const release = (offset: number) => {
    waiting.get(offset)!();
    waiting.delete(offset);
  };
  return { source, asked, release };
}

function mount() {
  const totals: number[] = [];
  const list = virtualList<string>({
    scrollId: "items-scroll",
    listId: "items",
    pageSize: 100,
    rowHeight: ROW,
    viewportHeight: VIEW,
    row: (item) => h("button", { class: "item", "data-id": item }, item),
    onTotal: (n) => totals.push(n),
  });
  document.body.appendChild(list.element);
  const scrollTo = (top: number) => {
    list.element.scrollTop = top;
    list.element.dispatchEvent(new Event("scroll"));
  };
  const row = (index: number) => document.querySelector<HTMLLIElement>(`#items > li[data-index="${index}"]`);
  return { list, scrollTo, row, totals };
}

const drawn = () => [...document.querySelectorAll<HTMLLIElement>("#items > li")].map((li) => Number(li.dataset.index));

describe("the virtual list", () => {
  it("draws only the rows near the view, wherever it is scrolled, in a list as tall as all of them", async () => {
    const { list, scrollTo, row } = mount();
    list.show(pages(20_000).source);
    await settle();
    expect(document.querySelector<HTMLElement>("#items")!.style.height).toBe(`${20_000 * ROW}px`);
    for (const at of [0, 1234, 10_000, 19_990]) {
      scrollTo(at * ROW);
      await settle();
      const indices = drawn();
      expect(indices.length).toBeGreaterThan(VIEW / ROW - 1);
      expect(indices.length).toBeLessThan(100);
      // The rows in view are there, with their entry and their place.
      for (let i = at; i < Math.min(20_000, at + VIEW / ROW); i++) {
        expect(row(i)?.querySelector(".item")?.getAttribute("data-id")).toBe(`e${i}`);
        expect(row(i)!.style.top).toBe(`${i * ROW}px`);
      }
      // In the list's order.
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
    }
  });

  it("asks for the last page when scrolled to the end, and shows the last entry with its position", async () => {
    const { list, scrollTo, row } = mount();
    const fake = pages(20_000);
    list.show(fake.source);
    await settle();
    scrollTo(1e9);
    await settle();
    expect(fake.asked).toContain(19_900);
    const last = row(19_999)!;
    expect(last.getAttribute("aria-posinset")).toBe("20000");
    expect(last.getAttribute("aria-setsize")).toBe("20000");
    expect(last.querySelector(".item")!.getAttribute("data-id")).toBe("e19999");
    expect(last.querySelector(".item")!.getAttribute("data-index")).toBe("19999");
  });

  it("asks for a page once while its answer is pending, and shows a quiet row until it comes", async () => {
    const { list, scrollTo, row } = mount();
    const fake = pages(20_000, true);
    list.show(fake.source);
    scrollTo(0);
    scrollTo(0);
    await settle();
    expect(fake.asked).toEqual([0]);
    fake.release(0);
    await settle();
    for (let i = 0; i < 5; i++) {
      scrollTo(5_000 * ROW);
      await settle();
    }
    expect(fake.asked).toEqual([0, 5_000, 4_900]);
    expect(row(5_000)!.classList.contains("placeholder")).toBe(true);
    expect(row(5_000)!.querySelector(".item")).toBeNull();
    expect(row(5_000)!.textContent).toBe("Loading…");
    fake.release(5_000);
    await settle();
    expect(row(5_000)!.querySelector(".item")!.getAttribute("data-id")).toBe("e5000");
    scrollTo(5_000 * ROW);
    await settle();
    expect(fake.asked).toEqual([0, 5_000, 4_900]);
  });

  it("ignores the answer for a source no longer shown", async () => {
    const { list, totals } = mount();
    const old = pages(20_000, true);
    list.show(old.source);
    await settle();
    list.show({ page: async (offset) => ({ total: 2, items: ["new0", "new1"].slice(offset) }) });
    await settle();
    old.release(0);
    await settle();
    expect([...document.querySelectorAll(".item")].map((e) => e.textContent)).toEqual(["new0", "new1"]);
    expect(totals).toEqual([2]);
    expect(document.querySelector<HTMLElement>("#items")!.style.height).toBe(`${2 * ROW}px`);
  });

  it("keeps only the pages near the view: one scrolled far from is asked for again", async () => {
    const { list, scrollTo } = mount();
    const fake = pages(20_000);
    list.show(fake.source);
    await settle();
    scrollTo(10_000 * ROW);
    await settle();
    scrollTo(0);
    await settle();
    expect(fake.asked.filter((o) => o === 0).length).toBe(2);
    // Near pages are kept: a step back and forth asks for nothing.
    const before = fake.asked.length;
    scrollTo(20 * ROW);
    await settle();
    scrollTo(0);
    await settle();
    expect(fake.asked.length).toBe(before);
  });

  it("shows an array's entries all at once (search hits)", async () => {
    const { list, totals } = mount();
    list.show({ items: ["a", "b", "c"] });
    expect([...document.querySelectorAll(".item")].map((e) => e.textContent)).toEqual(["a", "b", "c"]);
    expect(totals).toEqual([3]);
    list.show({ items: [] });
    expect(document.querySelectorAll("#items > li").length).toBe(0);
    expect(totals).toEqual([3, 0]);
  });
});

describe("the virtual list and the keyboard", () => {
  const thousand = { items: Array.from({ length: 1000 }, (_, i) => `e${i}`) };
  const key = (key: string) => (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  const focused = () => Number((document.activeElement as HTMLElement).dataset.index);

  it("is one Tab stop, the entry last focused", () => {
    const { list, row } = mount();
    list.show(thousand);
    const stops = () => [...document.querySelectorAll<HTMLElement>("#items [tabindex='0']")];
    expect(stops()).toEqual([row(0)!.querySelector(".item")]);
    row(3)!.querySelector<HTMLElement>(".item")!.focus();
    expect(stops()).toEqual([row(3)!.querySelector(".item")]);
  });

  it("goes from the last drawn row to the next one with ArrowDown, drawing and scrolling to it", () => {
    const { list, row } = mount();
    list.show(thousand);
    const last = Math.max(...drawn());
    expect(row(last + 1)).toBeNull();
    row(last)!.querySelector<HTMLElement>(".item")!.focus();
    key("ArrowDown");
    expect(focused()).toBe(last + 1);
    expect(document.activeElement!.closest("li")).toBe(row(last + 1));
    expect(list.element.scrollTop).toBe((last + 2) * ROW - VIEW);
    key("ArrowUp");
    expect(focused()).toBe(last);
  });

  it("goes to the first and last with Home and End, and by a screen with Page Up and Page Down", () => {
    const { list, row } = mount();
    list.show(thousand);
    row(0)!.querySelector<HTMLElement>(".item")!.focus();
    key("End");
    expect(focused()).toBe(999);
    expect(document.activeElement!.closest("li")!.getAttribute("aria-posinset")).toBe("1000");
    key("Home");
    expect(focused()).toBe(0);
    expect(list.element.scrollTop).toBe(0);
    key("PageDown");
    expect(focused()).toBe(VIEW / ROW - 1);
    key("PageUp");
    expect(focused()).toBe(0);
    key("ArrowUp");
    expect(focused()).toBe(0);
  });

  it("keeps the focused row, and its focus, when it scrolls out of view", async () => {
    const { list, scrollTo, row } = mount();
    list.show(thousand);
    const third = row(3)!.querySelector<HTMLElement>(".item")!;
    third.focus();
    scrollTo(500 * ROW);
    await settle();
    expect(row(3)).not.toBeNull();
    expect(document.activeElement).toBe(third);
    expect(drawn().length).toBeLessThan(100);
    key("ArrowDown");
    expect(focused()).toBe(4);
    expect(list.element.scrollTop).toBe(4 * ROW);
  });

  it("focuses a row not read yet, and its entry once it is read", async () => {
    const { list, row } = mount();
    const fake = pages(20_000, true);
    list.show(fake.source);
    fake.release(0);
    await settle();
    row(0)!.querySelector<HTMLElement>(".item")!.focus();
    key("End");
    expect(document.activeElement).toBe(row(19_999));
    await settle();
    fake.release(19_900);
    await settle();
    expect(document.activeElement).toBe(row(19_999)!.querySelector(".item"));
    expect(document.activeElement!.getAttribute("tabindex")).toBe("0");
  });
});
