//! Helpers for OwnRecord's tests: where the synthetic patients are, which strings in them are PHI,
//! scanning files for those strings, and reaching the real Secret Service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub mod browser;
pub mod pdf;

/// The Synthea sample patients: `$OWNRECORD_SAMPLE_DATA`, or `shared/data/synthea` beside the repository.
pub fn sample_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OWNRECORD_SAMPLE_DATA") {
        return dir.into();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = repo.join("../shared/data/synthea");
    assert!(
        dir.is_dir(),
        "sample data not found at {} (set OWNRECORD_SAMPLE_DATA)",
        dir.display()
    );
    dir.canonicalize().expect("sample dir resolves")
}

/// The vendors' published patient-access endpoint lists (`shared/data/directory` beside the
/// repository; its README says where each vendor publishes its list).
pub fn directory_lists_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/directory");
    assert!(
        dir.is_dir(),
        "endpoint lists not found at {}",
        dir.display()
    );
    dir.canonicalize()
        .expect("the endpoint list folder resolves")
}

/// The public sample C-CDA documents: `$OWNRECORD_CCDA_DATA`, or `shared/data/ccda` beside the
/// repository (`README.md` and `INDEX.tsv` there name each file's source and licence).
pub fn ccda_dir() -> PathBuf {
    let dir = match std::env::var_os("OWNRECORD_CCDA_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ccda"),
    };
    assert!(
        dir.is_dir(),
        "C-CDA samples not found at {} (set OWNRECORD_CCDA_DATA)",
        dir.display()
    );
    dir.canonicalize()
        .expect("the C-CDA sample folder resolves")
}

/// One sample C-CDA document, by its path in [`ccda_dir`].
pub fn ccda_sample(name: &str) -> PathBuf {
    let file = ccda_dir().join(name);
    assert!(
        file.is_file(),
        "C-CDA sample not found at {}",
        file.display()
    );
    file
}

/// Every sample C-CDA document (each source's folder), sorted.
pub fn ccda_samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(ccda_dir())
        .expect("the C-CDA sample folder is readable")
        .filter_map(|sub| Some(sub.ok()?.path()))
        .filter(|sub| sub.is_dir())
        .flat_map(|sub| std::fs::read_dir(sub).into_iter().flatten())
        .filter_map(|f| Some(f.ok()?.path()))
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    files
}

/// A sample's short name: `source/file`.
pub fn ccda_name(file: &Path) -> String {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let folder = file
        .parent()
        .and_then(|p| p.file_name())
        .unwrap_or_default()
        .to_string_lossy();
    format!("{folder}/{name}")
}

/// Every sample file, in load order: hospital and practitioner files first, then the patients.
pub fn sample_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sample_dir())
        .expect("sample dir is readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        (
            !(name.starts_with("hospital") || name.starts_with("practitioner")),
            name,
        )
    });
    files
}

/// The hospital and practitioner files the patients refer to.
pub fn support_files() -> Vec<PathBuf> {
    let patients = patient_files();
    sample_files()
        .into_iter()
        .filter(|f| !patients.contains(f))
        .collect()
}

/// The patient files only.
pub fn patient_files() -> Vec<PathBuf> {
    sample_files()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with("hospital") && !name.starts_with("practitioner")
        })
        .collect()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("readable")).expect("valid JSON")
}

/// Entries per resourceType in a Bundle file.
pub fn entry_counts(path: &Path) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for entry in read_json(path)["entry"].as_array().expect("a Bundle") {
        let t = entry["resource"]["resourceType"]
            .as_str()
            .expect("resourceType");
        *counts.entry(t.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Identifying strings of every patient in the files: names, street lines, phone numbers,
/// and identifier values (SSN, driver's licence, passport, MRN).
pub fn phi_strings(files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        for entry in read_json(file)["entry"].as_array().into_iter().flatten() {
            let r = &entry["resource"];
            if r["resourceType"] != "Patient" {
                continue;
            }
            for name in r["name"].as_array().into_iter().flatten() {
                found.extend(name["family"].as_str().map(str::to_owned));
                found.extend(
                    name["given"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|g| g.as_str().map(str::to_owned)),
                );
            }
            for address in r["address"].as_array().into_iter().flatten() {
                found.extend(
                    address["line"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.as_str().map(str::to_owned)),
                );
            }
            for telecom in r["telecom"].as_array().into_iter().flatten() {
                found.extend(telecom["value"].as_str().map(str::to_owned));
            }
            for id in r["identifier"].as_array().into_iter().flatten() {
                found.extend(id["value"].as_str().map(str::to_owned));
            }
        }
    }
    // Synthea appends digits to names (e.g. "Abdul218"): scan for the alphabetic stem too.
    let stems: Vec<String> = found
        .iter()
        .map(|s| s.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned())
        .collect();
    found.extend(stems);
    found.retain(|s| s.len() >= 5);
    found.sort();
    found.dedup();
    found
}

/// Every (file, string) where one of `needles` appears in the bytes of a file under `dir`.
pub fn scan_dir(dir: &Path, needles: &[String]) -> Vec<(PathBuf, String)> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            for needle in needles {
                if contains(&bytes, needle.as_bytes()) || contains(&bytes, &utf16le(needle)) {
                    hits.push((path.clone(), needle.clone()));
                }
            }
        }
    }
    hits
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}

/// Fails loudly (never skips) when no Secret Service session is there.
pub fn require_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "these tests use the real Secret Service: run them with `cargo xtask test` \
         (dbus-run-session + an unlocked gnome-keyring)"
    );
}

/// The secret stored for a vault, read back by the third-party `secret-tool` (libsecret).
pub fn keyring_secret(vault_id: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "ownrecord",
            "username",
            &format!("vault-{vault_id}"),
        ])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// Deletes a vault's key from the Secret Service with `secret-tool` (a lost keyring entry).
pub fn clear_keyring_secret(vault_id: &str) {
    let status = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "ownrecord",
            "username",
            &format!("vault-{vault_id}"),
        ])
        .status()
        .expect("secret-tool (libsecret-tools) is installed");
    assert!(status.success(), "secret-tool clear failed");
    assert!(keyring_secret(vault_id).is_none(), "the entry is gone");
}

/// The vault id recorded in a vault directory's vault.json.
pub fn vault_id(dir: &Path) -> String {
    read_json(&dir.join("vault.json"))["vault_id"]
        .as_str()
        .expect("vault_id")
        .to_owned()
}

/// The third-party checkers the tests call: FHIR validators, the SMART Health Link resolver
/// (Node and Python, under `tests/peers`; `cargo xtask test` installs them), and Debian's
/// qpdf, pdftotext, age and zbarimg.
pub mod checkers {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::Value;

    pub fn peers_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers");
        assert!(
            dir.join("node_modules").is_dir(),
            "the test peers are not installed: run `npm ci --prefix tests/peers` (cargo xtask test does)"
        );
        dir
    }

    /// The Python with the test packages: `$OWNRECORD_PYTHON` (set by `cargo xtask test`).
    pub fn python() -> PathBuf {
        std::env::var_os("OWNRECORD_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/xtask-venv/bin/python3")
            })
    }

    /// Runs a checker that prints one JSON object; exit 0 = pass, 1 = fail, anything else panics.
    fn checker(cmd: &mut Command) -> (bool, Value) {
        let out = cmd.output().expect("the checker runs");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "the checker printed no JSON: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        match out.status.code() {
            Some(0) => (true, json),
            Some(1) => (false, json),
            other => panic!("the checker failed to run ({other:?}): {json}"),
        }
    }

    /// Errors from all three FHIR R4 validators (@medplum/core, FHIR.js, fhir.resources 6.4).
    pub fn fhir_errors(file: &Path) -> Vec<String> {
        let mut errors = Vec::new();
        let (_, node) = checker(
            Command::new("node")
                .arg(peers_dir().join("validate-fhir.mjs"))
                .arg(file),
        );
        let (_, py) = checker(
            Command::new(python())
                .arg(peers_dir().join("validate_fhir_resources.py"))
                .arg(file),
        );
        for (validator, report) in [
            ("medplum", &node["medplum"]),
            ("fhir.js", &node["fhirjs"]),
            ("fhir.resources", &py["fhir_resources"]),
        ] {
            let list = report["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{validator} reported nothing: {report}"));
            errors.extend(list.iter().map(|e| format!("{validator}: {e}")));
        }
        errors
    }

    /// Resolves a `shlink:/` with npm kill-the-clipboard (over HTTP); `Err` holds its report.
    pub fn resolve_shl(link: &str) -> Result<Value, Value> {
        let (ok, report) = checker(
            Command::new("node")
                .arg(peers_dir().join("shl-resolve.mjs"))
                .arg(link)
                .args(["--recipient", "Dr. Test"]),
        );
        if ok { Ok(report) } else { Err(report) }
    }

    /// `qpdf --check`: true when the PDF is sound.
    pub fn qpdf_ok(pdf: &Path) -> bool {
        Command::new("qpdf")
            .arg("--check")
            .arg(pdf)
            .output()
            .expect("qpdf runs (apt install qpdf)")
            .status
            .success()
    }

    /// The PDF's text in content order (`pdftotext -raw`), whitespace collapsed to single spaces.
    pub fn pdf_text(pdf: &Path) -> String {
        let out = Command::new("pdftotext")
            .args(["-raw", "-enc", "UTF-8"])
            .arg(pdf)
            .arg("-")
            .output()
            .expect("pdftotext runs (apt install poppler-utils)");
        assert!(out.status.success(), "pdftotext failed");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Decrypts an age file with Debian's `age` CLI, typing the passphrase on a pseudo-terminal
    /// (age reads it only from a terminal). True when it decrypted.
    pub fn age_decrypt(file: &Path, passphrase: &str, out: &Path) -> bool {
        use std::io::Write;
        let command = format!("age -d -o '{}' '{}'", out.display(), file.display());
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("script and age run (apt install age bsdutils)");
        let mut stdin = child.stdin.take().unwrap();
        let _ = writeln!(stdin, "{passphrase}");
        drop(stdin);
        child.wait().unwrap().success() && out.exists()
    }

    /// The text of the QR code in a PNG, read by `zbarimg`.
    pub fn read_qr(png: &Path) -> String {
        let out = Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(png)
            .output()
            .expect("zbarimg runs (apt install zbar-tools)");
        assert!(out.status.success(), "zbarimg found no code");
        String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
    }
}

/// Driving the real desktop app: `tauri-driver` (2.1.0) in front of Debian's WebKitWebDriver,
/// under its own Xvfb display.
pub mod webdriver {
    use std::net::TcpListener;
    use std::path::Path;
    use std::process::{Child, Command};
    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    use fantoccini::{Client, ClientBuilder};

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// One app at a time per test process: `xvfb-run -a` picks its display number racily, and
    /// two apps would share the keyring and the screen.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// tauri-driver under its own X server; killed with its whole process group when dropped.
    pub struct Driver {
        child: Child,
        port: u16,
        _turn: MutexGuard<'static, ()>,
    }

    impl Driver {
        /// Starts tauri-driver (and, through it, the app) with `env`.
        pub fn start(env: &[(&str, &str)]) -> Driver {
            use std::os::unix::process::CommandExt;
            let found = Command::new("tauri-driver").arg("--help").output();
            assert!(
                found.is_ok(),
                "tauri-driver is not installed: cargo install tauri-driver --version 2.1.0 --locked (cargo xtask test does)"
            );
            let turn = ONE_AT_A_TIME
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let port = free_port();
            let native = free_port();
            let mut cmd = Command::new("xvfb-run");
            cmd.args(["-a", "-s", "-screen 0 1280x800x24", "tauri-driver"])
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native.to_string(),
                ])
                .envs(env.iter().copied())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0);
            // Dropping the driver kills and reaps the whole group, also if it never answers.
            let driver = Driver {
                child: cmd.spawn().expect("xvfb-run starts (apt install xvfb)"),
                port,
                _turn: turn,
            };
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return driver;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("tauri-driver did not start");
        }

        /// A WebDriver session with the app at `app` (which tauri-driver starts).
        pub async fn session(&self, app: &Path) -> Client {
            let mut caps = serde_json::Map::new();
            caps.insert(
                "tauri:options".into(),
                serde_json::json!({ "application": app }),
            );
            // Plain HTTP to tauri-driver on loopback. It accepts connections a moment before
            // WebKitWebDriver behind it can start a session: a few tries.
            let mut tries = 0;
            loop {
                let attempt =
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                        .capabilities(caps.clone())
                        .connect(&format!("http://127.0.0.1:{}", self.port))
                        .await;
                match attempt {
                    Ok(client) => return client,
                    Err(e) if tries < 10 => {
                        tries += 1;
                        eprintln!("no WebDriver session yet ({e}); trying again");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("no WebDriver session with the app: {e}"),
                }
            }
        }
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = self.child.wait();
        }
    }
}
