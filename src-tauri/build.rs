fn main() {
    // The statically linked SQLCipher exports sqlite3_* symbols that WebKit/libsoup would otherwise call.
    println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
    let manifest = tauri_build::AppManifest::new().commands(&["vault_status"]);
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(manifest);
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
