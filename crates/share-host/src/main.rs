//! `ownrecord-share-host --data DIR --listen ADDR:PORT` runs the host;
//! `ownrecord-share-host --data DIR owner-token` prints a new owner token (last line).

#![deny(
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ownrecord_share_host::store::{self, Store};
use ownrecord_share_host::{AppState, Clock, Settings, secret, serve_plain, tls};
use serde::Deserialize;

#[derive(Parser)]
#[command(
    name = "ownrecord-share-host",
    about = "A SMART Health Links host: it stores only ciphertext, hashed passcodes and tokens, and access events"
)]
struct Args {
    /// The data directory (the SQLite database).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// ADDR:PORT to listen on (plain HTTP only on loopback).
    #[arg(long)]
    listen: Option<String>,
    /// A TOML file with the same keys as these options (`data`, `listen`, `tls-cert`, ...);
    /// options given on the command line win.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The TLS certificate chain (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// A TLS reverse proxy in front terminates TLS: serve plain HTTP on any address and take the
    /// client's address from X-Forwarded-For.
    #[arg(long)]
    behind_proxy: bool,
    /// The address links point at (https://share.example.org); needed behind a proxy.
    #[arg(long)]
    public_url: Option<String>,
    /// Record the client's IP address with each access event.
    #[arg(long)]
    log_ip: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print a new owner token (the app needs one to create links). Only its hash is kept.
    OwnerToken,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    behind_proxy: Option<bool>,
    public_url: Option<String>,
    log_ip: Option<bool>,
}

/// The options after the config file and the command line are merged.
struct Options {
    data: PathBuf,
    listen: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    behind_proxy: bool,
    public_url: Option<String>,
    log_ip: bool,
}

fn options(args: &Args) -> Result<Options, String> {
    let file = match &args.config {
        None => FileConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("Cannot read the config file {}: {e}.", path.display()))?;
            toml::from_str(&text).map_err(|e| {
                format!(
                    "The config file {} is not valid: {}",
                    path.display(),
                    e.message()
                )
            })?
        }
    };
    let data = args.data.clone().or(file.data).ok_or_else(|| {
        "Give the data directory with --data DIR (or `data` in the config file).".to_owned()
    })?;
    Ok(Options {
        data,
        listen: args.listen.clone().or(file.listen),
        tls_cert: args.tls_cert.clone().or(file.tls_cert),
        tls_key: args.tls_key.clone().or(file.tls_key),
        behind_proxy: args.behind_proxy || file.behind_proxy.unwrap_or(false),
        public_url: args.public_url.clone().or(file.public_url),
        log_ip: args.log_ip || file.log_ip.unwrap_or(false),
    })
}

fn owner_token(opts: &Options) -> Result<(), String> {
    let store = Store::open(&opts.data).map_err(|e| {
        format!(
            "Cannot open the host's database in {}: {e}.",
            opts.data.display()
        )
    })?;
    let token = secret::random_token().map_err(|e| format!("Cannot make a token: {e}."))?;
    let hash = secret::token_hash(&token);
    let now = Clock::System.now();
    store
        .run_sync(move |c| store::add_owner_token(c, &hash, now))
        .map_err(|e| format!("Cannot store the token: {e}."))?;
    println!(
        "A new owner token for this host. Give it to OwnRecord (ownrecord hosts add URL --token TOKEN).\n\
         Only its hash is kept, so it is shown this once:"
    );
    println!("{token}");
    Ok(())
}

enum Transport {
    Plain,
    Tls(tokio_rustls::TlsAcceptor),
}

async fn run(opts: Options) -> Result<(), String> {
    let listen = opts.listen.as_deref().ok_or_else(|| {
        "Give the address to listen on with --listen ADDR:PORT (e.g. 127.0.0.1:8443).".to_owned()
    })?;
    let addr: SocketAddr = listen.parse().map_err(|_| {
        format!("--listen {listen} is not an address and port such as 127.0.0.1:8443.")
    })?;
    let transport = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => Transport::Tls(
            tls::acceptor(cert, key).map_err(|e| format!("Cannot use the TLS files: {e}."))?,
        ),
        (None, None) => {
            if !addr.ip().is_loopback() && !opts.behind_proxy {
                return Err(format!(
                    "Refusing to serve plain HTTP on {addr}, which is not a loopback address: \
                     give --tls-cert PEM and --tls-key PEM, or put the host behind a TLS reverse \
                     proxy and start it with --behind-proxy --public-url https://..."
                ));
            }
            Transport::Plain
        }
        _ => return Err("Give both --tls-cert and --tls-key, or neither.".to_owned()),
    };
    if opts.behind_proxy && opts.public_url.is_none() {
        return Err(
            "Behind a proxy the host cannot know its public address: give --public-url \
             https://... (the address the proxy serves)."
                .to_owned(),
        );
    }
    let store = Store::open(&opts.data).map_err(|e| {
        format!(
            "Cannot open the host's database in {}: {e}.",
            opts.data.display()
        )
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("Cannot listen on {addr}: {e}."))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("Cannot read the bound address: {e}."))?;
    let scheme = match transport {
        Transport::Plain => "http",
        Transport::Tls(_) => "https",
    };
    let public_url = opts
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{bound}"));
    let mut settings = Settings::new(&public_url);
    settings.log_ip = opts.log_ip;
    settings.behind_proxy = opts.behind_proxy;
    let state = AppState::new(store, settings, Clock::System);
    println!("ownrecord-share-host: serving {public_url} on {scheme}://{bound}");
    let served = match transport {
        Transport::Plain => serve_plain(listener, state).await,
        Transport::Tls(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor)
                .map_err(|e| format!("Cannot listen on {addr}: {e}."))?;
            tls::serve_tls(listener, state).await
        }
    };
    served.map_err(|e| format!("The server stopped: {e}."))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = options(&args).and_then(|opts| match args.command {
        Some(Command::OwnerToken) => owner_token(&opts),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("Cannot start the runtime: {e}."))
            .and_then(|rt| rt.block_on(run(opts))),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(sentence) => {
            eprintln!("ownrecord-share-host: {sentence}");
            ExitCode::from(2)
        }
    }
}
