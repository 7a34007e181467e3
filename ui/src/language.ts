// uPlot 1.6.32 makes an Intl.NumberFormat of navigator.language as it loads, which throws on a
// tag that is not BCP 47: Linux locales such as "C" or "en-US@posix" reach the webview as they
// are (uPlot issue #1053, fixed after 1.6.32). chart.ts imports this first, so that such a window
// has a valid tag before uPlot loads.

/** `tag` when Intl takes it; else its language and region ("de_DE.UTF-8" is de-DE); else en-US. */
export function validLanguage(tag: string): string {
  for (const candidate of [tag, tag.split(/[@.]/)[0].replace(/_/g, "-")]) {
    try {
      if (candidate) {
        new Intl.NumberFormat(candidate);
        return candidate;
      }
    } catch {
      // Not a tag Intl knows: try the next.
    }
  }
  return "en-US";
}

if (typeof navigator !== "undefined") {
  const valid = validLanguage(navigator.language);
  if (valid !== navigator.language) Object.defineProperty(navigator, "language", { value: valid, configurable: true });
}
