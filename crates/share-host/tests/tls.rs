//! The share host over TLS with an operator's certificate: the real binary with a self-signed
//! certificate made by the `openssl` command (Debian `openssl`), and a client that trusts only it.

use std::ffi::OsStr;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;
use common::{BIN, Running, owner_token, shaped_jwe, start};

/// Runs `openssl` (Debian package `openssl`) with `args`.
fn openssl(args: &[&OsStr]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command (Debian package openssl) makes the test certificates");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An operator's certificate for 127.0.0.1 and localhost, issued by a test CA (P-256):
/// (the chain, leaf first, the leaf's key, the CA's certificate).
fn certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let os = |s: &'static str| OsStr::new(s);
    openssl(&[
        os("req"),
        os("-x509"),
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:P-256"),
        os("-nodes"),
        os("-days"),
        os("2"),
        os("-subj"),
        os("/CN=OwnRecord test CA"),
        os("-keyout"),
        p("ca.key").as_os_str(),
        os("-out"),
        p("ca.pem").as_os_str(),
    ]);
    openssl(&[
        os("req"),
        os("-new"),
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:P-256"),
        os("-nodes"),
        os("-subj"),
        os("/CN=localhost"),
        os("-keyout"),
        p("key.pem").as_os_str(),
        os("-out"),
        p("leaf.csr").as_os_str(),
    ]);
    std::fs::write(
        p("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(&[
        os("x509"),
        os("-req"),
        os("-in"),
        p("leaf.csr").as_os_str(),
        os("-CA"),
        p("ca.pem").as_os_str(),
        os("-CAkey"),
        p("ca.key").as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("2"),
        os("-extfile"),
        p("leaf.ext").as_os_str(),
        os("-out"),
        p("leaf.pem").as_os_str(),
    ]);
    let chain = [
        std::fs::read(p("leaf.pem")).unwrap(),
        std::fs::read(p("ca.pem")).unwrap(),
    ];
    std::fs::write(p("chain.pem"), chain.concat()).unwrap();
    (p("chain.pem"), p("key.pem"), p("ca.pem"))
}

/// The host with the operator's certificate and key.
fn start_tls(data: &Path, cert: &Path, key: &Path) -> Running {
    start(
        data,
        &[
            OsStr::new("--tls-cert"),
            cert.as_os_str(),
            OsStr::new("--tls-key"),
            key.as_os_str(),
        ],
    )
}

fn trusting(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn links_are_made_and_opened_over_tls_with_the_operators_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certificate(dir.path());
    let data = dir.path().join("data");
    let token = owner_token(&data);
    let host = start_tls(&data, &cert, &key);
    assert!(
        host.base.starts_with("https://127.0.0.1:"),
        "serves {}",
        host.base
    );
    let http = trusting(&ca);

    let created: Value = {
        let resp = http
            .post(format!("{}/api/links", host.base))
            .bearer_auth(&token)
            .json(&json!({"files": [{"jwe": shaped_jwe()}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    };
    let manifest_url = created["manifest_url"].as_str().unwrap();
    assert!(
        manifest_url.starts_with(&format!("{}/shl/", host.base)),
        "{manifest_url}"
    );
    let manifest: Value = {
        let resp = http
            .post(manifest_url)
            .json(&json!({"recipient": "Dr. Lee"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    };
    let location = manifest["files"][0]["location"].as_str().unwrap();
    assert!(location.starts_with("https://"), "{location}");
    let file = http.get(location).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(
        file.headers()["content-type"].to_str().unwrap(),
        "application/jose"
    );
    assert_eq!(file.text().await.unwrap(), shaped_jwe());

    // A client that does not trust the certificate is refused at the handshake: this is TLS
    // with the operator's certificate, not plain HTTP.
    let untrusting = reqwest::Client::new()
        .get(format!("{}/shl/unknown", host.base))
        .send()
        .await;
    assert!(untrusting.is_err(), "an unknown certificate was accepted");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!(
            "{}/shl/unknown",
            host.base.replacen("https", "http", 1)
        ))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.is_err(),
        "plain HTTP was answered: {:?}",
        plain.map(|r| r.status())
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_holds_up_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certificate(dir.path());
    let data = dir.path().join("data");
    let host = start_tls(&data, &cert, &key);
    let addr = host.base.trim_start_matches("https://").to_owned();
    // Connections that say nothing (a slow or hostile client).
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let http = trusting(&ca);
    let started = Instant::now();
    let resp = http
        .post(format!("{}/shl/no-such-link", host.base))
        .json(&json!({"recipient": "Dr. Lee"}))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("a well-behaved client is served while others stall their handshakes");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(idle);
}

#[test]
fn unusable_certificate_files_are_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let data = dir.path().join("data");
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    for (cert, key, says) in [
        (&garbage, &key, "certificate"),
        (&cert, &garbage, "key"),
        // A key that is not the certificate's.
        (&cert, &certificate(&other).1, "TLS"),
    ] {
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the host started with unusable TLS files ({says})");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(stderr.contains("Cannot use the TLS files"), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
