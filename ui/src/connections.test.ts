// The connection screen against a mocked IPC: finding a provider or naming an unlisted portal's
// vendor, the practice and client-id fields, and each connection's health.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Connection } from "./bindings/Connection";
import type { DirectoryEntry } from "./bindings/DirectoryEntry";
import type { Vendor } from "./bindings/Vendor";
import { connectionName, connectionsView } from "./views/connections";

const tick = (n = 1) => new Promise((r) => setTimeout(r, n));

const vendors: Vendor[] = [
  { code: "athena", name: "athenahealth", client_id: null },
  { code: "epic", name: "Epic", client_id: "epic-own-id" },
  { code: "healow", name: "eClinicalWorks (healow)", client_id: null },
  { code: "va", name: "the VA", client_id: null },
];

const eastside: DirectoryEntry = {
  name: "Eastside Family Medicine",
  vendor: "athena",
  fhir_base: "https://api.platform.athenahealth.com/fhir/r4",
  city: "Boston",
  state: "MA",
  fhir_version: "4.0.1",
  practice: "195900",
  aliases: [],
};
const mercy: DirectoryEntry = { ...eastside, name: "Mercy Clinic", vendor: "epic", fhir_base: "https://fhir.mercy.example/api/FHIR/R4", practice: null };

const connection = (c: Partial<Connection>): Connection => ({
  id: 1,
  name: "Mercy Clinic",
  fhir_base: "https://fhir.mercy.example/api/FHIR/R4",
  patient_id: "p1",
  scopes: "",
  status: "connected",
  connected_at: "2026-01-01T00:00:00Z",
  last_sync_at: "2026-02-03T04:05:06Z",
  vendor: "epic",
  practice: null,
  attention: null,
  attention_kind: null,
  ...c,
});

/** A vault with `connections`; records each connect_portal's form and answers with `answer`. */
function portals(connections: Connection[], answer: (form: unknown) => unknown = () => connections[0]) {
  const connects: unknown[] = [];
  let listed = [...connections];
  mockIPC((cmd, args) => {
    if (cmd === "connections") return listed;
    if (cmd === "people") return [];
    if (cmd === "portal_vendors") return vendors;
    if (cmd === "portal_directory") return [eastside, mercy];
    if (cmd === "connect_portal") {
      const form = (args as { form: unknown }).form;
      connects.push(form);
      const made = answer(form) as Connection;
      listed = [...listed, made];
      return made;
    }
  });
  return connects;
}

function show(): HTMLElement {
  const view = connectionsView("http://127.0.0.1:8765/fhir");
  document.body.appendChild(view);
  return view;
}

const $ = <T extends HTMLElement = HTMLElement>(view: HTMLElement, css: string) => view.querySelector<T>(css)!;

function choose(view: HTMLElement, css: string, value: string) {
  const select = $<HTMLSelectElement>(view, css);
  select.value = value;
  select.dispatchEvent(new Event("change"));
}

async function search(view: HTMLElement, text: string) {
  const query = $<HTMLInputElement>(view, "#directory-search");
  query.value = text;
  query.dispatchEvent(new Event("input"));
  await tick();
}

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("adding a portal the directory does not list", () => {
  it("offers every vendor as 'Made by', and sends the one chosen", async () => {
    const connects = portals([], () => connection({ id: 2, name: "127.0.0.1", fhir_base: "http://127.0.0.1:4567/fhir", vendor: "healow" }));
    const view = show();
    await tick();
    const options = [...view.querySelectorAll("#portal-vendor option")].map((o) => o.textContent);
    expect(options).toEqual(["Not sure", "athenahealth", "Epic", "eClinicalWorks (healow)", "the VA"]);
    // Nothing chosen: no client-id or practice field.
    expect($(view, "#client-id-field").hidden).toBe(true);
    expect($(view, "#practice-field").hidden).toBe(true);

    $<HTMLInputElement>(view, "#portal-url").value = " http://127.0.0.1:4567/fhir ";
    choose(view, "#portal-vendor", "healow");
    expect($(view, "#client-id-field").hidden).toBe(false);
    expect($(view, "#client-id-label").textContent).toBe("Your own client id for eClinicalWorks (healow) (optional)");
    expect($<HTMLInputElement>(view, "#portal-client-id").placeholder).toBe("OwnRecord has none yet");
    expect($(view, "#practice-field").hidden).toBe(true);
    $(view, "#connect-url").click();
    await tick();
    expect(connects).toEqual([{ url: "http://127.0.0.1:4567/fhir", vendor: "healow", practice: null, client_id: null }]);
    // Connected: the list shows it by who made it and where, and the form is empty again.
    expect($(view, ".connection .connection-name").textContent).toBe("Portal at 127.0.0.1:4567, made by eClinicalWorks (healow)");
    expect($<HTMLInputElement>(view, "#portal-url").value).toBe("");
    expect($<HTMLSelectElement>(view, "#portal-vendor").value).toBe("");
    expect($(view, "#client-id-field").hidden).toBe(true);
  });

  it("asks for the practice when athenahealth made it, and sends the patient's own client id", async () => {
    const connects = portals([], () => connection({ id: 3, vendor: "athena" }));
    const view = show();
    await tick();
    $<HTMLInputElement>(view, "#portal-url").value = "https://ath.example/fhir";
    choose(view, "#portal-vendor", "athena");
    expect($(view, "#practice-field").hidden).toBe(false);
    $<HTMLInputElement>(view, "#portal-practice").value = " 1234 ";
    $<HTMLInputElement>(view, "#portal-client-id").value = " my-own-id ";
    $(view, "#connect-url").click();
    await tick();
    expect(connects).toEqual([{ url: "https://ath.example/fhir", vendor: "athena", practice: "1234", client_id: "my-own-id" }]);
  });

  it("says what is missing when there is no address, and sends nothing", async () => {
    const connects = portals([]);
    const view = show();
    await tick();
    $(view, "#connect-url").click();
    await tick();
    expect($(view, "#connect-form .error").textContent).toBe("Find your provider above, or type the portal's address.");
    expect(connects).toEqual([]);
  });

  it("shows the core's sentence when connecting fails, and keeps what was typed", async () => {
    const sentence = "eClinicalWorks (healow) accepts only OwnRecord's app redirect.";
    const connects = portals([], () => {
      throw { code: "redirect_not_accepted", message: sentence };
    });
    const view = show();
    await tick();
    $<HTMLInputElement>(view, "#portal-url").value = "http://127.0.0.1:4567/fhir";
    choose(view, "#portal-vendor", "healow");
    $(view, "#connect-url").click();
    await tick();
    expect(connects.length).toBe(1);
    expect($(view, ":scope > .error").textContent).toBe(sentence);
    expect($(view, "#sign-in").hidden).toBe(true);
    expect($<HTMLInputElement>(view, "#portal-url").value).toBe("http://127.0.0.1:4567/fhir");
    expect($<HTMLSelectElement>(view, "#portal-vendor").value).toBe("healow");
  });
});

describe("finding your provider", () => {
  it("a chosen athenahealth practice comes with its practice id, which the patient can change", async () => {
    const connects = portals([], () => connection({ id: 4, name: eastside.name, vendor: "athena" }));
    const view = show();
    await tick();
    await search(view, "eastside");
    const found = [...view.querySelectorAll(".directory li")].map((li) => li.textContent);
    expect(found).toEqual(["Eastside Family MedicineBoston, MAChoose", "Mercy ClinicBoston, MAChoose"]);
    $(view, ".directory li .choose").click();
    expect($(view, "#chosen-portal").hidden).toBe(false);
    expect($(view, "#chosen-portal span").textContent).toBe("Connecting to Eastside Family Medicine (made by athenahealth).");
    // The directory says who made it: no address or "Made by" to fill in.
    expect($(view, "#unlisted-portal").hidden).toBe(true);
    expect($(view, "#practice-field").hidden).toBe(false);
    expect($<HTMLInputElement>(view, "#portal-practice").value).toBe("195900");
    expect($(view, "#client-id-label").textContent).toBe("Your own client id for athenahealth (optional)");
    $<HTMLInputElement>(view, "#portal-practice").value = "195901";
    $(view, "#connect-url").click();
    await tick();
    expect(connects).toEqual([{ url: eastside.fhir_base, vendor: "athena", practice: "195901", client_id: null }]);
  });

  it("another vendor's portal needs no practice; its client id in use is shown", async () => {
    const connects = portals([]);
    const view = show();
    await tick();
    await search(view, "mercy");
    view.querySelectorAll<HTMLButtonElement>(".directory li .choose")[1].click();
    expect($(view, "#practice-field").hidden).toBe(true);
    expect($<HTMLInputElement>(view, "#portal-client-id").placeholder).toBe("In use: epic-own-id");
    $(view, "#connect-url").click();
    await tick();
    expect(connects).toEqual([{ url: mercy.fhir_base, vendor: "epic", practice: null, client_id: null }]);
  });

  it("'Another portal' goes back to the address and 'Made by'", async () => {
    portals([]);
    const view = show();
    await tick();
    await search(view, "eastside");
    $(view, ".directory li .choose").click();
    $(view, "#choose-other").click();
    expect($(view, "#chosen-portal").hidden).toBe(true);
    expect($(view, "#unlisted-portal").hidden).toBe(false);
    expect($(view, "#practice-field").hidden).toBe(true);
    expect($<HTMLInputElement>(view, "#portal-practice").value).toBe("");
  });
});

describe("each connection's health", () => {
  it("a connection that is well: its name, its last sync, Sync, and no sentence", async () => {
    portals([connection({})]);
    const view = show();
    await tick();
    const item = $(view, ".connection");
    expect($(item, ".connection-name").textContent).toBe("Mercy Clinic");
    expect($(item, ".status").textContent).toBe("Last synced 2026-02-03 04:05");
    expect($(item, ".attention").hidden).toBe(true);
    expect([...item.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Sync", "Disconnect"]);
  });

  it("signed out: the core's sentence and Sign in again, which signs in at the same portal", async () => {
    const sentence = "Sign in to Mercy Clinic again to keep your record up to date.";
    const connects = portals([connection({ status: "needs_sign_in", attention: sentence, attention_kind: "sign_in", last_sync_at: null })]);
    const view = show();
    await tick();
    const item = $(view, ".connection");
    expect($(item, ".status").textContent).toBe("Not synced yet");
    expect($(item, ".attention").hidden).toBe(false);
    expect($(item, ".attention").textContent).toBe(sentence);
    expect([...item.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Sign in again", "Disconnect"]);
    $(item, ".again").click();
    await tick();
    expect(connects).toEqual([{ url: "https://fhir.mercy.example/api/FHIR/R4", vendor: "epic", practice: null, client_id: null }]);
  });

  it("something else needs the patient: the sentence, with Sync and Sign in again", async () => {
    const sentence = "OwnRecord has no client id for Mercy Clinic: set one to sign in there.";
    portals([connection({ attention: sentence, attention_kind: "client_id" })]);
    const view = show();
    await tick();
    const item = $(view, ".connection");
    expect($(item, ".attention").textContent).toBe(sentence);
    expect([...item.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Sync", "Sign in again", "Disconnect"]);
  });

  it("a portal that did not answer: the sentence, and Sync only", async () => {
    const sentence = "Mercy Clinic did not answer as expected at the last sync: it will be tried again.";
    portals([connection({ attention: sentence, attention_kind: "portal" })]);
    const view = show();
    await tick();
    const item = $(view, ".connection");
    expect($(item, ".attention").textContent).toBe(sentence);
    expect([...item.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Sync", "Disconnect"]);
  });

  it("signing in again at athenahealth reuses the practice the connection has", async () => {
    const connects = portals([connection({ name: eastside.name, fhir_base: eastside.fhir_base, vendor: "athena", practice: "195900", status: "needs_sign_in", attention_kind: "sign_in", attention: "Sign in again." })]);
    const view = show();
    await tick();
    $(view, ".connection .again").click();
    await tick();
    expect(connects).toEqual([{ url: eastside.fhir_base, vendor: "athena", practice: "195900", client_id: null }]);
  });

  it("signing in again at athenahealth asks for the practice first", async () => {
    const connects = portals([connection({ name: eastside.name, fhir_base: eastside.fhir_base, vendor: "athena", status: "needs_sign_in", attention: "Sign in to Eastside Family Medicine again to keep your record up to date." })]);
    const view = show();
    await tick();
    $(view, ".connection .again").click();
    await tick();
    expect(connects).toEqual([]);
    expect($(view, "#chosen-portal span").textContent).toBe("Connecting to Eastside Family Medicine (made by athenahealth).");
    expect($(view, "#practice-field").hidden).toBe(false);
    expect(document.activeElement).toBe($(view, "#portal-practice"));
    $<HTMLInputElement>(view, "#portal-practice").value = "195900";
    $(view, "#connect-url").click();
    await tick();
    expect(connects).toEqual([{ url: eastside.fhir_base, vendor: "athena", practice: "195900", client_id: null }]);
  });
});

describe("a connection's name", () => {
  const vendorsByCode = vendors;
  it("is the directory's name, or where the portal is and who made it, never a bare host", () => {
    expect(connectionName(connection({}), vendorsByCode)).toBe("Mercy Clinic");
    expect(connectionName(connection({ name: "127.0.0.1", fhir_base: "http://127.0.0.1:4567/fhir", vendor: "healow" }), vendorsByCode)).toBe(
      "Portal at 127.0.0.1:4567, made by eClinicalWorks (healow)",
    );
    expect(connectionName(connection({ name: "fhir.example.org", fhir_base: "https://fhir.example.org/r4", vendor: null }), vendorsByCode)).toBe("Portal at fhir.example.org");
  });
});

describe("a lock during a job", () => {
  it("a sync stopped by a lock says so calmly in the connection's status, with no error", async () => {
    const sentence = "The sync was stopped before it finished. Everything downloaded so far is kept; the next sync goes on from there.";
    mockIPC((cmd) => {
      if (cmd === "connections") return [connection({})];
      if (cmd === "people" || cmd === "portal_vendors") return [];
      if (cmd === "sync_portal") throw { code: "sync_stopped", message: sentence };
    });
    const view = show();
    await tick();
    $(view, ".connection .sync").click();
    await tick(5);
    expect($(view, ".connection .status").textContent).toBe(sentence);
    expect(view.querySelector(".error")).toBeNull();
    expect($(view, ".connection .sync-progress").hidden).toBe(true);
  });

  it("a sign-in stopped by a lock ends with nothing to say", async () => {
    portals([], () => {
      throw { code: "sign_in_stopped", message: "The sign-in was stopped before it finished. Nothing was connected; connect again to sign in." };
    });
    const view = show();
    await tick();
    $(view, "#connect-demo").click();
    await tick(5);
    expect(view.querySelector(".error")).toBeNull();
    expect($(view, "#sign-in").hidden).toBe(true);
  });
});
