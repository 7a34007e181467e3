// The app's IPC: one typed function per shell command. Types come from Rust (ui/src/bindings).
import { Channel, invoke } from "@tauri-apps/api/core";
import type { AuditEntry } from "./bindings/AuditEntry";
import type { Category } from "./bindings/Category";
import type { Connection } from "./bindings/Connection";
import type { DirectoryEntry } from "./bindings/DirectoryEntry";
import type { LabSeries } from "./bindings/LabSeries";
import type { ListPage } from "./bindings/ListPage";
import type { ResourceDetail } from "./bindings/ResourceDetail";
import type { SearchHit } from "./bindings/SearchHit";
import type { Section } from "./bindings/Section";
import type { ShareForm } from "./bindings/ShareForm";
import type { ShareView } from "./bindings/ShareView";
import type { Summary } from "./bindings/Summary";
import type { SyncProgress } from "./bindings/SyncProgress";
import type { SyncReport } from "./bindings/SyncReport";
import type { VaultStatus } from "./bindings/VaultStatus";
import type { Verified } from "./bindings/Verified";
import type { WipeReport } from "./bindings/WipeReport";
import type { WrittenFile } from "./bindings/WrittenFile";

/** An error from the core: a stable code and a sentence a patient understands. */
export class AppError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e && "message" in e) {
      throw new AppError(String(e.code), String(e.message));
    }
    throw new AppError("internal", "Something went wrong inside OwnRecord. Nothing was changed.");
  }
}

export const api = {
  vaultStatus: () => call<VaultStatus>("vault_status"),
  createVault: (passphrase: string | null) => call<VaultStatus>("create_vault", { passphrase }),
  unlock: (passphrase: string | null) => call<VaultStatus>("unlock", { passphrase }),
  lock: () => call<VaultStatus>("lock"),
  summary: () => call<Summary>("record_summary"),
  list: (category: Category, offset: number, limit: number) =>
    call<ListPage>("list_items", { category, offset, limit }),
  resource: (resourceType: string, id: string) =>
    call<ResourceDetail>("resource_detail", { resourceType, id }),
  search: (text: string) => call<SearchHit[]>("search_record", { text }),
  labTrend: (code: string) => call<LabSeries>("lab_trend", { code }),
  directory: (text: string) => call<DirectoryEntry[]>("portal_directory", { text }),
  connections: () => call<Connection[]>("connections"),
  connect: (url: string, onSignIn: (url: string) => void) => {
    const channel = new Channel<string>();
    channel.onmessage = onSignIn;
    return call<Connection>("connect_portal", { url, onSignIn: channel });
  },
  sync: (id: number, onProgress: (p: SyncProgress) => void) => {
    const channel = new Channel<SyncProgress>();
    channel.onmessage = onProgress;
    return call<SyncReport>("sync_portal", { id, onProgress: channel });
  },
  disconnect: (id: number) => call<boolean>("disconnect_portal", { id }),
  chooseSavePath: (suggestedName: string) => call<string | null>("choose_save_path", { suggestedName }),
  exportPdf: (path: string, sections: Section[], since: string | null) =>
    call<WrittenFile>("export_pdf", { path, sections, since }),
  exportIps: (path: string, sections: Section[], since: string | null) =>
    call<WrittenFile>("export_ips", { path, sections, since }),
  share: (form: ShareForm) => call<ShareView>("share", { form }),
  auditLog: (disclosuresOnly: boolean) => call<AuditEntry[]>("audit_log", { disclosuresOnly }),
  auditVerify: () => call<Verified>("audit_verify"),
  wipe: (confirmation: string) => call<WipeReport>("wipe", { confirmation }),
};
