//! The real `ownrecord-share-host` binary for the tests that need a process of its own.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const BIN: &str = env!("CARGO_BIN_EXE_ownrecord-share-host");

/// A new owner token from `owner-token` (its last line).
pub fn owner_token(data: &Path) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .arg("owner-token")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// The host, killed when dropped.
pub struct Running {
    pub child: Child,
    /// The address it listens on (`http://` or `https://127.0.0.1:PORT`).
    pub base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary on 127.0.0.1:0 with `args`; its first line says "serving PUBLIC on BOUND".
pub fn start(data: &Path, args: &[&OsStr]) -> Running {
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .nth(4)
        .unwrap_or_default()
        .to_owned();
    Running { child, base }
}

/// A compact JWE of the right shape (`dir` / `A256GCM`); the host never decrypts it.
pub fn shaped_jwe() -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"dir","enc":"A256GCM"}"#);
    let part = |n: usize| URL_SAFE_NO_PAD.encode(vec![7u8; n]);
    format!("{header}..{}.{}.{}", part(12), part(64), part(16))
}
