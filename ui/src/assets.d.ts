// Vite's `?url` imports: a file bundled as a local asset, imported as its URL.
declare module "*?url" {
  const url: string;
  export default url;
}
