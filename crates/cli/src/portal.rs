//! `connect`, `sync`, `connections`, `disconnect`, `demo-portal`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use ownrecord_core::Error;
use ownrecord_core::portal::directory::Directory;
use ownrecord_core::portal::{ConnectRequest, ConnectionStatus};
use ownrecord_core::sync::SyncOptions;

use crate::commands::{Failure, Output, open};

/// The async runtime; without one (no threads or file descriptors left) nothing can go on.
#[allow(clippy::expect_used)]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

pub fn connect(
    dir: &Path,
    request: ConnectRequest,
    no_browser: bool,
    out: &Output,
) -> Result<(), Failure> {
    if let Some(vendor) = &request.vendor
        && !ownrecord_core::portal::client_ids::vendors()
            .iter()
            .any(|(code, _)| code == vendor)
    {
        return Err(Failure::Core(Error::UnknownVendor(vendor.clone())));
    }
    let mut vault = open(dir)?;
    let json = out.json;
    let connection = runtime().block_on(vault.connect(request, |sign_in_url| {
        if no_browser {
            if json {
                println!("{}", serde_json::json!({ "sign_in_url": sign_in_url }));
            } else {
                println!("Open this address in your browser to sign in:\n{sign_in_url}");
            }
            return Ok(());
        }
        eprintln!("Opening your browser to sign in to the portal…");
        opener::open_browser(sign_in_url).map_err(|_| {
            Error::SignInFailed(
                "the browser could not be opened; run again with --no-browser".into(),
            )
        })
    }))?;
    out.print(&connection, || {
        format!(
            "Connected {} (connection {}). Run `ownrecord sync` to download your record.\n",
            connection.fhir_base, connection.id
        )
    });
    Ok(())
}

pub fn sync(
    dir: &Path,
    which: Option<&str>,
    person: Option<&str>,
    out: &Output,
) -> Result<(), Failure> {
    let choice = crate::commands::person_choice(person)?;
    let mut vault = open(dir)?;
    let targets = match which {
        Some(key) => vec![vault.find_connection(key)?],
        None => vault.connections()?,
    };
    if targets.is_empty() {
        return Err(Failure::Usage(
            "no portal is connected yet; connect one with `ownrecord connect URL`".into(),
        ));
    }
    let rt = runtime();
    let mut reports = Vec::new();
    for connection in targets {
        let mut view =
            crate::progress::ProgressView::new(format!("Syncing {}", connection.name), out.json);
        let options = SyncOptions {
            person: choice,
            ..SyncOptions::default()
        };
        let result = rt.block_on(vault.sync(connection.id, options, &mut |p| {
            view.update(ownrecord_core::import::Progress {
                resources: p.resources,
                done: p.types_done as u64,
                total: p.types_total as u64,
            })
        }));
        view.finish();
        let report = result?;
        if !out.json {
            let retries = match report.retries {
                0 => String::new(),
                n => format!(", {n} retries"),
            };
            println!(
                "{}: {} ({} pages{retries})",
                report.portal,
                crate::commands::counts_text(&report.counts),
                report.pages
            );
        }
        reports.push(report);
    }
    if out.json {
        out.print(&reports, String::new);
    }
    crate::backup::after_change(&vault);
    Ok(())
}

pub fn portals(dir: &Path, text: &str, limit: usize, out: &Output) -> Result<(), Failure> {
    let found = Directory::for_vault(dir).search_limit(text, limit);
    out.print(&found, || {
        if found.is_empty() {
            return "No portal in the directory matches; connect yours by its URL: ownrecord connect URL\n".into();
        }
        found
            .iter()
            .map(|e| {
                let place = [e.city.as_deref(), e.state.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                let place = if place.is_empty() { String::new() } else { format!(" ({place})") };
                let version = if e.fhir_version.starts_with('4') {
                    String::new()
                } else {
                    format!("  [FHIR {}: not supported yet]", e.fhir_version)
                };
                format!("{}{place}  {}  {}{version}\n", e.name, e.vendor, e.fhir_base)
            })
            .collect()
    });
    Ok(())
}

/// `portals refresh`: the vendors' lists downloaded again, checked, kept beside the vault.
pub fn refresh_directory(dir: &Path, from: Option<&str>, out: &Output) -> Result<(), Failure> {
    use ownrecord_core::portal::directory::refresh::{self, Sources};
    let sources = match from {
        None => Sources::Published,
        Some(text) => Sources::Mirror(
            ownrecord_core::portal::http::check_portal_url(text).map_err(Failure::Core)?,
        ),
    };
    if !dir.exists() {
        return Err(Failure::Usage(format!(
            "there is no vault in {}; create one with `ownrecord init` first",
            dir.display()
        )));
    }
    let report = runtime().block_on(refresh::refresh(dir, &sources))?;
    out.print(&report, || {
        let mut text = format!("The directory now lists {} portals:\n", report.entries);
        for (vendor, (was, now)) in &report.vendors {
            text += &format!("  {vendor:<12} {now:>6} (bundled: {was})\n");
        }
        text
    });
    Ok(())
}

pub fn client_id(
    dir: &Path,
    vendor: &str,
    id: Option<&str>,
    clear: bool,
    out: &Output,
) -> Result<(), Failure> {
    let mut vault = open(dir)?;
    if id.is_some() || clear {
        vault.set_client_id(vendor, id)?;
    }
    let known = ownrecord_core::portal::client_ids::vendors();
    let name = known
        .iter()
        .find(|(code, _)| *code == vendor)
        .map(|(_, name)| *name)
        .ok_or_else(|| Failure::Core(Error::UnknownVendor(vendor.to_owned())))?;
    let current = vault.vendor_client_id(vendor)?;
    out.print(
        &serde_json::json!({ "vendor": vendor, "client_id": current }),
        || match &current {
            Some(id) => format!("OwnRecord signs in at {name} with client id {id}.\n"),
            None => format!("OwnRecord has no client id for {name}: set yours with `ownrecord portals client {vendor} ID`.\n"),
        },
    );
    Ok(())
}

pub fn connections(dir: &Path, out: &Output) -> Result<(), Failure> {
    let vault = open(dir)?;
    let list = vault.connections()?;
    out.print(&list, || {
        if list.is_empty() {
            return "No portal is connected.\n".into();
        }
        list.iter()
            .map(|c| {
                let attention = c
                    .attention
                    .as_deref()
                    .map(|a| format!("\n     {a}"))
                    .unwrap_or_default();
                format!(
                    "{:>3}  {} ({})  {}  last sync: {}{attention}\n",
                    c.id,
                    c.name,
                    c.fhir_base,
                    match c.status {
                        ConnectionStatus::Connected => "connected",
                        ConnectionStatus::NeedsSignIn => "needs sign-in again",
                    },
                    c.last_sync_at.as_deref().unwrap_or("never")
                )
            })
            .collect()
    });
    Ok(())
}

pub fn disconnect(dir: &Path, key: &str, out: &Output) -> Result<(), Failure> {
    let mut vault = open(dir)?;
    let connection = vault.find_connection(key)?;
    let revoked = runtime().block_on(vault.disconnect(connection.id))?;
    out.print(
        &serde_json::json!({ "disconnected": connection.id, "revoked": revoked }),
        || {
            format!(
                "Disconnected {}{}. Records already downloaded stay in your vault.\n",
                connection.fhir_base,
                if revoked {
                    " and revoked its access"
                } else {
                    ""
                }
            )
        },
    );
    Ok(())
}

/// Runs the demo portal until Ctrl-C.
pub fn demo_portal(
    port: u16,
    page_size: usize,
    patients: Option<PathBuf>,
    personality: Option<ownrecord_demo_portal::Personality>,
) -> Result<(), Failure> {
    use ownrecord_demo_portal::Personality;
    let dir = patients.unwrap_or_else(default_demo_patients);
    let personality = personality.unwrap_or_default();
    let rt = runtime();
    rt.block_on(async {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let options = ownrecord_demo_portal::Options {
            page_size,
            personality,
            ..Default::default()
        };
        let portal = ownrecord_demo_portal::DemoPortal::start_with_patients(addr, &dir, options)
            .await
            .map_err(|e| {
                Failure::Usage(format!(
                    "the demo portal could not start on port {port}: {e}"
                ))
            })?;
        let running = match personality {
            Personality::Generic => "Demo portal running".to_owned(),
            p => format!("Demo portal running as {}", p.name()),
        };
        println!("{running}. FHIR base URL: {}", portal.fhir_base());
        // The directory does not list the demo portal, so a personality is named with --vendor.
        let mut connect = format!("ownrecord connect {}", portal.fhir_base());
        match personality {
            Personality::Generic => {}
            Personality::Athena => {
                connect += &format!(
                    " --vendor athena --practice {}",
                    ownrecord_demo_portal::ATHENA_PRACTICE
                );
                println!(
                    "Its practice id is {}: pass it with --practice {0}.",
                    ownrecord_demo_portal::ATHENA_PRACTICE
                );
            }
            Personality::Healow => {
                // The command line signs in through a loopback address, which healow refuses.
                println!(
                    "It accepts only the desktop app's redirect ({}), not a loopback address: connect it in the desktop app.",
                    ownrecord_demo_portal::PRIVATE_USE_REDIRECT
                );
                connect.clear();
            }
            p => connect += &format!(" --vendor {}", p.code()),
        }
        if !connect.is_empty() {
            println!("Connect it with: {connect}");
        }
        println!(
            "Sign in as {} / {}. Stop with Ctrl-C.",
            ownrecord_demo_portal::DEMO_USERNAME,
            ownrecord_demo_portal::DEMO_PASSWORD
        );
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}

/// `assets/demo-patients` of the source tree (set OWNRECORD_DEMO_PATIENTS to override).
fn default_demo_patients() -> PathBuf {
    std::env::var_os("OWNRECORD_DEMO_PATIENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo-patients"))
}
