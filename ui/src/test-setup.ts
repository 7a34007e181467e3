// What the webview has and jsdom lacks, for the modules that load uPlot (chart.ts): uPlot asks
// for the screen's pixel ratio as it loads (matchMedia) and builds its lines as Path2Ds.
window.matchMedia ??= ((query: string) =>
  ({ matches: false, media: query, addEventListener() {}, removeEventListener() {} }) as unknown as MediaQueryList) as typeof window.matchMedia;

class Path {
  constructor() {
    return new Proxy(this, { get: (target, prop) => (prop in target ? Reflect.get(target, prop) : () => {}) });
  }
}
(globalThis as unknown as { Path2D: unknown }).Path2D ??= Path;
