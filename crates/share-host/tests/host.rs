//! The share host over real HTTP on 127.0.0.1: the router on port 0 in-process (a clock the test
//! sets), and the binary itself for the command contract.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ownrecord_share_host::limit::Rate;
use ownrecord_share_host::store::{self, DB_FILE, Store};
use ownrecord_share_host::{AppState, Clock, Settings, secret, serve_plain};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;

const T0: i64 = 1_900_000_000;

struct Host {
    base: String,
    clock: Arc<AtomicI64>,
    dir: tempfile::TempDir,
    owner: String,
    http: reqwest::Client,
}

async fn host() -> Host {
    host_with(|_| {}).await
}

async fn host_with(adjust: impl FnOnce(&mut Settings)) -> Host {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let owner = secret::random_token().unwrap();
    let hash = secret::token_hash(&owner);
    store
        .run_sync(move |c| store::add_owner_token(c, &hash, T0))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::new(&base);
    settings.per_ip = Rate {
        burst: 10_000,
        per_second: 10_000,
    };
    settings.per_link = settings.per_ip;
    adjust(&mut settings);
    let clock = Arc::new(AtomicI64::new(T0));
    let state = AppState::new(store, settings, Clock::Manual(Arc::clone(&clock)));
    tokio::spawn(serve_plain(listener, state));
    Host {
        base,
        clock,
        dir,
        owner,
        http: reqwest::Client::new(),
    }
}

/// A compact JWE (dir, A256GCM) of `plaintext` under a fresh key, as the app makes them.
fn jwe(plaintext: &str) -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let mut header = josekit::jwe::JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("application/fhir+json");
    let encrypter = josekit::jwe::Dir.encrypter_from_bytes(key).unwrap();
    josekit::jwe::serialize_compact(plaintext.as_bytes(), &header, &encrypter).unwrap()
}

impl Host {
    fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    async fn create_raw(&self, token: Option<&str>, body: reqwest::Body) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/links", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, body: Value) -> (StatusCode, Value) {
        self.create_raw(Some(&self.owner), body.to_string().into())
            .await
    }

    /// A link that must be created; its answer.
    async fn link(&self, body: Value) -> Value {
        let (status, answer) = self.create(body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer
    }

    async fn manifest(&self, link: &Value, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(link["manifest_url"].as_str().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, url: &str) -> (StatusCode, Option<String>, String) {
        let resp = self.http.get(url).send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, ct, resp.text().await.unwrap())
    }

    async fn manage(
        &self,
        link: &Value,
        method: reqwest::Method,
        what: &str,
    ) -> (StatusCode, Value) {
        self.manage_with(
            link,
            method,
            what,
            link["management_token"].as_str().unwrap(),
            None,
        )
        .await
    }

    async fn manage_with(
        &self,
        link: &Value,
        method: reqwest::Method,
        what: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let id = link["id"].as_str().unwrap();
        let url = if what.is_empty() {
            format!("{}/api/links/{id}", self.base)
        } else {
            format!("{}/api/links/{id}/{what}", self.base)
        };
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn events(&self, link: &Value) -> Vec<Value> {
        let (status, body) = self.manage(link, reqwest::Method::GET, "events").await;
        assert_eq!(status, StatusCode::OK);
        body["events"].as_array().unwrap().clone()
    }

    fn count(&self, table: &str) -> i64 {
        let c = rusqlite::Connection::open(self.dir.path().join(DB_FILE)).unwrap();
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

#[tokio::test]
async fn creating_a_link_needs_the_owner_token() {
    let h = host().await;
    let body = json!({"files": [{"jwe": jwe("{}")}]}).to_string();
    let (status, answer) = h.create_raw(None, body.clone().into()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "unauthorized");
    let (status, _) = h
        .create_raw(Some("not-the-token"), body.clone().into())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A management token is not an owner token either.
    let link = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    let (status, _) = h
        .create_raw(link["management_token"].as_str(), body.into())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.count("links"), 1);
    assert_eq!(h.count("files"), 1);
    let id = link["id"].as_str().unwrap();
    assert!(id.len() >= 43 && URL_SAFE_NO_PAD.decode(id).unwrap().len() == 32);
    assert_eq!(link["manifest_url"], format!("{}/shl/{id}", h.base));
    assert_eq!(link["management_token"].as_str().unwrap().len(), 43);
}

#[tokio::test]
async fn manifest_hands_out_single_use_short_lived_locations() {
    let h = host().await;
    let file = jwe(r#"{"resourceType":"Bundle"}"#);
    let link = h.link(json!({"files": [{"jwe": file}]})).await;
    let (status, manifest) = h.manifest(&link, json!({"recipient": "Dr. Lee"})).await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    let entry = &manifest["files"][0];
    assert_eq!(entry["contentType"], "application/fhir+json");
    assert!(entry.get("embedded").is_none());
    let location = entry["location"].as_str().unwrap();
    assert!(location.starts_with(&format!("{}/shl/file/", h.base)));
    let (status, ct, body) = h.get(location).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/jose"));
    assert_eq!(body, file);
    // Single use.
    assert_eq!(h.get(location).await.0, StatusCode::NOT_FOUND);
    // Short-lived: a fresh one is gone after a minute.
    let (_, manifest) = h.manifest(&link, json!({"recipient": "Dr. Lee"})).await;
    let location = manifest["files"][0]["location"]
        .as_str()
        .unwrap()
        .to_owned();
    h.advance(61);
    assert_eq!(h.get(&location).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn embedded_when_it_fits_embedded_length_max() {
    let h = host().await;
    let file = jwe(r#"{"resourceType":"Bundle"}"#);
    let link = h
        .link(json!({"files": [{"jwe": file, "content_type": "application/smart-health-card"}]}))
        .await;
    let (status, m) = h
        .manifest(
            &link,
            json!({"recipient": "ER", "embeddedLengthMax": file.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["files"][0]["embedded"], file.as_str());
    assert_eq!(
        m["files"][0]["contentType"],
        "application/smart-health-card"
    );
    assert!(m["files"][0].get("location").is_none());
    let (_, m) = h
        .manifest(
            &link,
            json!({"recipient": "ER", "embeddedLengthMax": file.len() - 1}),
        )
        .await;
    assert!(m["files"][0].get("embedded").is_none());
    assert!(m["files"][0]["location"].is_string());
}

#[tokio::test]
async fn flag_u_serves_the_file_directly() {
    let h = host().await;
    let file = jwe("{}");
    let link = h
        .link(json!({"files": [{"jwe": file}], "flags": "U"}))
        .await;
    let url = link["manifest_url"].as_str().unwrap();
    let (status, ct, body) = h.get(&format!("{url}?recipient=Dr.%20Lee")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/jose"));
    assert_eq!(body, file);
    assert_eq!(h.get(url).await.0, StatusCode::BAD_REQUEST);
    // Not for a link without U.
    let plain = h.link(json!({"files": [{"jwe": file}]})).await;
    let url = plain["manifest_url"].as_str().unwrap();
    assert_eq!(
        h.get(&format!("{url}?recipient=x")).await.0,
        StatusCode::NOT_FOUND
    );
    // U with a passcode, or with two files, is refused.
    let (status, answer) = h
        .create(json!({"files": [{"jwe": file}], "flags": "PU", "passcode": "1234"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["field"], "flag_u_with_passcode");
    let (status, _) = h
        .create(json!({"files": [{"jwe": file}, {"jwe": file}], "flags": "U"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let events = h.events(&link).await;
    assert_eq!(events[0]["kind"], "direct");
    assert_eq!(events[0]["recipient"], "Dr. Lee");
}

#[tokio::test]
async fn expired_links_answer_404_until_extended() {
    let h = host().await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "L", "expires_at": T0 + 100}))
        .await;
    assert_eq!(
        h.manifest(&link, json!({"recipient": "a"})).await.0,
        StatusCode::OK
    );
    h.advance(100);
    let (status, body) = h.manifest(&link, json!({"recipient": "a"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, body) = h
        .manage_with(
            &link,
            reqwest::Method::POST,
            "extend",
            link["management_token"].as_str().unwrap(),
            Some(json!({"expires_at": "2031-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_at"], "2031-01-01T00:00:00Z");
    assert_eq!(
        h.manifest(&link, json!({"recipient": "a"})).await.0,
        StatusCode::OK
    );
    // An expiry in the past is refused at creation.
    let (status, body) = h
        .create(json!({"files": [{"jwe": jwe("{}")}], "expires_at": "2001-01-01T00:00:00Z"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "expires_at");
}

#[tokio::test]
async fn max_uses_counts_manifest_fetches_without_l() {
    let h = host().await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "max_uses": 2}))
        .await;
    let (_, m) = h.manifest(&link, json!({"recipient": "a"})).await;
    assert_eq!(
        h.manifest(&link, json!({"recipient": "b"})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.manifest(&link, json!({"recipient": "c"})).await.0,
        StatusCode::NOT_FOUND
    );
    // The location of the last use is still good.
    let location = m["files"][0]["location"].as_str().unwrap();
    assert_eq!(h.get(location).await.0, StatusCode::OK);
    // L: fetched again and again; max_uses makes no sense with it.
    let long = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "L"}))
        .await;
    for _ in 0..5 {
        assert_eq!(
            h.manifest(&long, json!({"recipient": "a"})).await.0,
            StatusCode::OK
        );
    }
    let (status, body) = h
        .create(json!({"files": [{"jwe": jwe("{}")}], "flags": "L", "max_uses": 1}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "flag_l_with_max_uses");
}

#[tokio::test]
async fn revoke_pause_resume_delete() {
    use reqwest::Method;
    let h = host().await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "L"}))
        .await;
    let ok = json!({"recipient": "a"});
    let (_, m) = h.manifest(&link, ok.clone()).await;
    let pending = m["files"][0]["location"].as_str().unwrap().to_owned();

    let (status, body) = h.manage(&link, Method::POST, "pause").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("paused"))
    );
    assert_eq!(h.manifest(&link, ok.clone()).await.0, StatusCode::NOT_FOUND);
    // A location handed out before the pause is void too.
    assert_eq!(h.get(&pending).await.0, StatusCode::NOT_FOUND);
    let (_, info) = h.manage(&link, Method::GET, "").await;
    assert_eq!(
        (info["status"].as_str(), info["open"].as_bool()),
        (Some("paused"), Some(false))
    );

    let (status, _) = h.manage(&link, Method::POST, "resume").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.manifest(&link, ok.clone()).await.0, StatusCode::OK);

    // Someone else's token manages nothing.
    let other = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    let (status, _) = h
        .manage_with(
            &link,
            Method::POST,
            "revoke",
            other["management_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.manifest(&link, ok.clone()).await.0, StatusCode::OK);

    let (status, body) = h.manage(&link, Method::POST, "revoke").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    assert_eq!(h.manifest(&link, ok.clone()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        h.manage(&link, Method::POST, "resume").await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(h.manifest(&link, ok.clone()).await.0, StatusCode::NOT_FOUND);

    let files_before = h.count("files");
    let (status, body) = h.manage(&link, Method::DELETE, "").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("deleted"))
    );
    assert_eq!(h.count("files"), files_before - 1);
    assert_eq!(h.manifest(&link, ok).await.0, StatusCode::NOT_FOUND);
    // The events stay, the manifest fetches among them.
    let events = h.events(&link).await;
    assert!(events.iter().filter(|e| e["outcome"] == "ok").count() >= 2);
}

#[tokio::test]
async fn a_wrong_passcode_counts_and_a_right_one_opens() {
    let h = host().await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "P", "passcode": "4711", "max_attempts": 3}))
        .await;
    let (status, body) = h.manifest(&link, json!({"recipient": "a"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["remainingAttempts"], 3);
    let (status, body) = h
        .manifest(&link, json!({"recipient": "a", "passcode": "0000"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["remainingAttempts"], 2);
    let (status, _) = h
        .manifest(&link, json!({"recipient": "a", "passcode": "4711"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The right passcode did not use an attempt.
    let (_, info) = h.manage(&link, reqwest::Method::GET, "").await;
    assert_eq!(info["remaining_attempts"], 2);
    // P without a passcode (or a passcode without P) is refused at creation.
    let (status, body) = h
        .create(json!({"files": [{"jwe": jwe("{}")}], "flags": "P"}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("passcode"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_wrong_passcodes_use_no_more_than_the_allowed_attempts() {
    let h = Arc::new(host().await);
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "P", "passcode": "right-one", "max_attempts": 10}))
        .await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let h = Arc::clone(&h);
        let link = link.clone();
        tasks.push(tokio::spawn(async move {
            h.manifest(
                &link,
                json!({"recipient": "attacker", "passcode": format!("guess-{i}")}),
            )
            .await
        }));
    }
    let mut remaining = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        remaining.push(body["remainingAttempts"].as_i64().unwrap());
    }
    // Exactly ten guesses were weighed (9, 8, ... 0 left after each); forty never were.
    let mut weighed: Vec<i64> = remaining.iter().copied().filter(|r| *r > 0).collect();
    weighed.sort_unstable();
    assert_eq!(weighed, (1..=9).collect::<Vec<_>>());
    assert_eq!(remaining.iter().filter(|r| **r == 0).count(), 41);
    let events = h.events(&link).await;
    let wrong = events
        .iter()
        .filter(|e| e["outcome"] == "wrong_passcode")
        .count();
    assert_eq!(wrong, 10);
    // Now even the right passcode fails.
    let (status, body) = h
        .manifest(
            &link,
            json!({"recipient": "Dr. Lee", "passcode": "right-one"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["remainingAttempts"], 0);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_store_nothing() {
    let h = host().await;
    let big = format!(
        r#"{{"files":[{{"jwe":"{}"}}]}}"#,
        "a".repeat(8 * 1024 * 1024 + 1)
    );
    let (status, body) = h.create_raw(Some(&h.owner), big.into()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "too_large");
    assert_eq!(h.count("links"), 0);
    let link = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    let (status, _) = h
        .manifest(&link, json!({"recipient": "x".repeat(5000)}))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.count("events"), 0);
}

#[tokio::test]
async fn malformed_json_is_400_and_stores_nothing() {
    let h = host().await;
    for bad in [
        "{\"files\": [",
        "not json at all",
        r#"{"files": "x"}"#,
        r#"{"files": [{"jwe": "a.b.c"}]}"#,
        r#"{"files": [], "flags": ""}"#,
        r#"{"files": [{"jwe": "x"}], "flags": "Q"}"#,
        // A misspelt field is refused, not ignored (here: no expiry at all).
        &format!(r#"{{"files": [{{"jwe": "{}"}}], "expires": 5}}"#, jwe("{}")),
    ] {
        let (status, body) = h.create_raw(Some(&h.owner), bad.to_owned().into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"].is_string(), "{bad}: {body}");
        // The answer never repeats what was sent.
        assert!(!body.to_string().contains("at all"));
    }
    assert_eq!(h.count("links"), 0);
    let link = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    let resp = h
        .http
        .post(link["manifest_url"].as_str().unwrap())
        .body("{recipient")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "malformed_json");
    // recipient is required.
    assert_eq!(
        h.manifest(&link, json!({})).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(h.count("events"), 0);
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let h = host().await;
    let fake = secret::random_token().unwrap();
    let resp = h
        .http
        .post(format!("{}/shl/{fake}", h.base))
        .json(&json!({"recipient": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        h.get(&format!("{}/shl/{fake}?recipient=a", h.base)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&format!("{}/shl/file/{fake}", h.base)).await.0,
        StatusCode::NOT_FOUND
    );
    let link = json!({"id": fake, "management_token": fake});
    assert_eq!(
        h.manage(&link, reqwest::Method::GET, "events").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&format!("{}/nothing/here", h.base)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn events_show_the_declared_recipients_and_no_address() {
    let h = host().await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "P", "passcode": "pw"}))
        .await;
    h.manifest(&link, json!({"recipient": "Mallory", "passcode": "nope"}))
        .await;
    let (_, m) = h
        .manifest(&link, json!({"recipient": "Dr. Lee", "passcode": "pw"}))
        .await;
    h.get(m["files"][0]["location"].as_str().unwrap()).await;
    let events = h.events(&link).await;
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["recipient"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("manifest", "Mallory", "wrong_passcode"),
            ("manifest", "Dr. Lee", "ok"),
            ("file", "Dr. Lee", "ok"),
        ]
    );
    assert_eq!(events[2]["file_index"], 0);
    assert!(events[0]["at"].as_str().unwrap().starts_with("2030-03-17"));
    assert!(events.iter().all(|e| e.get("ip").is_none()));

    // With log_ip the address is there.
    let h = host_with(|s| s.log_ip = true).await;
    let link = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    h.manifest(&link, json!({"recipient": "Dr. Lee"})).await;
    assert_eq!(h.events(&link).await[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn the_data_dir_holds_no_plaintext_passcode_or_token() {
    let h = host().await;
    let plaintext = r#"{"resourceType":"Patient","name":[{"family":"Zebulon-Quarrington"}]}"#;
    let passcode = "violet-harbour-7731";
    let link = h
        .link(json!({"files": [{"jwe": jwe(plaintext)}], "flags": "P", "passcode": passcode, "label": "for the ER"}))
        .await;
    let (status, _) = h
        .manifest(&link, json!({"recipient": "Dr. Lee", "passcode": passcode}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let management = link["management_token"].as_str().unwrap();
    let mut scanned = 0;
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        for needle in [
            "Zebulon-Quarrington",
            passcode,
            management,
            h.owner.as_str(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is stored"
            );
        }
    }
    // The scan saw the database (the JWE itself is in it).
    assert!(scanned > 4096);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let h = host_with(|s| {
        s.per_link = Rate {
            burst: 3,
            per_second: 1,
        }
    })
    .await;
    let link = h
        .link(json!({"files": [{"jwe": jwe("{}")}], "flags": "L"}))
        .await;
    for _ in 0..3 {
        assert_eq!(
            h.manifest(&link, json!({"recipient": "a"})).await.0,
            StatusCode::OK
        );
    }
    let resp = h
        .http
        .post(link["manifest_url"].as_str().unwrap())
        .json(&json!({"recipient": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
}

#[test]
fn owner_token_prints_a_token_that_creates_links() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::owner_token(dir.path());
    assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    let host = common::start(dir.path(), &[]);
    let base = host.base.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = rt.block_on(async {
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for t in [token.as_str(), "wrong"] {
            let resp = http
                .post(format!("{base}/api/links"))
                .bearer_auth(t)
                .json(&json!({"files": [{"jwe": jwe("{}")}]}))
                .send()
                .await
                .unwrap();
            statuses.push(resp.status());
        }
        statuses
    });
    drop(host);
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::UNAUTHORIZED]);
}

#[test]
fn plain_http_off_loopback_is_refused_with_a_sentence() {
    let bin = common::BIN;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["--listen", "0.0.0.0:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the host started on 0.0.0.0 without TLS");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("--tls-cert"), "{stderr}");
    assert!(
        stderr.contains("reverse proxy") && stderr.contains("--behind-proxy"),
        "{stderr}"
    );
    // Behind a proxy it needs the public address.
    let out = std::process::Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["--listen", "0.0.0.0:0", "--behind-proxy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("--public-url")
    );
}

/// The viewer's three answers: (path, content type).
const VIEWER: [(&str, &str); 3] = [
    ("/view", "text/html; charset=utf-8"),
    ("/view/viewer.js", "text/javascript; charset=utf-8"),
    ("/view/viewer.css", "text/css; charset=utf-8"),
];

#[tokio::test]
async fn the_viewer_is_served_with_a_strict_policy_and_the_common_headers() {
    let h = host().await;
    for (path, content_type) in VIEWER {
        let resp = h
            .http
            .get(format!("{}{path}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_else(|| panic!("{path} has no {name}"))
        };
        assert_eq!(header("content-type"), content_type);
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header("cache-control"), "no-store");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "no-referrer");
        assert_eq!(header("x-frame-options"), "DENY");
    }
    // No other file under /view, and the viewer takes no POST.
    let (status, _, _) = h.get(&format!("{}/view/other.js", h.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = h
        .http
        .post(format!("{}/view", h.base))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
}

#[tokio::test]
async fn the_viewer_loads_nothing_from_elsewhere_and_writes_no_html_from_strings() {
    let h = host().await;
    let mut files = Vec::new();
    for (path, _) in VIEWER {
        let (status, _, body) = h.get(&format!("{}{path}", h.base)).await;
        assert_eq!(status, StatusCode::OK);
        files.push((path, body));
    }
    for (path, body) in &files {
        // No address of any other site: no scheme, no protocol-relative URL, nothing imported.
        for needle in ["://", "\"//", "'//", "(//", "@import", "url("] {
            assert!(!body.contains(needle), "{path} has {needle}");
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(
                !body.contains(sink) || path.ends_with(".html"),
                "{path} uses {sink}"
            );
        }
    }
    let page = &files[0].1;
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("name=\"viewport\""));
    assert!(page.contains("src=\"view/viewer.js\""));
    assert!(page.contains("href=\"view/viewer.css\""));
    assert!(page.contains("<label for=\"recipient\">Who is viewing?</label>"));
    assert!(page.contains("<label for=\"passcode\">Passcode</label>"));
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("style="), "no inline style");
    let script = &files[1].1;
    assert!(
        script
            .contains("This link was withdrawn by the patient, has expired, or has been used up.")
    );
    assert!(script.contains("remainingAttempts"));
    // The script never logs, and never puts the link in an address it asks for.
    assert!(!script.contains("console."));
    assert!(!script.contains("sendBeacon"));
}

#[tokio::test]
async fn a_created_link_names_the_viewer() {
    let h = host().await;
    let link = h.link(json!({"files": [{"jwe": jwe("{}")}]})).await;
    assert_eq!(link["viewer_url"], format!("{}/view", h.base));
}
