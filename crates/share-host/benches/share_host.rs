//! Share host benchmark (not a test): `cargo xtask bench share-host`.
//!
//! The real `ownrecord-share-host` binary (this profile's build) runs as its own process on
//! 127.0.0.1 with a fresh data folder under `target/`. Through its owner API the bench creates
//! 1,000 links, each with one JWE (`dir` / `A256GCM`, made with josekit) of an IPS-sized
//! synthetic bundle (~56 KB of JSON, ~75 KB of JWE), no passcode (the app's flags `""`). Then
//! `OWNRECORD_BENCH_CONCURRENCY` clients (200) fetch for `OWNRECORD_BENCH_SECS` (30 s, after a
//! short unmeasured warm-up) and at most `OWNRECORD_BENCH_MAX_FETCHES` times (1,000,000): the
//! manifest (`POST /shl/{id}` with a recipient), then the file at its single-use `location`, each
//! fetch checked (200, `application/jose`, the JWE's length).
//!
//! Baseline, same run, same client, same requests: a static file server (a second process: this
//! bench binary again, a minimal axum server) that answers the same `POST /shl/{n}` with a manifest
//! file written beforehand and `GET /shl/file/{n}` with the same JWE bytes, read from disk on each
//! request. It is what serving those bytes over HTTP costs on this machine, so the ratio is what
//! the host adds: the link checks, the single-use ticket, the access events, SQLite with
//! `synchronous=NORMAL` in WAL. (tower-http's `ServeDir` is in the tree without its `fs` feature, and a
//! static server answers no POST; the same axum/hyper stack as the host keeps the HTTP layer out
//! of the ratio.)
//!
//! The host limits each client address (20 requests/s, burst 120), so 200 clients on one loopback
//! address would measure its limiter. The load is many recipients each opening a link, so the
//! host runs as it does behind a TLS reverse proxy (`--behind-proxy`: the client is the
//! `X-Forwarded-For` address) and each manifest + file pair comes from its own address; TLS is not
//! measured. The per-link limit (10/s) holds: the fetches go round the 1,000 links.
//!
//! A second, separate phase: 50 links with a passcode (flag P), fetched with the right one by
//! `OWNRECORD_BENCH_PASSCODE_CONCURRENCY` clients (20) for `OWNRECORD_BENCH_PASSCODE_SECS` (10 s).
//! Each check is an Argon2id verification, slow on purpose, so this path is reported apart; the
//! main figures (and the host's peak RSS) are read before it starts.
//!
//! Prints requests/s, p50/p99 latency, the servers' CPU use and peak RSS (VmHWM), the ratios, and
//! the targets (p99 < 50 ms, RSS < 100 MB). The machine is small and the load generator shares it.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const LINKS: usize = 1000;
const PASSCODE_LINKS: usize = 50;
const PASSCODE: &str = "correct horse 42";
/// An IPS of a patient with some history: ~56 KB of JSON.
const PLAINTEXT_BYTES: usize = 56 * 1024;
const WARMUP: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CREATE_CONCURRENCY: u64 = 4;
/// Set in the child that serves the baseline: the folder it serves.
const STATIC_ENV: &str = "OWNRECORD_BENCH_STATIC_ROOT";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if let Some(root) = std::env::var_os(STATIC_ENV) {
        static_server(PathBuf::from(root));
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// A process the bench started; killed when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A line of /proc/PID/status in MB (VmHWM, VmRSS).
fn status_mb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

/// CPU seconds (user + system) the process has used.
fn cpu_secs(pid: u32, ticks_per_sec: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command (which is in parentheses and may hold spaces): state is field 3,
    // utime 14 and stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / ticks_per_sec
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_listening(port: u16, server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "the server exited"
        );
        assert!(Instant::now() < deadline, "the server did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The share host binary on `port`, as behind a proxy (see the module comment).
async fn start_host(data: &Path) -> (Server, String, String) {
    let exe = env!("CARGO_BIN_EXE_ownrecord-share-host");
    let out = Command::new(exe)
        .arg("--data")
        .arg(data)
        .arg("owner-token")
        .output()
        .unwrap();
    assert!(out.status.success(), "owner-token failed");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().trim().to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(exe)
        .arg("--data")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--behind-proxy", "--public-url", &base])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child };
    wait_until_listening(port, &mut server).await;
    (server, base, token)
}

/// This binary again, serving `root` statically; it prints its port.
fn start_static(root: &Path) -> (Server, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(STATIC_ENV, root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the static server's port");
    (Server { child }, format!("http://127.0.0.1:{port}"))
}

/// The baseline: `POST /shl/{n}` answers `root/manifest/{n}.json`, `GET /shl/file/{n}` answers
/// `root/files/{n}.jwe`, each read from disk per request (as a static file server does; the
/// bytes come from the page cache), on a runtime like the host's (multi-threaded, all cores).
fn static_server(root: PathBuf) {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};

    async fn serve(root: &Path, dir: &str, name: &str, ext: &str, ct: &'static str) -> Response {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let path = root.join(dir).join(format!("{name}.{ext}"));
        match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
            Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, ct)], bytes).into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    async fn manifest(State(root): State<Arc<PathBuf>>, UrlPath(n): UrlPath<String>) -> Response {
        serve(&root, "manifest", &n, "json", "application/json").await
    }
    async fn file(State(root): State<Arc<PathBuf>>, UrlPath(n): UrlPath<String>) -> Response {
        serve(&root, "files", &n, "jwe", "application/jose").await
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        let app = axum::Router::new()
            .route("/shl/{n}", post(manifest))
            .route("/shl/file/{n}", get(file))
            .with_state(Arc::new(root));
        axum::serve(listener, app).await.unwrap();
    });
}

/// A client address of its own for request `n` (`X-Forwarded-For`).
fn address(n: u64) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// A synthetic IPS-like bundle of about `PLAINTEXT_BYTES`, different for each link.
fn plaintext(link: usize) -> String {
    let mut entries = Vec::new();
    let mut size = 0;
    let mut i = 0usize;
    while size < PLAINTEXT_BYTES {
        let value = 40 + (link * 7919 + i * 104_729) % 160;
        let entry = json!({
            "fullUrl": format!("urn:uuid:{link:08x}-{i:04x}-4000-8000-000000000000"),
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose [Mass/volume] in Blood"}]},
                "subject": {"reference": format!("urn:uuid:{link:08x}-0000-4000-8000-000000000000")},
                "effectiveDateTime": format!("20{:02}-{:02}-{:02}", 10 + i % 15, 1 + i % 12, 1 + i % 28),
                "valueQuantity": {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
            }
        });
        size += entry.to_string().len() + 1;
        entries.push(entry);
        i += 1;
    }
    json!({"resourceType": "Bundle", "type": "document", "entry": entries}).to_string()
}

/// A compact JWE (dir, A256GCM) under a fresh key, as the app makes them.
fn jwe(plaintext: &str) -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("application/fhir+json");
    let encrypter = josekit::jwe::Dir.encrypter_from_bytes(key).unwrap();
    josekit::jwe::serialize_compact(plaintext.as_bytes(), &header, &encrypter).unwrap()
}

/// A link to fetch: its manifest URL and its JWE's length.
#[derive(Clone)]
struct Target {
    manifest: String,
    jwe_len: usize,
}

/// Creates `count` links (`passcode`: flag P) through the owner API, `CREATE_CONCURRENCY` at a
/// time; writes the same JWEs and a manifest for each under `root` for the static server at
/// `static_base`. Returns the host's and the static server's targets, and the links/s.
async fn create_links(
    bench: &Bench,
    count: usize,
    passcode: Option<&'static str>,
) -> (Vec<Target>, Vec<Target>, f64) {
    let root = &bench.static_root;
    std::fs::create_dir_all(root.join("files")).unwrap();
    std::fs::create_dir_all(root.join("manifest")).unwrap();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CREATE_CONCURRENCY {
        let (http, host, token) = (bench.http.clone(), bench.host.clone(), bench.token.clone());
        let (root, static_base) = (root.to_owned(), bench.static_base.clone());
        let addresses = Arc::clone(&bench.addresses);
        tasks.spawn(async move {
            let mut made = Vec::new();
            for n in (worker as usize..count).step_by(CREATE_CONCURRENCY as usize) {
                let jwe = tokio::task::spawn_blocking(move || jwe(&plaintext(n)))
                    .await
                    .unwrap();
                let mut body = json!({
                    "files": [{"jwe": jwe, "content_type": "application/fhir+json"}],
                    "flags": if passcode.is_some() { "P" } else { "" },
                    "label": format!("bench link {n}"),
                });
                if let Some(p) = passcode {
                    body["passcode"] = json!(p);
                }
                let resp = http
                    .post(format!("{host}/api/links"))
                    .bearer_auth(&token)
                    .header(
                        "x-forwarded-for",
                        address(addresses.fetch_add(1, Ordering::Relaxed)),
                    )
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
                let created: Value = resp.json().await.unwrap();
                let manifest_url = created["manifest_url"].as_str().unwrap().to_owned();
                let name = format!("{}{n}", if passcode.is_some() { "9" } else { "1" });
                std::fs::write(root.join("files").join(format!("{name}.jwe")), &jwe).unwrap();
                let manifest = json!({"files": [{
                    "contentType": "application/fhir+json",
                    "location": format!("{static_base}/shl/file/{name}"),
                }]});
                std::fs::write(
                    root.join("manifest").join(format!("{name}.json")),
                    manifest.to_string(),
                )
                .unwrap();
                let len = jwe.len();
                made.push((
                    n,
                    Target {
                        manifest: manifest_url,
                        jwe_len: len,
                    },
                    Target {
                        manifest: format!("{static_base}/shl/{name}"),
                        jwe_len: len,
                    },
                ));
            }
            made
        });
    }
    let mut all = Vec::new();
    while let Some(made) = tasks.join_next().await {
        all.extend(made.unwrap());
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    all.sort_by_key(|(n, _, _)| *n);
    let (host_targets, static_targets) = all.into_iter().map(|(_, h, s)| (h, s)).unzip();
    (host_targets, static_targets, rate)
}

/// What one load phase measured.
#[derive(Default)]
struct Stats {
    manifest_us: Vec<u32>,
    file_us: Vec<u32>,
    pair_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
    server_cpu_secs: f64,
}

impl Stats {
    fn requests(&self) -> usize {
        self.manifest_us.len() + self.file_us.len()
    }
    fn requests_per_sec(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// One manifest + file fetch; the two latencies, or what went wrong.
async fn fetch(
    http: &reqwest::Client,
    target: &Target,
    from: &str,
    passcode: Option<&str>,
) -> Result<(Duration, Duration), String> {
    let mut body = json!({"recipient": "Dr. Bench (load test)"});
    if let Some(p) = passcode {
        body["passcode"] = json!(p);
    }
    let t0 = Instant::now();
    let resp = http
        .post(&target.manifest)
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("manifest: {}", kind(&e)))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("manifest: {}", resp.status().as_u16()));
    }
    let manifest: Value = resp
        .json()
        .await
        .map_err(|e| format!("manifest: {}", kind(&e)))?;
    let manifest_time = t0.elapsed();
    let location = manifest["files"][0]["location"]
        .as_str()
        .ok_or("manifest: no location")?;
    let t1 = Instant::now();
    let resp = http
        .get(location)
        .header("x-forwarded-for", from)
        .send()
        .await
        .map_err(|e| format!("file: {}", kind(&e)))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("file: {}", resp.status().as_u16()));
    }
    let jose = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "application/jose");
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("file: {}", kind(&e)))?;
    if !jose || bytes.len() != target.jwe_len {
        return Err("file: wrong content type or length".into());
    }
    Ok((manifest_time, t1.elapsed()))
}

fn kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_decode() {
        "bad body"
    } else {
        "transport error"
    }
}

/// `concurrency` clients fetching round the targets for `duration` or `max_fetches` fetches.
async fn load(
    bench: &Bench,
    targets: &Arc<Vec<Target>>,
    passcode: Option<&'static str>,
    concurrency: u64,
    duration: Duration,
    server_pid: u32,
) -> Stats {
    let (pid, ticks) = (server_pid, bench.ticks);
    let max_fetches = bench.max_fetches;
    let cpu_before = cpu_secs(pid, ticks);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (http, targets, next) = (bench.http.clone(), Arc::clone(targets), Arc::clone(&next));
        let addresses = Arc::clone(&bench.addresses);
        tasks.spawn(async move {
            let mut stats = Stats::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= max_fetches || Instant::now() >= deadline {
                    break;
                }
                let target = &targets[(n % targets.len() as u64) as usize];
                let from = address(addresses.fetch_add(1, Ordering::Relaxed));
                let t0 = Instant::now();
                match fetch(&http, target, &from, passcode).await {
                    Ok((m, f)) => {
                        stats.manifest_us.push(micros(m));
                        stats.file_us.push(micros(f));
                        stats.pair_us.push(micros(t0.elapsed()));
                    }
                    Err(e) => *stats.errors.entry(e).or_default() += 1,
                }
            }
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(stats) = tasks.join_next().await {
        let stats = stats.unwrap();
        total.manifest_us.extend(stats.manifest_us);
        total.file_us.extend(stats.file_us);
        total.pair_us.extend(stats.pair_us);
        for (e, n) in stats.errors {
            *total.errors.entry(e).or_default() += n;
        }
    }
    total.elapsed = started.elapsed();
    total.server_cpu_secs = cpu_secs(pid, ticks) - cpu_before;
    total.manifest_us.sort_unstable();
    total.file_us.sort_unstable();
    total.pair_us.sort_unstable();
    total
}

fn report(name: &str, s: &Stats) {
    let mut all: Vec<u32> = s.manifest_us.iter().chain(&s.file_us).copied().collect();
    all.sort_unstable();
    println!(
        "  {name:<14} {:>8.0} req/s ({:>7} fetches in {:>4.1} s)  all requests p50 {:>7.2} ms p99 {:>7.2} ms | \
         manifest p50 {:>7.2} p99 {:>7.2} | file p50 {:>7.2} p99 {:>7.2} | manifest+file p50 {:>7.2} p99 {:>7.2} | \
         server CPU {:>4.2} cores | errors {}",
        s.requests_per_sec(),
        s.pair_us.len(),
        s.elapsed.as_secs_f64(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&s.manifest_us, 0.50),
        percentile(&s.manifest_us, 0.99),
        percentile(&s.file_us, 0.50),
        percentile(&s.file_us, 0.99),
        percentile(&s.pair_us, 0.50),
        percentile(&s.pair_us, 0.99),
        s.server_cpu_secs / s.elapsed.as_secs_f64(),
        s.error_count(),
    );
    for (e, n) in &s.errors {
        println!("      {n} × {e}");
    }
}

fn all_p99(s: &Stats) -> f64 {
    let mut all: Vec<u32> = s.manifest_us.iter().chain(&s.file_us).copied().collect();
    all.sort_unstable();
    percentile(&all, 0.99)
}

fn all_p50(s: &Stats) -> f64 {
    let mut all: Vec<u32> = s.manifest_us.iter().chain(&s.file_us).copied().collect();
    all.sort_unstable();
    percentile(&all, 0.50)
}

fn check_errors(name: &str, s: &Stats) {
    let requests = s.requests() as u64 + s.error_count();
    assert!(
        s.error_count() * 100 <= requests,
        "{name}: more than 1% of fetches failed: {:?}",
        s.errors
    );
}

/// What the phases share: the client, the two servers' addresses, the address counter.
struct Bench {
    http: reqwest::Client,
    host: String,
    token: String,
    static_root: PathBuf,
    static_base: String,
    addresses: Arc<AtomicU64>,
    ticks: f64,
    max_fetches: u64,
}

async fn run() {
    let secs = env_or("OWNRECORD_BENCH_SECS", 30);
    let concurrency = env_or("OWNRECORD_BENCH_CONCURRENCY", 200);
    let max_fetches = env_or("OWNRECORD_BENCH_MAX_FETCHES", 1_000_000);
    let passcode_secs = env_or("OWNRECORD_BENCH_PASSCODE_SECS", 10);
    let passcode_concurrency = env_or("OWNRECORD_BENCH_PASSCODE_CONCURRENCY", 20);

    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("share-host-bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let (mut host, host_base, token) = start_host(&work.join("host")).await;
    let static_root = work.join("static");
    std::fs::create_dir_all(&static_root).unwrap();
    let (static_server, static_base) = start_static(&static_root);
    let bench = Bench {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(passcode_concurrency) as usize)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
        host: host_base,
        token,
        static_root,
        static_base,
        addresses: Arc::new(AtomicU64::new(1)),
        ticks: clock_ticks(),
        max_fetches,
    };

    println!(
        "share-host bench: the real ownrecord-share-host binary ({}, pid {}) and a static file \
         server (pid {}) on 127.0.0.1, data under {} ({} cores; the load generator, 2 threads, \
         shares them with the server, so both figures include that contention)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        host.pid(),
        static_server.pid(),
        work.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let (host_targets, static_targets, rate) = create_links(&bench, LINKS, None).await;
    let jwe_kb = host_targets.iter().map(|t| t.jwe_len).sum::<usize>() as f64
        / host_targets.len() as f64
        / 1024.0;
    println!(
        "  created {LINKS} links through the owner API ({rate:.0} links/s), one JWE each of \
         {jwe_kb:.0} KB on average; host RSS now {:.1} MB (peak {:.1} MB)",
        status_mb(host.pid(), "VmRSS:"),
        status_mb(host.pid(), "VmHWM:"),
    );
    let host_targets = Arc::new(host_targets);
    let static_targets = Arc::new(static_targets);

    println!(
        "  {concurrency} clients, manifest (POST, a recipient, no passcode) then file (GET the \
         location), {secs} s each (after {} s of warm-up), at most {max_fetches} fetches:",
        WARMUP.as_secs()
    );
    let duration = Duration::from_secs(secs);
    for (targets, pid) in [
        (&static_targets, static_server.pid()),
        (&host_targets, host.pid()),
    ] {
        load(&bench, targets, None, concurrency, WARMUP, pid).await;
    }
    let baseline = load(
        &bench,
        &static_targets,
        None,
        concurrency,
        duration,
        static_server.pid(),
    )
    .await;
    report("static server", &baseline);
    let ours = load(
        &bench,
        &host_targets,
        None,
        concurrency,
        duration,
        host.pid(),
    )
    .await;
    report("share host", &ours);
    let host_peak = status_mb(host.pid(), "VmHWM:");
    let static_peak = status_mb(static_server.pid(), "VmHWM:");
    println!(
        "  peak RSS (VmHWM): share host {host_peak:.1} MB (now {:.1} MB), static server \
         {static_peak:.1} MB",
        status_mb(host.pid(), "VmRSS:"),
    );
    println!(
        "  ratios share host / static: requests/s {:.2}, p50 {:.2}, p99 {:.2}, peak RSS {:.2}",
        ours.requests_per_sec() / baseline.requests_per_sec(),
        all_p50(&ours) / all_p50(&baseline),
        all_p99(&ours) / all_p99(&baseline),
        host_peak / static_peak,
    );
    let p99 = all_p99(&ours);
    println!(
        "  targets: p99 < 50 ms: {} ({p99:.1} ms); peak RSS < 100 MB: {} ({host_peak:.1} MB)",
        if p99 < 50.0 { "met" } else { "NOT met" },
        if host_peak < 100.0 { "met" } else { "NOT met" },
    );

    // The passcode path, apart: its Argon2id checks are meant to be slow.
    let (passcode_targets, _, rate) = create_links(&bench, PASSCODE_LINKS, Some(PASSCODE)).await;
    println!(
        "  passcode path: {PASSCODE_LINKS} links with a passcode created ({rate:.1} links/s, one \
         Argon2id hash each); {passcode_concurrency} clients with the right passcode, \
         {passcode_secs} s:"
    );
    let passcode_stats = load(
        &bench,
        &Arc::new(passcode_targets),
        Some(PASSCODE),
        passcode_concurrency,
        Duration::from_secs(passcode_secs),
        host.pid(),
    )
    .await;
    report("share host, P", &passcode_stats);
    println!(
        "  share host peak RSS after the passcode path: {:.1} MB (now {:.1} MB)",
        status_mb(host.pid(), "VmHWM:"),
        status_mb(host.pid(), "VmRSS:"),
    );
    assert!(
        host.child.try_wait().unwrap().is_none(),
        "the share host exited during the bench"
    );
    check_errors("static server", &baseline);
    check_errors("share host", &ours);
    check_errors("share host, passcode path", &passcode_stats);
    drop(static_server);
    drop(host);
    let _ = std::fs::remove_dir_all(&work);
}
