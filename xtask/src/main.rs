//! `cargo xtask run | test | bench import`: the developer commands, including the system
//! packages they need. Std only, so it builds in seconds on a fresh machine.
//!
//! - `run`: installs missing build packages, starts the demo portal, a local share host (its
//!   address and an owner token passed to the app) and the desktop app.
//! - `test`: installs missing build/test packages, the Python SQLCipher client and the npm test
//!   peers (oidc-provider, medplum, axe-core for the app's accessibility scan), then runs
//!   fmt, clippy, the dependency-boundary check and every test under a private D-Bus session with
//!   an unlocked gnome-keyring (the real Secret Service).
//! - `bench [import|sync|browse|home|search|backup|pdf|ccda|app|share-host]`: the benchmarks, in release mode
//!   (`ccda` first installs the npm and PyPI C-CDA converters it compares with).
//! - `bundle`: the Linux packages (.deb, AppImage) with the Tauri CLI from npm.
//! - `fuzz TARGET|all [--minutes N] | fuzz TARGET --replay PATH`: AFL++ on one parser, or each
//!   in turn (see fuzz.rs; `fuzz list` names the targets).

mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Debian packages to build the workspace (the Tauri shell needs WebKitGTK).
const BUILD_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libxdo-dev",
    "libssl-dev",
];

/// Debian packages the tests use as real peers and tools.
const TEST_PACKAGES: &[&str] = &[
    "xvfb",
    "xauth",
    "dbus",
    "dbus-x11",
    "gnome-keyring",
    "libsecret-tools",
    "python3-venv",
    // The real app through WebDriver.
    "webkit2gtk-driver",
    // Third-party readers of what OwnRecord exports.
    "age",
    "zbar-tools",
    "qpdf",
    "poppler-utils",
    // Records every socket the CLI opens (nothing but the chosen portal).
    "strace",
    // xdg-mime: the desktop app makes itself the handler of its private-use redirect scheme.
    "xdg-utils",
    // A real browser for the share host's viewer page (headless, through WebDriver).
    "chromium",
    "chromium-driver",
    // Makes the share host's TLS test certificates.
    "openssl",
];

/// PyPI packages the tests use (a third-party SQLCipher client).
const PYTHON_PACKAGES: &[&str] = &["sqlcipher3-binary"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["run"] => run(),
        ["test"] => test(),
        ["test-in-session"] => test_in_session(),
        ["bench", "import"] => bench("import"),
        ["bench", "sync"] => bench("sync"),
        ["bench", "browse"] => bench("browse"),
        ["bench", "search"] => bench("search"),
        ["bench", "home"] => bench("home"),
        ["bench", "backup"] => bench("backup"),
        ["bench", "directory"] => bench("directory"),
        ["directory"] => directory(),
        ["bench", "pdf"] => ensure_apt(&["chromium"]).and_then(|()| bench("pdf")),
        ["bench", "ccda"] => bench_ccda(),
        ["bench", "app"] => bench_app(),
        ["bench", "share-host"] => status(cargo().args([
            "bench",
            "-p",
            "ownrecord-share-host",
            "--bench",
            "share_host",
        ])),
        ["bundle"] => bundle(),
        ["screenshots"] => screenshots(),
        ["fuzz", rest @ ..] => fuzz::fuzz(rest),
        ["bench"] => bench("import")
            .and_then(|()| bench("sync"))
            .and_then(|()| bench("browse"))
            .and_then(|()| ensure_apt(&["chromium"]))
            .and_then(|()| bench("pdf"))
            .and_then(|()| bench_ccda()),
        _ => Err(
            "usage: cargo xtask run | test | bench [import|sync|browse|home|search|backup|directory|pdf|ccda|app|share-host] \
             | directory | bundle | screenshots | fuzz TARGET|all [--minutes N | --replay PATH]"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the repo")
        .to_owned()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(repo_root());
    cmd
}

fn status(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Port of the demo portal that `run` starts (the directory lists it there).
const DEMO_PORT: &str = "8765";

/// Port of the demo share host that `run` starts beside the portal.
const DEMO_SHARE_HOST_PORT: &str = "8766";

/// The vault the printed CLI lines use.
const DEMO_VAULT: &str = "/tmp/ownrecord-demo";

fn run() -> Result {
    ensure_apt(BUILD_PACKAGES)?;
    build_ui()?;
    status(cargo().args([
        "build",
        "-p",
        "ownrecord-cli",
        "-p",
        "ownrecord-desktop",
        "-p",
        "ownrecord-share-host",
    ]))?;
    let bin = repo_root().join("target/debug");
    let _portal = Running::spawn(
        "the demo portal",
        Command::new(bin.join("ownrecord")).args(["demo-portal", "--port", DEMO_PORT]),
    )?;
    eprintln!(
        "xtask: the demo portal is at http://127.0.0.1:{DEMO_PORT}/fhir (sign in as demo / demo). Try:\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} init\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} connect http://127.0.0.1:{DEMO_PORT}/fhir\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} sync"
    );
    let host = DemoShareHost::start(&bin)?;
    let (url, token) = (&host.url, &host.token);
    eprintln!(
        "xtask: the demo share host is at {url} (its data in target/demo-share-host); the desktop \
         offers it in Export & share. With the CLI, after the sync:\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} hosts add {url} --token {token}\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} share --to 'Dr. Lee' --purpose 'Second opinion' \
         --out /tmp/ownrecord-demo-share.age --shl --host {url} --passcode 1234\n    \
         (open the link it prints, {url}/view#shlink:/..., in your browser, passcode 1234)\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} shares\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} shares refresh      # who opened it\n  \
         target/debug/ownrecord --vault {DEMO_VAULT} shares revoke ID    # the link answers 404 from now on"
    );
    let desktop = bin.join("ownrecord-desktop");
    // Without a session bus GTK leaves helper processes behind.
    let mut app = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        let mut wrapped = Command::new("dbus-run-session");
        wrapped.arg("--").arg(&desktop);
        wrapped
    } else {
        Command::new(&desktop)
    };
    app.env("OWNRECORD_DEMO_SHARE_HOST", url)
        .env("OWNRECORD_DEMO_SHARE_HOST_TOKEN", token);
    // The portal and the share host stop (are dropped) when the app exits.
    status(&mut app)
}

/// A child process that is killed and reaped when dropped, so neither an early return nor the
/// app's exit leaves it running.
struct Running(std::process::Child);

impl Running {
    fn spawn(what: &str, cmd: &mut Command) -> Result<Self> {
        cmd.spawn()
            .map(Running)
            .map_err(|e| format!("{what} did not start: {e}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The share host `run` starts on loopback (plain HTTP), with an owner token for the app.
struct DemoShareHost {
    url: String,
    token: String,
    _process: Running,
}

impl DemoShareHost {
    fn start(bin: &Path) -> Result<Self> {
        let exe = bin.join("ownrecord-share-host");
        let data = repo_root().join("target/demo-share-host");
        let addr = format!("127.0.0.1:{DEMO_SHARE_HOST_PORT}");
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Err(format!(
                "something already listens on {addr} (a demo share host left running?): stop it, \
                 then run `cargo xtask run` again"
            ));
        }
        let mut process = Running::spawn(
            "the demo share host",
            Command::new(&exe)
                .arg("--data")
                .arg(&data)
                .args(["--listen", &addr]),
        )?;
        wait_until_answers(&addr, &mut process.0)?;
        let token = demo_owner_token(&exe, &data, &addr)?;
        Ok(DemoShareHost {
            url: format!("http://{addr}"),
            token,
            _process: process,
        })
    }
}

/// Waits (up to 30 s) until the share host at `addr` answers HTTP, or fails if it exits first.
fn wait_until_answers(addr: &str, child: &mut std::process::Child) -> Result {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(format!(
                "the demo share host stopped ({exit}); its message is above"
            ));
        }
        if http_status(addr, "GET", "/", None, "").is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the demo share host did not answer on {addr} within 30 s"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The owner token the demo uses. The host keeps only tokens' hashes, and keeps them across
/// runs, so the token is kept beside its database (a demo on loopback; a real operator hands the
/// token out once) and reused while the host still knows it: a vault that added the host in an
/// earlier run keeps working. Otherwise the host makes a new one (`owner-token`, last line).
fn demo_owner_token(exe: &Path, data: &Path, addr: &str) -> Result<String> {
    let kept = data.join("demo-owner-token");
    if let Ok(token) = std::fs::read_to_string(&kept) {
        let token = token.trim();
        if !token.is_empty() && owner_token_known(addr, token)? {
            return Ok(token.to_owned());
        }
    }
    let out = Command::new(exe)
        .arg("--data")
        .arg(data)
        .arg("owner-token")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the demo share host made no owner token ({})",
            out.status
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or("the demo share host printed no owner token")?
        .to_owned();
    if !owner_token_known(addr, &token)? {
        return Err("the demo share host does not accept the owner token it just made".into());
    }
    std::fs::write(&kept, format!("{token}\n")).map_err(|e| format!("{}: {e}", kept.display()))?;
    Ok(token)
}

/// Whether the host accepts `token`, without creating anything: a link with no files is
/// refused after the token check, so 400 means known and 401 unknown.
fn owner_token_known(addr: &str, token: &str) -> Result<bool> {
    match http_status(addr, "POST", "/api/links", Some(token), r#"{"files":[]}"#) {
        Ok(400) => Ok(true),
        Ok(401) => Ok(false),
        Ok(other) => Err(format!(
            "the demo share host answered {other} to a check of the owner token"
        )),
        Err(e) => Err(format!("the demo share host did not answer on {addr}: {e}")),
    }
}

/// One HTTP/1.1 request over a fresh connection; the answer's status code.
fn http_status(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> std::io::Result<u16> {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line)?;
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP answer: {line:?}"),
            )
        })
}

fn test() -> Result {
    ensure_apt(BUILD_PACKAGES)?;
    ensure_apt(TEST_PACKAGES)?;
    let python = ensure_python_venv()?;
    let ccda_python = ensure_ccda_venv()?;
    ensure_npm(&repo_root().join("tests/peers"))?;
    build_ui()?;
    ensure_tauri_driver()?;
    // Re-enter under a private session bus, where gnome-keyring can run.
    let xtask = std::env::current_exe().map_err(|e| e.to_string())?;
    status(
        Command::new("dbus-run-session")
            .arg("--")
            .arg(xtask)
            .arg("test-in-session")
            .env("OWNRECORD_PYTHON", python)
            .env("OWNRECORD_CCDA_PYTHON", ccda_python)
            .current_dir(repo_root()),
    )
}

/// The README's screenshots, as the last end-to-end run took them (`target/e2e-artifacts/`).
const README_SCREENSHOTS: &[&str] = &["home", "visit", "chart", "19-share-preview"];

/// `cargo xtask screenshots`: copies the README's screenshots from the last `cargo xtask test`
/// run into `docs/screenshots/` (tests/readme.rs checks each is one an end-to-end test takes).
fn screenshots() -> Result {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let from = root.join("target/e2e-artifacts");
    let to = root.join("docs/screenshots");
    std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
    for name in README_SCREENSHOTS {
        let file = format!("{name}.png");
        std::fs::copy(from.join(&file), to.join(&file)).map_err(|e| {
            format!("{file}: {e} (run `cargo xtask test` first: the end-to-end tests take it)")
        })?;
    }
    println!(
        "copied {} screenshots into {}",
        README_SCREENSHOTS.len(),
        to.display()
    );
    Ok(())
}

fn test_in_session() -> Result {
    let keyring_home =
        std::env::temp_dir().join(format!("ownrecord-keyring-{}", std::process::id()));
    std::fs::create_dir_all(&keyring_home).map_err(|e| e.to_string())?;
    let env = start_gnome_keyring(&keyring_home)?;
    let in_session = || {
        let mut cmd = cargo();
        cmd.envs(env.iter().cloned())
            .env("XDG_DATA_HOME", &keyring_home);
        cmd
    };
    status(cargo().args(["fmt", "--all", "--check"]))?;
    status(in_session().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The UI's unit tests (Vitest, mocked IPC), then every Rust test, the app's WebDriver
    // end-to-end test among them.
    status(
        Command::new("npm")
            .args(["test", "--prefix"])
            .arg(repo_root().join("ui")),
    )?;
    status(in_session().args(["test", "--workspace", "--no-fail-fast"]))?;
    let _ = std::fs::remove_dir_all(&keyring_home);
    Ok(())
}

/// Starts gnome-keyring's secrets component, unlocked with a throwaway password, and returns the
/// environment it prints (GNOME_KEYRING_CONTROL, ...).
fn start_gnome_keyring(home: &Path) -> Result<Vec<(String, String)>> {
    use std::io::Write;
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets"])
        .env("XDG_DATA_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("gnome-keyring-daemon: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(b"ownrecord-test-keyring")
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err("gnome-keyring-daemon did not start".into());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect())
}

/// Regenerates `assets/portal-directory.json.gz` from the vendors' lists in `../shared/data/directory`
/// (or `OWNRECORD_DIRECTORY_LISTS`).
fn directory() -> Result {
    let lists = std::env::var_os("OWNRECORD_DIRECTORY_LISTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/directory"));
    status(
        cargo()
            .args([
                "run",
                "--release",
                "-p",
                "ownrecord-core",
                "--example",
                "build_directory",
                "--",
            ])
            .arg(lists)
            .arg(repo_root().join("assets/portal-directory.json.gz")),
    )
}

/// `tauri build`: a release build and the Linux bundles under target/release/bundle/.
fn bundle() -> Result {
    ensure_apt(BUILD_PACKAGES)?;
    let ui = repo_root().join("ui");
    ensure_npm(&ui)?;
    status(
        Command::new(ui.join("node_modules/.bin/tauri"))
            .arg("build")
            .current_dir(repo_root()),
    )
}

/// The desktop app's start-up and memory, through WebDriver (release build, UI built first).
fn bench_app() -> Result {
    ensure_apt(BUILD_PACKAGES)?;
    ensure_apt(&["xvfb", "xauth", "webkit2gtk-driver"])?;
    build_ui()?;
    ensure_tauri_driver()?;
    status(cargo().args(["bench", "-p", "ownrecord-desktop", "--bench", "app"]))
}

/// The C-CDA benchmark, with the peers it compares with: npm @medplum/ccda (tests/peers) and
/// PyPI ccda-to-fhir (its own venv).
fn bench_ccda() -> Result {
    ensure_npm(&repo_root().join("tests/peers"))?;
    let python = ensure_ccda_venv()?;
    status(
        cargo()
            .args(["bench", "-p", "ownrecord-core", "--bench", "ccda"])
            .env("OWNRECORD_CCDA_PYTHON", python),
    )
}

fn bench(name: &str) -> Result {
    status(cargo().args(["bench", "-p", "ownrecord-core", "--bench", name]))
}

/// Installs the Debian packages that are missing (as root, or through sudo).
fn ensure_apt(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        status(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

fn apt_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// The npm packages of the third-party test peers (oidc-provider, medplum's FHIR router).
/// `npm ci` in `dir` when its node_modules is missing or older than its lockfile.
fn ensure_npm(dir: &Path) -> Result {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    let locked = modified(dir.join("package-lock.json"));
    if installed.is_some() && installed >= locked {
        return Ok(());
    }
    status(
        Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(dir),
    )
}

/// Builds the web UI into ui/dist, which the desktop binary embeds.
fn build_ui() -> Result {
    let ui = repo_root().join("ui");
    ensure_npm(&ui)?;
    status(
        Command::new("npm")
            .args(["run", "build", "--prefix"])
            .arg(&ui),
    )
}

/// tauri-driver, the WebDriver front for Tauri apps (in ~/.cargo/bin).
fn ensure_tauri_driver() -> Result {
    let have = Command::new("tauri-driver")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if have {
        return Ok(());
    }
    status(cargo().args(["install", "tauri-driver", "--version", "2.1.0", "--locked"]))
}

/// A venv under target/ with the PyPI packages the tests need; returns its python.
fn ensure_python_venv() -> Result<PathBuf> {
    let venv = repo_root().join("target/xtask-venv");
    let python = venv.join("bin/python3");
    if !python.exists() {
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let have = Command::new(&python)
        .args(["-c", "import sqlcipher3, fhir.resources"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        status(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(PYTHON_PACKAGES)
                .arg("-r")
                .arg(repo_root().join("tests/peers/requirements.txt")),
        )?;
    }
    Ok(python)
}

/// A second venv for the PyPI C-CDA converters (ccda-to-fhir, python-fhir-converter): they need
/// pydantic 2, the fhir.resources 6.4 validator of the first venv pydantic 1. Returns its python.
fn ensure_ccda_venv() -> Result<PathBuf> {
    let venv = repo_root().join("target/xtask-ccda-venv");
    let python = venv.join("bin/python3");
    if !python.exists() {
        status(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let have = Command::new(&python)
        .args(["-c", "import ccda_to_fhir, fhir_converter"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        status(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--only-binary",
                    ":all:",
                    "-r",
                ])
                .arg(repo_root().join("tests/peers/requirements-ccda.txt")),
        )?;
    }
    Ok(python)
}
