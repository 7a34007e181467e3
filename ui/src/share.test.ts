// The share wizard against a mocked IPC: its steps and checks, the preview of what leaves, the
// share hosts (added, removed, the demo's), the form the shell gets, and what the patient is
// told to give the recipient.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { HostView } from "./bindings/HostView";
import type { Person } from "./bindings/Person";
import type { SharePreview } from "./bindings/SharePreview";
import type { ShareView } from "./bindings/ShareView";
import { hostsPanel } from "./views/hosts";
import { type Draft, instructions, newDraft, problem, purposeOf, renderPreview, shareForm, shareWizard, steps } from "./views/share";

const tick = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const ann: Person = { id: 7, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [], resources: 12 };
const host: HostView = { url: "http://127.0.0.1:9100", added: "2026-05-01T10:00:00Z" };

const preview = (rows: string[]): SharePreview => ({
  name: "Ann Lee",
  birth_date: "1980-02-03",
  gender: "female",
  identifiers: [["MRN", "12345"]],
  sections: [
    { section: "problems", title: "Problems", columns: ["Problem", "Since", "Status"], rows: rows.map((r) => [{ text: r, strong: true }, { text: "2020-01-01", strong: false }, { text: "active", strong: false }]), note: null, empty: "No problems recorded." },
    { section: "allergies", title: "Allergies and intolerances", columns: ["Allergy"], rows: [], note: null, empty: "No allergies recorded." },
  ],
  sources: { section: null, title: "Sources", columns: ["Source"], rows: [[{ text: "demo.json", strong: false }]], note: null, empty: "" },
});

const linkView: ShareView = {
  id: "abc123def456",
  package: "/tmp/for-lee.age",
  passcode: "lee-4321-ok",
  expires: "2026-05-08T10:00:00Z",
  link: "http://127.0.0.1:9100/view#shlink:/eyJ1cmwiOi",
  qr: "data:image/png;base64,iVBORw0KGgo=",
  link_passcode_required: true,
  host: host.url,
};

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

const $ = <T extends HTMLElement = HTMLElement>(root: ParentNode, css: string) => root.querySelector<T>(css)!;

function type(root: ParentNode, css: string, value: string) {
  const input = $<HTMLInputElement>(root, css);
  input.value = value;
  input.dispatchEvent(new Event("input"));
  input.dispatchEvent(new Event("change"));
}

function pick(root: ParentNode, css: string) {
  const input = $<HTMLInputElement>(root, css);
  input.checked = !input.checked || input.type === "radio";
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

const filled = (d: Partial<Draft>): Draft => ({ ...newDraft(7), recipient: "Dr. Lee", path: "/tmp/x.age", host: host.url, ...d });

describe("the wizard's logic", () => {
  it("has an expiry-and-passcode step only for a link", () => {
    expect(steps(filled({ how: "link" }))).toEqual(["who", "what", "how", "link"]);
    expect(steps(filled({ how: "package" }))).toEqual(["who", "what", "how"]);
    expect(steps(filled({ how: "pdf" }))).toEqual(["who", "what", "how"]);
  });

  it("keeps the kind of recipient in front of the purpose", () => {
    expect(purposeOf(filled({ kind: "care_team", reason: " second opinion " }))).toBe("Care team: second opinion");
    expect(purposeOf(filled({ kind: "researcher", reason: "" }))).toBe("Researcher");
    expect(purposeOf(filled({ kind: "family", reason: "for my daughter" }))).toBe("Family: for my daughter");
  });

  it("says what stops each step, in a sentence", () => {
    expect(problem("who", filled({ recipient: "  " }), [host])).toMatch(/who you are sharing with/);
    expect(problem("who", filled({}), [host])).toBeNull();
    expect(problem("what", filled({ sections: [] }), [host])).toMatch(/at least one part/);
    expect(problem("how", filled({ path: "" }), [host])).toMatch(/where to save/);
    expect(problem("how", filled({ how: "link" }), [])).toMatch(/Add a share host first/);
    expect(problem("how", filled({ how: "package", host: "" }), [])).toBeNull();
    expect(problem("link", filled({ expiresDays: "0" }), [host])).toMatch(/1 to 365 days/);
    expect(problem("link", filled({ maxUses: "2.5" }), [host])).toMatch(/whole number/);
    expect(problem("link", filled({ passcode: "choose", chosenPasscode: "abc" }), [host])).toMatch(/at least 6/);
    expect(problem("link", filled({ passcode: "choose", chosenPasscode: "lee-4321-ok", maxUses: "5" }), [host])).toBeNull();
  });

  it("sends a link's host, expiry, uses and chosen passcode, and none of them for a package", () => {
    const link = filled({ how: "link", reason: "Second opinion", since: "2020-01-01", expiresDays: "7", maxUses: "5", passcode: "choose", chosenPasscode: " lee-4321-ok " });
    expect(shareForm(link)).toEqual({
      recipient: "Dr. Lee",
      purpose: "Care team: Second opinion",
      path: "/tmp/x.age",
      sections: ["problems", "medications", "allergies", "immunizations", "results", "vitals", "visits", "procedures"],
      since: "2020-01-01",
      expires_days: 7,
      host: host.url,
      passcode: "lee-4321-ok",
      max_uses: 5,
    });
    // A generated passcode is made by the shell.
    expect(shareForm({ ...link, passcode: "generate" }).passcode).toBeNull();
    const pkg = shareForm({ ...link, how: "package" });
    expect([pkg.host, pkg.passcode, pkg.max_uses, pkg.expires_days]).toEqual([null, null, null, null]);
  });

  it("tells the patient what to give, and how", () => {
    const said = instructions(filled({ maxUses: "5" }), linkView);
    expect(said).toContain("Give Dr. Lee the link (or let them scan the QR code)");
    expect(said).toContain("the passcode lee-4321-ok");
    expect(said).toContain("at most 5 opens");
    expect(said).toContain("stop it any time under Shared");
    const pkg = instructions(filled({ how: "package" }), { ...linkView, link: null, qr: null });
    expect(pkg).toContain("the file /tmp/for-lee.age");
    expect(pkg).toContain("cannot be taken back");
  });

  it("shows the preview as text, with counts and what an empty section says", () => {
    const evil = `<img src=x onerror="window.__xss=1">`;
    const shown = renderPreview(preview(["Asthma", evil]));
    expect(shown.textContent).toContain("Ann Lee · born 1980-02-03 · female · MRN: 12345");
    expect([...shown.querySelectorAll("h4")].map((e) => e.textContent)).toEqual(["Problems (2)", "Allergies and intolerances", "Sources (1)"]);
    expect(shown.textContent).toContain("No allergies recorded.");
    expect(shown.querySelector("img")).toBeNull();
    expect([...shown.querySelectorAll("strong")].map((e) => e.textContent)).toContain(evil);
  });
});

/** A vault for the wizard: `hosts` at first; records every call. */
function vault(hosts: HostView[] = []) {
  const calls: [string, unknown][] = [];
  let listed = [...hosts];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === "share_hosts") return listed;
    if (cmd === "add_share_host") {
      const a = args as { url: string };
      if (!a.url.startsWith("http")) throw { code: "bad_link_host", message: "The link's file must live at an https:// address." };
      listed = [...listed, { url: a.url, added: "2026-05-01T10:00:00Z" }];
      return listed[listed.length - 1];
    }
    if (cmd === "add_demo_share_host") {
      listed = [...listed, host];
      return host;
    }
    if (cmd === "remove_share_host") {
      listed = listed.filter((x) => x.url !== (args as { url: string }).url);
      return null;
    }
    if (cmd === "share_preview") {
      const a = args as { sections: string[] };
      return preview(a.sections.includes("problems") ? ["Asthma"] : []);
    }
    if (cmd === "share") return linkView;
    if (cmd === "share_pdf") return { path: "/tmp/for-lee.pdf", sha256: "00", bytes: 10 };
  });
  return calls;
}

function wizard(demoShareHost: string | null = null) {
  const w = shareWizard(ann, { demoShareHost, showShared: () => undefined });
  document.body.appendChild(w);
  return w;
}

const next = async (w: HTMLElement) => {
  $<HTMLButtonElement>(w, "#share-next").click();
  await tick();
};
const problemShown = (w: HTMLElement) => w.querySelector("#share-problem .error")?.textContent ?? null;
const visibleStep = (w: HTMLElement) => [...w.querySelectorAll<HTMLElement>(".step")].filter((s) => !s.hidden).map((s) => s.id);

describe("the share wizard", () => {
  it("goes who, what (with the preview), how, expiry and passcode, then shows the link, QR and passcode", async () => {
    const calls = vault([host]);
    const w = wizard();
    await tick();
    expect(visibleStep(w)).toEqual(["share-step-who"]);
    await next(w);
    expect(problemShown(w)).toMatch(/who you are sharing with/);
    expect(visibleStep(w)).toEqual(["share-step-who"]);

    type(w, "#share-to", "Lee Cardiology");
    pick(w, "#share-kind-other");
    type(w, "#share-purpose", "Heart study");
    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-what"]);
    expect($(w, "#share-preview").textContent).toContain("Problems (1)");
    expect($(w, "#share-preview").textContent).toContain("Asthma");
    // Unticking a section changes what leaves, and the preview says so.
    pick(w, "#share-section-problems");
    await tick();
    expect($(w, "#share-preview").textContent).not.toContain("Asthma");
    const asked = calls.filter(([c]) => c === "share_preview").map(([, a]) => a);
    expect(asked[asked.length - 1]).toEqual({ person: 7, sections: ["medications", "allergies", "immunizations", "results", "vitals", "visits", "procedures"], since: null });
    pick(w, "#share-section-problems");
    await tick();

    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-how"]);
    expect($<HTMLInputElement>(w, "#share-how-link").checked).toBe(true);
    await next(w);
    expect(problemShown(w)).toMatch(/where to save/);
    type(w, "#share-path", "/tmp/for-lee.age");
    expect($<HTMLSelectElement>(w, "#share-host").value).toBe(host.url);
    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-link"]);
    expect($(w, "#share-next").textContent).toBe("Make the link");

    type(w, "#share-expires", "7");
    type(w, "#share-max-uses", "5");
    pick(w, "#share-passcode-choose");
    type(w, "#share-passcode-input", "abc");
    await next(w);
    expect(problemShown(w)).toMatch(/at least 6/);
    expect(calls.some(([c]) => c === "share")).toBe(false);
    type(w, "#share-passcode-input", "lee-4321-ok");
    await next(w);

    const sent = calls.find(([c]) => c === "share")![1] as { person: number; form: Record<string, unknown> };
    expect(sent.person).toBe(7);
    expect(sent.form).toMatchObject({ recipient: "Lee Cardiology", purpose: "Other: Heart study", path: "/tmp/for-lee.age", host: host.url, passcode: "lee-4321-ok", max_uses: 5, expires_days: 7 });
    expect($(w, "#share-link-text").textContent).toBe(linkView.link);
    expect($<HTMLImageElement>(w, "#share-qr").src).toBe(linkView.qr);
    expect($(w, "#share-passcode").textContent).toBe("lee-4321-ok");
    expect($(w, "#share-instructions").textContent).toContain("Give Lee Cardiology the link");
    expect(visibleStep(w)).toEqual([]);
  });

  it("goes back without losing what was typed", async () => {
    vault([host]);
    const w = wizard();
    type(w, "#share-to", "Dr. Lee");
    await next(w);
    $<HTMLButtonElement>(w, "#share-back").click();
    expect(visibleStep(w)).toEqual(["share-step-who"]);
    expect($<HTMLInputElement>(w, "#share-to").value).toBe("Dr. Lee");
    expect($(w, "#share-back").hidden).toBe(true);
  });

  it("saves a PDF without a link step, given to the recipient (not the patient's own export)", async () => {
    const calls = vault();
    const w = wizard();
    type(w, "#share-to", "Grandma");
    pick(w, "#share-kind-family");
    await next(w);
    await next(w);
    pick(w, "#share-how-pdf");
    type(w, "#share-path", "/tmp/for-lee.pdf");
    expect($(w, "#share-next").textContent).toBe("Save the PDF");
    expect([...w.querySelectorAll("#share-steps li")].map((l) => l.textContent)).toEqual(["Who", "What", "How"]);
    await next(w);
    const sent = calls.find(([c]) => c === "share_pdf")![1] as { person: number; form: Record<string, unknown> };
    expect(sent.person).toBe(7);
    expect(sent.form).toMatchObject({ recipient: "Grandma", path: "/tmp/for-lee.pdf", sections: ["problems", "medications", "allergies", "immunizations", "results", "vitals", "visits", "procedures"], since: null });
    expect(String(sent.form.purpose)).toMatch(/^Family/);
    expect(calls.some(([c]) => c === "share" || c === "export_pdf")).toBe(false);
    expect($(w, "#share-see-shared").hidden).toBe(false);
    expect($(w, "#share-instructions").textContent).toContain("Give it to Grandma yourself");
  });

  it("shows the shell's sentence when the share fails, and stays on the step", async () => {
    mockIPC((cmd) => {
      if (cmd === "share_hosts") return [host];
      if (cmd === "share_preview") return preview([]);
      if (cmd === "share") throw { code: "host_unreachable", message: "The share host http://127.0.0.1:9100 could not be reached." };
    });
    const w = wizard();
    type(w, "#share-to", "Dr. Lee");
    await next(w);
    await next(w);
    type(w, "#share-path", "/tmp/x.age");
    await tick();
    await next(w);
    await next(w);
    expect(w.querySelector("#share-problem .error")!.textContent).toBe("The share host http://127.0.0.1:9100 could not be reached.");
    expect(visibleStep(w)).toEqual(["share-step-link"]);
  });
});

describe("share hosts", () => {
  it("adds a host by address and token, lists it, and removes it", async () => {
    const calls = vault();
    const panel = hostsPanel(null);
    document.body.appendChild(panel);
    await tick();
    expect($(panel, "#no-hosts")).not.toBeNull();
    expect($(panel, "#host-demo").hidden).toBe(true);
    type(panel, "#host-url", "nonsense");
    type(panel, "#host-token", "tok");
    $<HTMLButtonElement>(panel, "#host-add").click();
    await tick();
    expect($(panel, ".error").textContent).toContain("https://");
    expect($<HTMLInputElement>(panel, "#host-token").value).toBe("tok");
    type(panel, "#host-url", "https://share.example.org");
    $<HTMLButtonElement>(panel, "#host-add").click();
    await tick();
    expect(calls.filter(([c]) => c === "add_share_host").map(([, a]) => a)).toContainEqual({ url: "https://share.example.org", token: "tok" });
    expect([...panel.querySelectorAll(".host .host-url")].map((e) => e.textContent)).toEqual(["https://share.example.org"]);
    expect($<HTMLInputElement>(panel, "#host-token").value).toBe("");
    expect(panel.querySelector(".error")).toBeNull();
    $<HTMLButtonElement>(panel, ".remove-host").click();
    await tick();
    expect(calls).toContainEqual(["remove_share_host", { url: "https://share.example.org" }]);
    expect(panel.querySelectorAll(".host").length).toBe(0);
  });

  it("offers the demo's host on this computer once, in one click", async () => {
    const calls = vault();
    const panel = hostsPanel(host.url);
    document.body.appendChild(panel);
    await tick();
    const demo = $<HTMLButtonElement>(panel, "#host-demo");
    expect(demo.hidden).toBe(false);
    expect(demo.textContent).toBe("Use the share host on this computer (demo)");
    demo.click();
    await tick();
    expect(calls.some(([c]) => c === "add_demo_share_host")).toBe(true);
    expect(demo.hidden).toBe(true);
    expect(panel.querySelector(".host .host-url")!.textContent).toBe(host.url);
  });

  it("fills the wizard's host list from the panel", async () => {
    vault();
    const w = wizard(host.url);
    await tick();
    expect($<HTMLSelectElement>(w, "#share-host").disabled).toBe(true);
    $<HTMLButtonElement>(w, "#host-demo").click();
    await tick();
    expect($<HTMLSelectElement>(w, "#share-host").value).toBe(host.url);
  });
});
