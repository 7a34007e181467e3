// Files dropped on the window: Tauri's own drag-and-drop events (the webview's HTML5 drop gives
// no paths), which carry the paths of the dropped files. The window listens only while unlocked.
import { getCurrentWebview } from "@tauri-apps/api/webview";

/**
 * Calls `onDrop` with the paths of files dropped on the window, and `onHover` while files are
 * dragged over it. Resolves to the function that stops listening.
 */
export async function listenForDrops(onDrop: (paths: string[]) => void, onHover: (over: boolean) => void): Promise<() => void> {
  const unlisten = await getCurrentWebview().onDragDropEvent((event) => {
    const p = event.payload;
    if (p.type === "enter" || p.type === "over") {
      onHover(true);
    } else if (p.type === "drop") {
      onHover(false);
      if (p.paths.length > 0) onDrop(p.paths);
    } else {
      onHover(false);
    }
  });
  return unlisten;
}
