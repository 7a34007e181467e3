// Placeholder page until the full UI lands (ui/ with Vite). Text only: never innerHTML.
const status = document.getElementById("status");
window.__TAURI_INTERNALS__
  .invoke("vault_status")
  .then((s) => {
    status.textContent = s.exists
      ? `Your vault is in ${s.dir}. Use the ownrecord command to import and search it.`
      : `No vault yet. It will live in ${s.dir}.`;
  })
  .catch((e) => {
    status.textContent = e && e.message ? e.message : "Something went wrong.";
  });
