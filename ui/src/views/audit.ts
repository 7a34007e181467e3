// The audit & disclosure log: every unlock, sync, export, share and deletion, and whether the
// chain of entries is intact.
import { api } from "../api";
import { clear, h } from "../dom";
import { showError } from "../errors";

export function describe(details: unknown): string {
  if (!details || typeof details !== "object") return "";
  const d = details as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of ["what", "recipient", "purpose", "file", "portal", "new"]) {
    if (d[key] !== undefined && d[key] !== null) parts.push(key === "new" ? `${d[key]} new` : String(d[key]));
  }
  if (Array.isArray(d.sections)) parts.push(`sections: ${d.sections.join(", ")}`);
  return parts.join(" · ");
}

export function auditView(): HTMLElement {
  const status = h("p", { id: "audit-status" }, "Checking the log…");
  const filter = h("select", { id: "audit-filter", "aria-label": "Show" }, h("option", { value: "all" }, "Everything"), h("option", { value: "disclosures" }, "Only what I gave out"));
  const rows = h("tbody", { id: "audit-rows" });
  const view = h("section", {}, h("h1", {}, "Audit log"), status, filter, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "When"), h("th", {}, "What"), h("th", {}, "Details"))), rows));
  const load = async () => {
    try {
      const entries = await api.auditLog(filter.value === "disclosures");
      clear(rows);
      for (const e of entries.slice().reverse()) {
        rows.appendChild(h("tr", {}, h("td", {}, String(e.seq)), h("td", {}, e.at.slice(0, 19).replace("T", " ")), h("td", { class: "kind" }, e.kind), h("td", {}, describe(e.details))));
      }
    } catch (e) {
      showError(view, e);
    }
  };
  filter.addEventListener("change", () => void load());
  void api
    .auditVerify()
    .then((v) => {
      status.textContent = `The log is intact: ${v.entries} entries, none changed.`;
      status.className = "ok";
    })
    .catch((e) => {
      status.textContent = e.message;
      status.className = "error";
    });
  void load();
  return view;
}
