// The app's IPC: one typed function per shell command. Types come from Rust (ui/src/bindings).
import { Channel, invoke } from "@tauri-apps/api/core";
import type { AuditEntry } from "./bindings/AuditEntry";
import type { BackupReport } from "./bindings/BackupReport";
import type { BackupsView } from "./bindings/BackupsView";
import type { Category } from "./bindings/Category";
import type { ConnectForm } from "./bindings/ConnectForm";
import type { Connection } from "./bindings/Connection";
import type { CreatedVault } from "./bindings/CreatedVault";
import type { DirectoryEntry } from "./bindings/DirectoryEntry";
import type { DocumentOf } from "./bindings/DocumentOf";
import type { DocumentView } from "./bindings/DocumentView";
import type { ImportProgress } from "./bindings/ImportProgress";
import type { ImportReport } from "./bindings/ImportReport";
import type { LabSeries } from "./bindings/LabSeries";
import type { HostView } from "./bindings/HostView";
import type { Home } from "./bindings/Home";
import type { ListPage } from "./bindings/ListPage";
import type { OwnAdded } from "./bindings/OwnAdded";
import type { OwnEntry } from "./bindings/OwnEntry";
import type { Person } from "./bindings/Person";
import type { PersonChoice } from "./bindings/PersonChoice";
import type { RefreshView } from "./bindings/RefreshView";
import type { ResearchGiven } from "./bindings/ResearchGiven";
import type { ResearchHow } from "./bindings/ResearchHow";
import type { ResearchPreviewView } from "./bindings/ResearchPreviewView";
import type { ResourceDetail } from "./bindings/ResourceDetail";
import type { RestoreReport } from "./bindings/RestoreReport";
import type { SearchHit } from "./bindings/SearchHit";
import type { Section } from "./bindings/Section";
import type { ShareForm } from "./bindings/ShareForm";
import type { SharePreview } from "./bindings/SharePreview";
import type { ShareRecord } from "./bindings/ShareRecord";
import type { ShareView } from "./bindings/ShareView";
import type { Study } from "./bindings/Study";
import type { Summary } from "./bindings/Summary";
import type { SyncProgress } from "./bindings/SyncProgress";
import type { SyncReport } from "./bindings/SyncReport";
import type { VaultStatus } from "./bindings/VaultStatus";
import type { VisitPage } from "./bindings/VisitPage";
import type { Vendor } from "./bindings/Vendor";
import type { Verified } from "./bindings/Verified";
import type { WipeReport } from "./bindings/WipeReport";
import type { WrittenFile } from "./bindings/WrittenFile";

/** What the window adds itself; a file goes by its path (`addUpload`), never as bytes. */
export type OwnForm = Exclude<OwnEntry, { kind: "upload" }>;

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
  /** The new vault's recovery key comes back once, to be shown and never kept. */
  createVault: (passphrase: string | null) => call<CreatedVault>("create_vault", { passphrase }),
  unlock: (passphrase: string | null, recoveryKey: string | null = null) => call<VaultStatus>("unlock", { passphrase, recoveryKey }),
  lock: () => call<VaultStatus>("lock"),
  /** Restores the newest backup in `from` into the app's (empty) vault folder and opens it. */
  restoreBackup: (from: string, recoveryKey: string | null, passphrase: string | null) =>
    call<RestoreReport>("restore_backup", { from, recoveryKey, passphrase }),
  /** A new recovery key, shown once; the old one stops opening the vault. */
  newRecoveryKey: () => call<string>("new_recovery_key"),
  backupStatus: () => call<BackupsView>("backup_status"),
  /** `null` stops automatic backups. */
  setBackupFolder: (folder: string | null) => call<BackupsView>("set_backup_folder", { folder }),
  backUpNow: () => call<BackupReport>("back_up_now"),
  chooseBackupFolder: () => call<string | null>("choose_backup_folder"),
  people: () => call<Person[]>("people"),
  renamePerson: (person: number, name: string) => call<null>("rename_person", { person, name }),
  linkPeople: (keep: number, other: number) => call<null>("link_people", { keep, other }),
  unlinkSource: (person: number, source: number) => call<number>("unlink_source", { person, source }),
  removePerson: (person: number, confirmation: string) => call<number>("remove_person", { person, confirmation }),
  summary: (person: number) => call<Summary>("record_summary", { person }),
  /** Whose home it is (name, age or year of death), the PDF summary's tables (allergies first) and the sources. */
  home: (person: number) => call<Home>("home", { person }),
  /** The days `offset ..offset + limit` of the visits, newest first, each visit with what happened at it. */
  visits: (person: number, offset: number, limit: number) => call<VisitPage>("visits", { person, offset, limit }),
  list: (person: number, category: Category, offset: number, limit: number) =>
    call<ListPage>("list_items", { person, category, offset, limit }),
  resource: (person: number, resourceType: string, id: string) =>
    call<ResourceDetail>("resource_detail", { person, resourceType, id }),
  /** A document with its narrative (sanitised HTML, for a sandboxed frame only) and its entries. */
  documentView: (person: number, id: string, of: DocumentOf = "DocumentReference") => call<DocumentView>("document_view", { person, id, of }),
  saveDocument: (person: number, id: string, path: string, of: DocumentOf = "DocumentReference") => call<WrittenFile>("save_document", { person, id, path, of }),
  /** A document's original, checked against its SHA-256, as raw bytes: a PDF or an image for the window to render. */
  documentOriginal: (person: number, id: string, of: DocumentOf = "DocumentReference") => call<ArrayBuffer>("document_original", { person, id, of }),
  search: (person: number, text: string) => call<SearchHit[]>("search_record", { person, text }),
  labTrend: (person: number, code: string) => call<LabSeries>("lab_trend", { person, code }),
  directory: (text: string) => call<DirectoryEntry[]>("portal_directory", { text }),
  connections: () => call<Connection[]>("connections"),
  /** The vendors for "Made by", each with the client id OwnRecord signs in with there. */
  vendors: () => call<Vendor[]>("portal_vendors"),
  /** Signs in at a portal; `onSignIn` gets the sign-in address (to show if no browser opened). */
  connect: (form: ConnectForm, onSignIn: (url: string) => void) => {
    const channel = new Channel<string>();
    channel.onmessage = onSignIn;
    return call<Connection>("connect_portal", { form, onSignIn: channel });
  },
  /** `person` answers "who is this?" when the portal's first sync asked (`who_is_this`). */
  sync: (id: number, person: PersonChoice | null, onProgress: (p: SyncProgress) => void) => {
    const channel = new Channel<SyncProgress>();
    channel.onmessage = onProgress;
    return call<SyncReport>("sync_portal", { id, person, onProgress: channel });
  },
  chooseImportFile: () => call<string | null>("choose_import_file"),
  /** `person` answers "who is this?" when the import asked (`who_is_this`). */
  importFile: (path: string, person: PersonChoice | null, onProgress: (p: ImportProgress) => void) => {
    const channel = new Channel<ImportProgress>();
    channel.onmessage = onProgress;
    return call<ImportReport>("import_file", { path, person, onProgress: channel });
  },
  disconnect: (id: number) => call<boolean>("disconnect_portal", { id }),
  chooseSavePath: (suggestedName: string) => call<string | null>("choose_save_path", { suggestedName }),
  exportPdf: (person: number, path: string, sections: Section[], since: string | null) =>
    call<WrittenFile>("export_pdf", { person, path, sections, since }),
  exportIps: (person: number, path: string, sections: Section[], since: string | null) =>
    call<WrittenFile>("export_ips", { person, path, sections, since }),
  /** Adds a medicine, allergy, problem, measurement or a note on an entry (`about`: `Type/id`) as the patient's own. */
  addOwn: (person: number, entry: OwnForm) => call<OwnAdded>("add_own", { person, entry }),
  /** The system's open dialog for a PDF or photo; `null` when cancelled. */
  chooseUploadFile: () => call<string | null>("choose_upload_file"),
  /** Adds the PDF or photo at `path` (read by the core, never sent as bytes) as the patient's own. */
  addUpload: (person: number, path: string, title: string) => call<OwnAdded>("add_upload", { person, path, title }),
  shareHosts: () => call<HostView[]>("share_hosts"),
  addShareHost: (url: string, token: string) => call<HostView>("add_share_host", { url, token }),
  /** The share host `cargo xtask run` started on this computer (its token stays in the shell). */
  addDemoShareHost: () => call<HostView>("add_demo_share_host"),
  removeShareHost: (url: string) => call<null>("remove_share_host", { url }),
  /** The summary a share of these sections would hold: what leaves, before it does. */
  sharePreview: (person: number, sections: Section[], since: string | null) => call<SharePreview>("share_preview", { person, sections, since }),
  share: (person: number, form: ShareForm) => call<ShareView>("share", { person, form }),
  /** A PDF for the recipient, logged as given to them (listed under Shared). */
  sharePdf: (person: number, form: ShareForm) => call<WrittenFile>("share_pdf", { person, form }),
  shares: () => call<ShareRecord[]>("shares"),
  /** Asks the share hosts who opened each active link; returns the shares after. */
  refreshShares: () => call<RefreshView>("refresh_shares"),
  revokeShare: (id: string) => call<ShareRecord>("revoke_share", { id }),
  /** Makes the de-identified copy for a study in the shell's memory (nothing is written) and returns its preview and token. */
  researchPreview: (study: string, recipient: string, person: number, keepIntervals: boolean) =>
    call<ResearchPreviewView>("research_preview", { study, recipient, person, keepIntervals }),
  /** Gives exactly the copy `token` names, once the patient agreed to the statement whose SHA-256 is `consentSha256`. */
  researchGive: (token: string, consentSha256: string, how: ResearchHow) => call<ResearchGiven>("research_give", { token, consentSha256, how }),
  /** Drops the previewed copy: nothing written, nothing logged. */
  researchCancel: () => call<null>("research_cancel"),
  studies: () => call<Study[]>("studies"),
  /** "Stop sending updates": a later copy for the study no longer links to the earlier ones. */
  stopStudy: (study: string) => call<Study>("stop_study", { study }),
  auditLog: (disclosuresOnly: boolean) => call<AuditEntry[]>("audit_log", { disclosuresOnly }),
  auditVerify: () => call<Verified>("audit_verify"),
  wipe: (confirmation: string) => call<WipeReport>("wipe", { confirmation }),
};
