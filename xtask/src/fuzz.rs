//! `cargo xtask fuzz TARGET|all [--minutes N] | cargo xtask fuzz TARGET --replay PATH`:
//! coverage-guided fuzzing of OwnRecord's parsers with AFL++ through cargo-afl, on stable Rust.
//!
//! The targets live in one crate outside the workspace (fuzz/: one module per target in
//! fuzz/src/targets/, listed in fuzz/src/lib.rs); one AFL++ binary runs any of them
//! (`fuzz-afl TARGET`), and a plain replayer (`fuzz-replay`) reruns saved inputs, writes each
//! target's seeds (its hand-made files in fuzz/TARGET/ plus seeds made from ../shared/data) and
//! lists the targets. cargo-afl is installed into target/tools and builds its own AFL++ there
//! (from the source it ships), so the fuzzer and the runtime linked into the target are the same
//! version. Each run writes its findings under target/fuzz/TARGET/RUN/; a saved crash fails the
//! command. `all` runs every target in turn, N minutes each, and prints one table.

use super::{Result, cargo, ensure_apt, repo_root, status};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// cargo-afl and the `afl` crate in fuzz/Cargo.toml must be the same version.
const CARGO_AFL_VERSION: &str = "0.18.2";
/// How long the replay lets one input run before calling it a hang.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MINUTES: u64 = 10;

const USAGE: &str = "usage: cargo xtask fuzz TARGET|all [--minutes N] \
                     | cargo xtask fuzz TARGET --replay PATH (targets: cargo xtask fuzz list)";

pub fn fuzz(args: &[&str]) -> Result {
    let minutes = |n: &str| {
        n.parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("--minutes wants a whole number above 0, not {n}"))
    };
    match args {
        ["list"] => {
            let replayer = build_replayer()?;
            status(Command::new(replayer).arg("--list"))
        }
        ["all"] => run_all(DEFAULT_MINUTES),
        ["all", "--minutes", n] => run_all(minutes(n)?),
        [target, "--replay", path] => replay(target, Path::new(path)),
        [target] => run_one(target, DEFAULT_MINUTES),
        [target, "--minutes", n] => run_one(target, minutes(n)?),
        _ => Err(USAGE.into()),
    }
}

fn fuzz_dir() -> PathBuf {
    repo_root().join("fuzz")
}

fn tools_dir() -> PathBuf {
    repo_root().join("target/tools")
}

/// cargo-afl, with AFL++'s build kept under target/tools instead of ~/.local/share.
fn cargo_afl() -> Command {
    let mut cmd = Command::new(tools_dir().join("bin/cargo-afl"));
    cmd.arg("afl")
        .env("XDG_DATA_HOME", tools_dir().join("share"))
        .current_dir(repo_root());
    cmd
}

/// The targets, as the fuzz crate lists them.
fn targets(replayer: &Path) -> Result<Vec<String>> {
    let out = Command::new(replayer)
        .arg("--list")
        .output()
        .map_err(|e| format!("{}: {e}", replayer.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect())
}

/// What one run found, from afl-fuzz's fuzzer_stats.
struct Row {
    target: String,
    minutes: u64,
    execs: String,
    per_sec: String,
    corpus: String,
    edges: String,
    coverage: String,
    crashes: usize,
    hangs: usize,
    out: PathBuf,
}

fn run_one(target: &str, minutes: u64) -> Result {
    let replayer = build_replayer()?;
    if !targets(&replayer)?.iter().any(|t| t == target) {
        return Err(format!("no fuzz target {target}\n{USAGE}"));
    }
    let afl = build_afl_target()?;
    let row = run(&afl, &replayer, target, minutes)?;
    print_table(std::slice::from_ref(&row));
    verdict(&[row])
}

fn run_all(minutes: u64) -> Result {
    let replayer = build_replayer()?;
    let afl = build_afl_target()?;
    let mut rows = Vec::new();
    for target in targets(&replayer)? {
        rows.push(run(&afl, &replayer, &target, minutes)?);
    }
    print_table(&rows);
    verdict(&rows)
}

fn run(afl: &Path, replayer: &Path, target: &str, minutes: u64) -> Result<Row> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let run_dir = repo_root().join(format!("target/fuzz/{target}/{stamp}"));
    let seeds =
        std::env::temp_dir().join(format!("ownrecord-fuzz-{target}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&seeds);
    let result = write_seeds(replayer, target, &seeds)
        .and_then(|()| {
            // A seed that already crashes would stop afl-fuzz before it starts: say which.
            replay_files(replayer, target, &files_in(&seeds)?, true)
        })
        .and_then(|()| afl_fuzz(afl, target, &seeds, &run_dir, minutes));
    let _ = std::fs::remove_dir_all(&seeds);
    result?;
    read_stats(target, minutes, &run_dir.join("default"))
}

/// Installs cargo-afl into target/tools and builds AFL++ once per Rust version.
fn ensure_cargo_afl() -> Result {
    // AFL++ is built from source with make and cc.
    ensure_apt(&["build-essential"])?;
    let installed = Command::new(tools_dir().join("bin/cargo-afl"))
        .args(["afl", "--version"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_AFL_VERSION));
    if !installed {
        status(
            cargo()
                .args(["install", "cargo-afl", "--locked", "--version"])
                .arg(CARGO_AFL_VERSION)
                .arg("--root")
                .arg(tools_dir()),
        )?;
    }
    if !afl_runtime()?.exists() {
        status(cargo_afl().args(["config", "--build"]))?;
    }
    Ok(())
}

/// Where `cargo afl config --build` leaves AFL++'s runtime for the toolchain in use.
fn afl_runtime() -> Result<PathBuf> {
    let out = Command::new("rustc")
        .arg("-vV")
        .current_dir(repo_root())
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or("")
            .to_owned()
    };
    let release = field("release:");
    let hash: String = field("commit-hash:").chars().take(7).collect();
    Ok(tools_dir().join(format!(
        "share/afl.rs/rustc-{release}-{hash}/afl.rs-{CARGO_AFL_VERSION}/afl-llvm/afl-compiler-rt.o"
    )))
}

/// fuzz/ resolves its dependencies from the workspace's lockfile, so it builds the same
/// versions as the app (cargo drops what it does not use and adds afl).
fn seed_lockfile() -> Result {
    let lock = fuzz_dir().join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(repo_root().join("Cargo.lock"), &lock).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn build_afl_target() -> Result<PathBuf> {
    ensure_cargo_afl()?;
    seed_lockfile()?;
    let target_dir = repo_root().join("target/fuzz/afl");
    status(
        cargo_afl()
            .args([
                "build",
                "--release",
                "--features",
                "afl",
                "--bin",
                "fuzz-afl",
            ])
            .arg("--manifest-path")
            .arg(fuzz_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    Ok(target_dir.join("release/fuzz-afl"))
}

fn build_replayer() -> Result<PathBuf> {
    seed_lockfile()?;
    let target_dir = repo_root().join("target/fuzz/plain");
    status(
        cargo()
            .args(["build", "--release", "--bin", "fuzz-replay"])
            .arg("--manifest-path")
            .arg(fuzz_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    Ok(target_dir.join("release/fuzz-replay"))
}

fn write_seeds(replayer: &Path, target: &str, dir: &Path) -> Result {
    let out = Command::new(replayer)
        .args(["--seeds", target])
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", replayer.display()))?;
    if !out.status.success() {
        return Err(format!("writing the seeds of {target} failed"));
    }
    let n = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    eprintln!("xtask: {n} seeds for {target} in {}", dir.display());
    Ok(())
}

/// AFL++'s own dictionary (from cargo-afl's AFL++, else Debian's) for the input's format.
fn afl_dictionary(name: &str) -> Option<PathBuf> {
    [
        tools_dir().join("share/afl.rs/AFLplusplus/dictionaries"),
        PathBuf::from("/usr/share/afl/dictionaries"),
        PathBuf::from("/usr/share/doc/afl++-doc/afl/dictionaries"),
    ]
    .into_iter()
    .map(|d| d.join(name))
    .find(|p| p.exists())
}

/// The dictionaries of a target: the `.dict` files of fuzz/TARGET/ (the JSON targets that read
/// FHIR also fuzz/fhir-model/fhir.dict) and AFL++'s for the format.
fn dictionaries(target: &str) -> Vec<PathBuf> {
    let mut dicts: Vec<PathBuf> = files_in(&fuzz_dir().join(target))
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dict"))
        .collect();
    let (fhir, formats): (bool, &[&str]) = match target {
        "ccda" => (false, &["xml.dict"]),
        "loopback" => (false, &["http.dict", "url.dict"]),
        "fhir-import" | "search-page" => (true, &["json.dict"]),
        _ => (false, &["json.dict"]),
    };
    if fhir {
        dicts.push(fuzz_dir().join("fhir-model/fhir.dict"));
    }
    dicts.extend(formats.iter().filter_map(|f| afl_dictionary(f)));
    dicts
}

fn afl_fuzz(afl: &Path, target: &str, seeds: &Path, run_dir: &Path, minutes: u64) -> Result {
    std::fs::create_dir_all(run_dir).map_err(|e| e.to_string())?;
    let mut cmd = cargo_afl();
    cmd.arg("fuzz")
        .arg("-i")
        .arg(seeds)
        .arg("-o")
        .arg(run_dir)
        .arg("-V")
        .arg((minutes * 60).to_string());
    // Setting a passcode runs the host's Argon2id: slow on purpose, not a hang.
    if target == "share-host-api" {
        cmd.args(["-t", "2000"]);
    }
    for dict in dictionaries(target) {
        cmd.arg("-x").arg(dict);
    }
    let log_path = run_dir.join("afl-fuzz.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    cmd.arg("--")
        .arg(afl)
        .arg(target)
        // No status screen; no interactive checks of the machine's CPU and core settings; no
        // pinning to a core (other work may hold them all).
        .env("AFL_NO_UI", "1")
        .env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_NO_AFFINITY", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        .env("AFL_FAST_CAL", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    eprintln!(
        "xtask: fuzzing {target} for {minutes} minute(s) on one core; afl-fuzz's output goes \
         to {}",
        log_path.display()
    );
    let result = status(&mut cmd);
    if result.is_err() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(25)..] {
            eprintln!("{line}");
        }
    }
    result
}

fn read_stats(target: &str, minutes: u64, out: &Path) -> Result<Row> {
    let stats = std::fs::read_to_string(out.join("fuzzer_stats"))
        .map_err(|e| format!("{}: {e}", out.join("fuzzer_stats").display()))?;
    let stat = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| {
                stats.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    (k.trim() == *name).then(|| v.trim().to_owned())
                })
            })
            .unwrap_or_else(|| "?".into())
    };
    Ok(Row {
        target: target.to_owned(),
        minutes,
        execs: stat(&["execs_done"]),
        per_sec: stat(&["execs_per_sec"]),
        corpus: stat(&["corpus_count", "paths_total"]),
        edges: format!("{} of {}", stat(&["edges_found"]), stat(&["total_edges"])),
        coverage: stat(&["bitmap_cvg"]),
        crashes: files_in(&out.join("crashes")).unwrap_or_default().len(),
        hangs: files_in(&out.join("hangs")).unwrap_or_default().len(),
        out: out.to_owned(),
    })
}

fn print_table(rows: &[Row]) {
    let header = [
        "target", "minutes", "execs", "execs/s", "corpus", "edges", "coverage", "crashes", "hangs",
    ];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.target.clone(),
                r.minutes.to_string(),
                r.execs.clone(),
                r.per_sec.clone(),
                r.corpus.clone(),
                r.edges.clone(),
                r.coverage.clone(),
                r.crashes.to_string(),
                r.hangs.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |row: &[String]| {
        let mut text = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            // The target left-aligned, the numbers right-aligned.
            let _ = if i == 0 {
                write!(text, "{c:<w$}  ")
            } else {
                write!(text, "{c:>w$}  ")
            };
        }
        println!("{}", text.trim_end());
    };
    line(&header.map(str::to_owned));
    for row in &cells {
        line(row);
    }
    for r in rows {
        println!("{}: {}", r.target, r.out.display());
    }
}

/// Fails when a crash was saved, saying how to reproduce each target's.
fn verdict(rows: &[Row]) -> Result {
    let crashed: Vec<&Row> = rows.iter().filter(|r| r.crashes > 0).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    let mut msg = String::from("crashes saved; reproduce with:");
    for r in crashed {
        let _ = write!(
            msg,
            "\n  cargo xtask fuzz {} --replay {}",
            r.target,
            r.out.join("crashes").display()
        );
    }
    Err(msg)
}

/// The regular files of a directory (AFL's README.txt left out), sorted; or the path itself.
fn files_in(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.txt"))
        .collect();
    files.sort();
    Ok(files)
}

fn replay(target: &str, path: &Path) -> Result {
    let replayer = build_replayer()?;
    if !targets(&replayer)?.iter().any(|t| t == target) {
        return Err(format!("no fuzz target {target}\n{USAGE}"));
    }
    let files = files_in(path)?;
    if files.is_empty() {
        return Err(format!("no files in {}", path.display()));
    }
    replay_files(&replayer, target, &files, false)
}

/// Runs the replayer on each file in a process of its own (an abort or a stack overflow takes
/// down only that one), with a time limit. `quiet` prints only the failures.
fn replay_files(replayer: &Path, target: &str, files: &[PathBuf], quiet: bool) -> Result {
    let mut failed = Vec::new();
    for file in files {
        let mut child = Command::new(replayer)
            .arg(target)
            .arg(file)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(if quiet {
                Stdio::null()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .map_err(|e| format!("{}: {e}", replayer.display()))?;
        let start = Instant::now();
        let outcome = loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(s) if s.success() => break None,
                Some(s) => break Some(format!("failed ({s})")),
                None if start.elapsed() > REPLAY_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Some(format!("still running after {REPLAY_TIMEOUT:?}"));
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        if let Some(why) = outcome {
            eprintln!("xtask: {}: {why}", file.display());
            failed.push(file.display().to_string());
        }
    }
    if failed.is_empty() {
        if !quiet {
            println!("{} file(s) replayed, none failed", files.len());
        }
        return Ok(());
    }
    let mut msg = format!(
        "{} of {} file(s) failed (rerun one with {} {target} FILE):",
        failed.len(),
        files.len(),
        replayer.display()
    );
    for f in &failed {
        let _ = write!(msg, "\n  {f}");
    }
    Err(msg)
}
