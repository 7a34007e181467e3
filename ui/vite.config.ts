import { defineConfig } from "vite";

// The app's window loads ui/dist (tauri.conf.json frontendDist); no dev server is needed.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "safari15", sourcemap: false },
  // The stylesheet is read as text by the tests of its print rules; test-setup.ts gives jsdom
  // what uPlot needs to load.
  test: { environment: "jsdom", include: ["src/**/*.test.ts"], setupFiles: ["src/test-setup.ts"], css: { include: [/style\.css/] } },
});
