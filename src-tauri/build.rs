/// Every command the window may call; each gets an `allow-<name>` permission.
const COMMANDS: &[&str] = &[
    "vault_status",
    "create_vault",
    "unlock",
    "lock",
    "restore_backup",
    "new_recovery_key",
    "backup_status",
    "set_backup_folder",
    "back_up_now",
    "choose_backup_folder",
    "people",
    "rename_person",
    "link_people",
    "unlink_source",
    "remove_person",
    "record_summary",
    "home",
    "visits",
    "list_items",
    "resource_detail",
    "document_view",
    "save_document",
    "document_original",
    "search_record",
    "lab_trend",
    "portal_directory",
    "portal_vendors",
    "connections",
    "connect_portal",
    "sync_portal",
    "disconnect_portal",
    "choose_import_file",
    "import_file",
    "choose_save_path",
    "export_pdf",
    "export_ips",
    "share_hosts",
    "add_share_host",
    "add_demo_share_host",
    "remove_share_host",
    "share_preview",
    "share",
    "share_pdf",
    "shares",
    "refresh_shares",
    "revoke_share",
    "research_preview",
    "research_give",
    "research_cancel",
    "studies",
    "stop_study",
    "audit_log",
    "audit_verify",
    "wipe",
];

fn main() {
    // The statically linked SQLCipher exports sqlite3_* symbols that WebKit/libsoup would otherwise call.
    println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(manifest);
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
