//! `cargo xtask fuzz ccda [--minutes N] | --replay PATH`: coverage-guided fuzzing of the C-CDA
//! importer with AFL++ through cargo-afl, on stable Rust.
//!
//! The target (fuzz/ccda, outside the workspace) runs `unpack`, then `convert` on every
//! ClinicalDocument part; an error is fine, a panic, abort or stack overflow is a crash. cargo-afl
//! is installed into target/tools and builds its own AFL++ there (from the source it ships), so
//! the fuzzer and the runtime linked into the target are the same version. Seeds are the sample
//! documents of ../shared/data/ccda plus variants of fuzz/ccda/seed.xml made here (UTF-16, zips,
//! MIME); each run writes its findings under target/fuzz/ccda/RUN/.

use super::{Result, cargo, ensure_apt, repo_root, status};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// cargo-afl and the `afl` crate in fuzz/ccda/Cargo.toml must be the same version.
const CARGO_AFL_VERSION: &str = "0.18.2";
/// Sample documents larger than this are left out of the seeds (they slow every execution).
const MAX_SEED_BYTES: u64 = 64 * 1024;
/// How long the replay lets one input run before calling it a hang.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str =
    "usage: cargo xtask fuzz ccda [--minutes N] | cargo xtask fuzz ccda --replay PATH";

pub fn fuzz(args: &[&str]) -> Result {
    match args {
        ["ccda"] => run(10),
        ["ccda", "--minutes", n] => run(n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("--minutes wants a whole number above 0, not {n}"))?),
        ["ccda", "--replay", path] => replay(Path::new(path)),
        _ => Err(USAGE.into()),
    }
}

fn fuzz_dir() -> PathBuf {
    repo_root().join("fuzz/ccda")
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

fn run(minutes: u64) -> Result {
    let target = build_afl_target()?;
    let replayer = build_replayer()?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let run_dir = repo_root().join(format!("target/fuzz/ccda/{stamp}"));
    let seeds = std::env::temp_dir().join(format!("ownrecord-fuzz-ccda-{}", std::process::id()));
    let result = write_seeds(&seeds)
        .and_then(|n| {
            eprintln!("xtask: {n} seeds in {}", seeds.display());
            // A seed that already crashes would stop afl-fuzz before it starts: say which.
            replay_files(&replayer, &files_in(&seeds)?, true)
        })
        .and_then(|()| afl_fuzz(&target, &seeds, &run_dir, minutes));
    let _ = std::fs::remove_dir_all(&seeds);
    result?;
    report(&run_dir.join("default"))
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

/// fuzz/ccda resolves its dependencies from the workspace's lockfile, so it builds the same
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
                "ccda-afl",
            ])
            .arg("--manifest-path")
            .arg(fuzz_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    Ok(target_dir.join("release/ccda-afl"))
}

fn build_replayer() -> Result<PathBuf> {
    seed_lockfile()?;
    let target_dir = repo_root().join("target/fuzz/plain");
    status(
        cargo()
            .args(["build", "--release", "--bin", "ccda-replay"])
            .arg("--manifest-path")
            .arg(fuzz_dir().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    Ok(target_dir.join("release/ccda-replay"))
}

/// The dictionaries: ours, and AFL++'s XML one (from cargo-afl's AFL++, else Debian's).
fn dictionaries() -> Vec<PathBuf> {
    let mut dicts = vec![fuzz_dir().join("ccda.dict")];
    let xml = [
        tools_dir().join("share/afl.rs/AFLplusplus/dictionaries/xml.dict"),
        PathBuf::from("/usr/share/afl/dictionaries/xml.dict"),
        PathBuf::from("/usr/share/doc/afl++-doc/afl/dictionaries/xml.dict"),
    ];
    dicts.extend(xml.into_iter().find(|p| p.exists()));
    dicts
}

fn afl_fuzz(target: &Path, seeds: &Path, run_dir: &Path, minutes: u64) -> Result {
    std::fs::create_dir_all(run_dir).map_err(|e| e.to_string())?;
    let mut cmd = cargo_afl();
    cmd.arg("fuzz")
        .arg("-i")
        .arg(seeds)
        .arg("-o")
        .arg(run_dir)
        .arg("-V")
        .arg((minutes * 60).to_string());
    for dict in dictionaries() {
        cmd.arg("-x").arg(dict);
    }
    let log_path = run_dir.join("afl-fuzz.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    cmd.arg("--")
        .arg(target)
        // No status screen; no interactive checks of the machine's CPU and core settings.
        .env("AFL_NO_UI", "1")
        .env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        .env("AFL_FAST_CAL", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    eprintln!(
        "xtask: fuzzing the C-CDA importer for {minutes} minute(s) on one core; afl-fuzz's \
         output goes to {}",
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

/// Prints afl-fuzz's closing numbers; fails when it saved a crash.
fn report(out: &Path) -> Result {
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
    let crashes = files_in(&out.join("crashes")).unwrap_or_default();
    let hangs = files_in(&out.join("hangs")).unwrap_or_default();
    println!("C-CDA fuzz run in {}:", out.display());
    println!(
        "  executions  {} ({} per second, {} s)",
        stat(&["execs_done"]),
        stat(&["execs_per_sec"]),
        stat(&["run_time"])
    );
    println!(
        "  corpus      {} inputs, {} edges of {} ({}), stability {}",
        stat(&["corpus_count", "paths_total"]),
        stat(&["edges_found"]),
        stat(&["total_edges"]),
        stat(&["bitmap_cvg"]),
        stat(&["stability"])
    );
    println!(
        "  crashes     {}",
        stat(&["saved_crashes", "unique_crashes"])
    );
    println!("  hangs       {}", stat(&["saved_hangs", "unique_hangs"]));
    for hang in &hangs {
        println!("  hang: {}", hang.display());
    }
    if crashes.is_empty() {
        return Ok(());
    }
    for crash in &crashes {
        println!("  crash: {}", crash.display());
    }
    Err(format!(
        "{} crash(es) saved; reproduce with: cargo xtask fuzz ccda --replay {}",
        crashes.len(),
        out.join("crashes").display()
    ))
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

fn replay(path: &Path) -> Result {
    let replayer = build_replayer()?;
    let files = files_in(path)?;
    if files.is_empty() {
        return Err(format!("no files in {}", path.display()));
    }
    replay_files(&replayer, &files, false)
}

/// Runs the replayer on each file in a process of its own (an abort or a stack overflow takes
/// down only that one), with a time limit. `quiet` prints only the failures.
fn replay_files(replayer: &Path, files: &[PathBuf], quiet: bool) -> Result {
    let mut failed = Vec::new();
    for file in files {
        let mut child = Command::new(replayer)
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
        "{} of {} file(s) failed (rerun one with {} FILE):",
        failed.len(),
        files.len(),
        replayer.display()
    );
    for f in &failed {
        let _ = write!(msg, "\n  {f}");
    }
    Err(msg)
}

/// Fills `dir` with the seeds; returns how many.
fn write_seeds(dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    let mut count = 0;
    let samples = repo_root().join("../shared/data/ccda");
    if samples.is_dir() {
        for (name, path) in sample_documents(&samples)? {
            std::fs::copy(&path, dir.join(name)).map_err(|e| format!("{}: {e}", path.display()))?;
            count += 1;
        }
    } else {
        eprintln!(
            "xtask: no {} beside the repo; seeding with the hand-made documents only",
            samples.display()
        );
    }
    let seed_path = fuzz_dir().join("seed.xml");
    let doc =
        std::fs::read_to_string(&seed_path).map_err(|e| format!("{}: {e}", seed_path.display()))?;
    let utf16 = doc.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
    let mut le = vec![0xff, 0xfe];
    let mut be = vec![0xfe, 0xff];
    for unit in utf16.encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(doc.as_bytes());
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let plain_zip = zip(&[("CCD.xml", doc.as_bytes(), false)]);
    let metadata = b"<?xml version=\"1.0\"?><SubmitObjectsRequest/>";
    let xdm_zip = zip(&[
        ("IHE_XDM/SUBSET01/DOC0001.XML", doc.as_bytes(), true),
        ("IHE_XDM/SUBSET01/METADATA.XML", metadata, true),
        ("IHE_XDM/SUBSET01/DOC0002.PDF", pdf, false),
        ("INDEX.HTM", b"<html></html>", false),
    ]);
    let nested_zip = zip(&[("inner.zip", &plain_zip, false)]);
    let seeds: [(&str, &[u8]); 8] = [
        ("hand-seed.xml", doc.as_bytes()),
        ("hand-seed-bom.xml", &bom),
        ("hand-seed-utf16le.xml", &le),
        ("hand-seed-utf16be.xml", &be),
        ("hand-seed.zip", &plain_zip),
        ("hand-seed-xdm.zip", &xdm_zip),
        ("hand-seed-nested.zip", &nested_zip),
        ("hand-seed.eml", &mime(doc.as_bytes())),
    ];
    for (name, bytes) in seeds {
        write(name, bytes)?;
        count += 1;
    }
    Ok(count)
}

/// The XML files of the shared samples up to MAX_SEED_BYTES, named `folder__file`.
fn sample_documents(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.filter_map(std::result::Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let xml = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("ccda"));
            let small = entry.metadata().is_ok_and(|m| m.len() <= MAX_SEED_BYTES);
            if xml && small {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('/', "__");
                found.push((name, path));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A zip archive: each file stored, or "deflated" as stored deflate blocks (so the inflater
/// runs) when its flag is set.
fn zip(files: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for &(name, data, deflate) in files {
        let (method, body) = if deflate {
            (8u16, stored_deflate(data))
        } else {
            (0, data.to_vec())
        };
        let offset = out.len() as u32;
        let crc = crc32(data);
        // Shared by the local and central headers: version, flags, method, time, date, crc,
        // sizes, name length.
        let mut common = Vec::new();
        common.extend(20u16.to_le_bytes());
        common.extend(0u16.to_le_bytes());
        common.extend(method.to_le_bytes());
        common.extend(0u16.to_le_bytes());
        common.extend(0x21u16.to_le_bytes());
        common.extend(crc.to_le_bytes());
        common.extend((body.len() as u32).to_le_bytes());
        common.extend((data.len() as u32).to_le_bytes());
        common.extend((name.len() as u16).to_le_bytes());
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(&common);
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(&body);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        central.extend(&common);
        // Extra and comment lengths, disk, internal and external attributes.
        central.extend([0u8; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(central_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A raw deflate stream of stored (uncompressed) blocks.
fn stored_deflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend([1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(chunk);
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A MIME message (as a portal's Direct message) with the document as a base64 part.
fn mime(doc: &[u8]) -> Vec<u8> {
    let mut msg = String::from(
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"seed-boundary\"\r\n\r\n\
         --seed-boundary\r\nContent-Type: text/plain\r\n\r\nYour health summary is attached.\r\n\
         --seed-boundary\r\nContent-Type: text/xml; name=\"CCD.xml\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"CCD.xml\"\r\n\r\n",
    );
    let encoded = base64(doc);
    for line in encoded.as_bytes().chunks(76) {
        msg.push_str(&String::from_utf8_lossy(line));
        msg.push_str("\r\n");
    }
    msg.push_str("--seed-boundary--\r\n");
    msg.into_bytes()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_and_base64_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn zip_ends_with_its_directory() {
        let z = zip(&[("a.xml", b"<a/>", true), ("b.xml", b"", false)]);
        assert!(z.starts_with(b"PK\x03\x04"));
        let end = &z[z.len() - 22..];
        assert!(end.starts_with(b"PK\x05\x06"));
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
    }
}
