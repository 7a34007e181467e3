//! The command line, per the CLI contract in DESIGN.md.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ownrecord",
    version,
    about = "Your health record, on your computer, encrypted."
)]
pub struct Cli {
    /// The vault directory (default: your data folder, e.g. ~/.local/share/OwnRecord).
    #[arg(long, global = true, env = "OWNRECORD_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,

    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault. The key goes to the system keyring, or is sealed with a passphrase when
    /// OWNRECORD_PASSPHRASE is set (or --passphrase is given).
    Init {
        /// Ask for a passphrase instead of using the system keyring.
        #[arg(long)]
        passphrase: bool,
    },
    /// Import files: FHIR R4 (a Bundle of any type, NDJSON, a single resource) or C-CDA (XML, zip, IHE XDM, MIME), told apart by content.
    Import {
        /// Whose record the files are, when OwnRecord cannot tell: a person's id (see
        /// `ownrecord people`) or `new`.
        #[arg(long, value_name = "ID|new")]
        person: Option<String>,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// The people whose records the vault holds (and renaming, linking, splitting, removing them).
    People {
        #[command(subcommand)]
        command: Option<PeopleCommand>,
    },
    /// Counts per resource type, date range and sources.
    Summary {
        #[command(flatten)]
        person: PersonArg,
        /// Counts for the whole vault: everyone's resources and the shared ones.
        #[arg(long, conflicts_with = "person")]
        all: bool,
    },
    /// Full-text search over names, codes' text and notes.
    Search {
        #[command(flatten)]
        person: PersonArg,
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
        /// At most this many results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Check the vault's integrity (database pages, encryption, audit chain).
    Check,
    /// Make a new recovery key (the old one stops opening the vault). Shown once: write it down.
    RecoveryKey,
    /// Open the vault; with --recovery-key (asked, or OWNRECORD_RECOVERY_KEY) when its keyring
    /// entry is gone, which puts the key back in the keyring.
    Unlock {
        #[arg(long)]
        recovery_key: bool,
    },
    /// Back up the whole vault, encrypted: `--to DIR` now, or `set DIR` for automatic backups,
    /// `status`, `off`. With neither, backs up to the chosen folder now.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        /// Write a backup into this folder now (created if missing).
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Restore a backup into --vault DIR (a new or empty folder), with the recovery key or the
    /// passphrase (OWNRECORD_RECOVERY_KEY / OWNRECORD_PASSPHRASE, or asked).
    Restore {
        /// A backup generation folder, or a backup folder (its newest backup).
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
        /// Roll the vault already in --vault (the same vault) back to the backup.
        #[arg(long)]
        replace: bool,
        /// Restore as a new, separate vault (new id, keyring entry and recovery key), e.g. beside
        /// the original on this computer.
        #[arg(long, conflicts_with = "replace")]
        as_new: bool,
    },
    /// Add or change the vault's passphrase (new one from OWNRECORD_NEW_PASSPHRASE, or asked for).
    Passphrase,
    /// The audit & disclosure log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Connect a patient portal (SMART on FHIR): sign in in your browser, then `sync`.
    Connect {
        /// The portal's FHIR base URL (https://..., or http:// on this computer).
        #[arg(value_name = "URL")]
        url: String,
        /// The app's client id registered at this portal (default: OwnRecord's for the portal's
        /// vendor, or yours set with `portals client`).
        #[arg(long)]
        client_id: Option<String>,
        /// A client secret, for portals that register OwnRecord as a confidential client.
        #[arg(long, env = "OWNRECORD_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// Print the sign-in address instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
        /// The portal's vendor, for a portal the directory does not list (its quirks are then
        /// handled): epic, oracle, athena, healow, veradigm, va, bluebutton.
        #[arg(long, value_name = "VENDOR")]
        vendor: Option<String>,
        /// Your practice, at a portal that serves many from one address (athenahealth): its id,
        /// as `ownrecord portals NAME` shows it.
        #[arg(long, value_name = "ID")]
        practice: Option<String>,
    },
    /// Search the portal directory by name, alias, city or state (connect a portal by its URL if
    /// it is not listed); `portals client VENDOR ID` sets your own client id for a vendor.
    #[command(args_conflicts_with_subcommands = true)]
    Portals {
        #[command(subcommand)]
        command: Option<PortalsCommand>,
        #[arg(value_name = "TEXT")]
        text: Vec<String>,
        /// At most this many results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Download what is new from connected portals (all of them, or one by id, URL or name).
    Sync {
        #[arg(value_name = "CONNECTION")]
        connection: Option<String>,
        /// Whose record the portal's patient is, the first time, when OwnRecord cannot tell: a
        /// person's id (see `ownrecord people`) or `new`.
        #[arg(long, value_name = "ID|new")]
        person: Option<String>,
    },
    /// List connected portals.
    Connections,
    /// Revoke a portal's access and remove the connection (downloaded records stay).
    Disconnect {
        #[arg(value_name = "CONNECTION")]
        connection: String,
    },
    /// Run the demo patient portal (synthetic patients) on this computer.
    DemoPortal {
        #[arg(long, default_value_t = 8765)]
        port: u16,
        /// The most resources per search page.
        #[arg(long, default_value_t = 20)]
        page_size: usize,
        /// Folder of Synthea bundles to serve (default: the bundled demo patients).
        #[arg(long, value_name = "DIR")]
        patients: Option<PathBuf>,
        /// Play a vendor's portal, quirks included: epic, oracle, athena, healow, veradigm, va,
        /// bluebutton (default: generic).
        #[arg(long = "as", value_name = "CODE", value_parser = personality)]
        personality: Option<ownrecord_demo_portal::Personality>,
    },
    /// Export your record: a PDF visit summary, an IPS document (FHIR), or everything.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Share a summary with someone: an encrypted package (PDF + IPS), and with --shl a SMART
    /// Health Link and its QR code. Prints the passcode that opens the package. With
    /// `--purpose research --study ID --deidentify`, a de-identified research copy instead.
    Share {
        /// Who it is for (written in the package and in your disclosure log).
        #[arg(long, value_name = "NAME")]
        to: String,
        /// Why you share it.
        #[arg(long, value_name = "TEXT")]
        purpose: String,
        /// The encrypted package to write (opens with the standard `age` tool), or with --pdf
        /// the PDF.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Give a plain PDF summary instead of an encrypted package (for someone you hand it to;
        /// it cannot be taken back, and your log says you gave it to them).
        #[arg(long, conflicts_with_all = ["shl", "expires"])]
        pdf: bool,
        #[command(flatten)]
        selection: SelectionArgs,
        /// The share expires after this many days (in the manifest and the link).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
        /// Also make a SMART Health Link (and QR code) to the IPS.
        #[arg(long)]
        shl: bool,
        /// Upload the link's encrypted file to this address (HTTP PUT) on a host you choose.
        #[arg(
            long,
            value_name = "URL",
            requires = "shl",
            conflicts_with = "link_url"
        )]
        upload: Option<String>,
        /// Where you will put the link's encrypted file yourself (it is written next to --out).
        #[arg(long, value_name = "URL", requires = "shl", conflicts_with = "host")]
        link_url: Option<String>,
        /// Make the link through this share host (see `ownrecord hosts`): it can be revoked
        /// (`ownrecord shares revoke ID`) and you see who opened it (`ownrecord shares refresh`).
        #[arg(long, value_name = "URL", requires = "shl", conflicts_with = "upload")]
        host: Option<String>,
        /// The link asks for this passcode (the host disables it after too many wrong ones); it
        /// also opens the package.
        #[arg(
            long,
            value_name = "P",
            requires = "host",
            env = "OWNRECORD_SHARE_PASSCODE",
            hide_env_values = true
        )]
        passcode: Option<String>,
        /// The host serves the link at most this many times.
        #[arg(long, value_name = "N", requires = "host")]
        max_uses: Option<u32>,
        #[command(flatten)]
        research: ResearchShareArgs,
    },
    /// The studies you gave de-identified research copies to; `studies stop ID` stops sending
    /// updates (a later copy for it cannot be linked with the earlier ones).
    Studies {
        #[command(subcommand)]
        command: Option<StudiesCommand>,
    },
    /// The share hosts your links can go through: `hosts add URL --token TOKEN`, `hosts remove
    /// URL`; with neither, lists them.
    Hosts {
        #[command(subcommand)]
        command: Option<HostsCommand>,
    },
    /// Everything you shared (recipient, purpose, when, expiry, status, opens); `shares refresh`
    /// reads who opened your links, `shares revoke ID` stops a link.
    Shares {
        #[command(subcommand)]
        command: Option<SharesCommand>,
    },
    /// Delete the vault, its key and every file of it, and verify nothing remains.
    Wipe {
        /// Confirm: wipe refuses to run without it.
        #[arg(long)]
        yes: bool,
        /// Keep the audit & disclosure log (no clinical content) as disclosure-log.json.
        #[arg(long)]
        keep_disclosure_log: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PortalsCommand {
    /// Your own client id for a vendor (epic, oracle, athena, healow, veradigm, va, bluebutton),
    /// when OwnRecord was registered with it for you; without ID, the one in use; --clear forgets it.
    Client {
        vendor: String,
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        clear: bool,
    },
    /// Download the vendors' endpoint lists again (only when you ask), check them against the
    /// bundled directory (each vendor within 20%) and keep them beside your vault.
    Refresh {
        /// A mirror of the lists (the same file names as the bundled directory is built from)
        /// instead of each vendor's own address.
        #[arg(long, value_name = "URL")]
        from: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Add a share host (or give a new owner token for one), with the owner token its operator
    /// gave you (`ownrecord-share-host --data DIR owner-token`).
    Add {
        #[arg(value_name = "URL")]
        url: String,
        #[arg(
            long,
            value_name = "TOKEN",
            env = "OWNRECORD_HOST_TOKEN",
            hide_env_values = true
        )]
        token: String,
    },
    /// Forget a share host (links made there keep working until you revoke them).
    Remove {
        #[arg(value_name = "URL")]
        url: String,
    },
}

/// `share --purpose research --study ID --deidentify`: a de-identified research copy instead
/// of a summary. The checks of which flags go together are in `commands.rs` (sentences, not
/// clap's usage errors).
#[derive(Debug, Clone, clap::Args)]
pub struct ResearchShareArgs {
    /// Give a de-identified research copy (HIPAA Safe Harbor) for the study named by --study,
    /// with --purpose research.
    #[arg(long)]
    pub deidentify: bool,
    /// The study's id, as the researcher gave it (with --deidentify).
    #[arg(long, value_name = "ID")]
    pub study: Option<String>,
    /// Keep the number of days between events in the research copy (more useful to the study,
    /// and easier to recognise).
    #[arg(long)]
    pub keep_intervals: bool,
}

#[derive(Debug, Subcommand)]
pub enum StudiesCommand {
    /// Stop sending updates to a study: its secret is destroyed, so a copy given to it later
    /// cannot be linked with the earlier ones. Recorded in the disclosure log.
    Stop {
        #[arg(value_name = "ID")]
        study: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SharesCommand {
    /// Ask the share hosts who opened your links, and write each new open to the disclosure log.
    Refresh,
    /// Stop a link: its host answers "not found" from now on. Recorded in the disclosure log.
    Revoke {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up automatically to this folder (a USB drive, or a folder your cloud client syncs).
    Set {
        #[arg(value_name = "DIR")]
        folder: PathBuf,
    },
    /// Where backups go, the last one, and any problem.
    Status,
    /// Stop automatic backups (those made stay).
    Off,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List entries.
    List {
        /// Only exports and shares: who was given what, when.
        #[arg(long)]
        disclosures: bool,
    },
    /// Walk the hash chain; names the first entry that was changed.
    Verify,
    /// Write the log to a JSON file.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Whose record a command reads.
#[derive(Debug, Clone, clap::Args)]
pub struct PersonArg {
    /// The person (see `ownrecord people`); needed when the vault holds several.
    #[arg(long, value_name = "ID")]
    pub person: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Give a person the name OwnRecord shows.
    Rename {
        id: i64,
        #[arg(required = true, value_name = "NAME")]
        name: Vec<String>,
    },
    /// Two people are the same human: the second one's records join the first.
    Link { id: i64, other: i64 },
    /// A source's patient is not this person: split it off into a new person.
    Unlink {
        id: i64,
        /// The source's number (see `ownrecord people`).
        source: i64,
    },
    /// Delete a person and all their records (the audit and disclosure log keep their rows).
    Remove { id: i64 },
}

/// Which parts of the record a summary holds.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
    /// Whose record (see `ownrecord people`); needed when the vault holds several people.
    #[arg(long, value_name = "ID")]
    pub person: Option<i64>,
    /// Sections, comma-separated: problems, medications, allergies, immunizations, results,
    /// vitals, visits, procedures (default: all).
    #[arg(long, value_name = "LIST")]
    pub sections: Option<String>,
    /// Dated entries (results, visits, ...) from this day on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A PDF summary to bring to a visit.
    Pdf {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// An International Patient Summary: a FHIR document Bundle (JSON).
    Ips {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        selection: SelectionArgs,
    },
    /// Everything: NDJSON per resource type, attachments, the audit log and a manifest.
    All {
        /// A new (or empty) folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only this person's record (default: everyone's, the manifest saying whose each file is).
        #[arg(long, value_name = "ID")]
        person: Option<i64>,
    },
    /// A de-identified copy for a research study (HIPAA Safe Harbor): NDJSON per resource type
    /// and a manifest. Running it is your consent to give it; --preview first shows what goes.
    Research {
        /// The study's id, as the researcher gave it.
        #[arg(long, value_name = "ID")]
        study: String,
        /// Who receives the copy (written in the manifest and in your disclosure log).
        #[arg(long, value_name = "NAME")]
        to: String,
        /// A new (or empty) folder.
        #[arg(long, value_name = "DIR", required_unless_present = "preview")]
        out: Option<PathBuf>,
        /// Whose record (see `ownrecord people`); needed when the vault holds several people.
        #[arg(long, value_name = "ID")]
        person: Option<i64>,
        /// Keep the number of days between events (more useful to the study, and easier to
        /// recognise).
        #[arg(long)]
        keep_intervals: bool,
        /// Show what would go, what is removed and the consent statement; write nothing.
        #[arg(long)]
        preview: bool,
    },
}

fn personality(code: &str) -> Result<ownrecord_demo_portal::Personality, String> {
    ownrecord_demo_portal::Personality::from_code(code).ok_or_else(|| {
        let codes: Vec<&str> = ownrecord_demo_portal::Personality::ALL
            .iter()
            .map(|p| p.code())
            .collect();
        format!("not a personality; use one of: {}", codes.join(", "))
    })
}
