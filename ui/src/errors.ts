import { AppError } from "./api";
import { h } from "./dom";

/** Shows a patient-facing error at the top of `where` (replacing an earlier one). */
export function showError(where: HTMLElement, e: unknown): void {
  const message = e instanceof AppError ? e.message : "Something went wrong. Nothing was changed.";
  where.querySelector(":scope > .error")?.remove();
  where.prepend(h("p", { class: "error", role: "alert" }, message));
}
