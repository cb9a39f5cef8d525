//! `mapsweep init`, `capture URL`, `log checkpoint`, `verify`: the evidence commands.

use super::Settings;
use crate::ExitStatus;
use crate::evidence::fetch::fetch_static;
use crate::evidence::{
    ArtifactRole, CaptureMeta, CaptureMethod, EvidenceError, EvidenceStore, StoreOptions,
    verify_data_dir,
};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::time::Duration;

/// `mapsweep capture URL`
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The URL to capture (http or https); redirects are followed and recorded
    pub url: String,
    /// Campaign name recorded in the capture (e.g. "ciie-2026")
    #[arg(long)]
    pub campaign: Option<String>,
    /// A note recorded in the capture (repeatable)
    #[arg(long)]
    pub note: Vec<String>,
    /// Largest body accepted, in bytes
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    pub max_bytes: u64,
}

/// `mapsweep log ...`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Write a signed tree head over the whole log (plus an RFC 3161 token when
    /// `[evidence] tsa_url` is set)
    Checkpoint,
}

/// Output format of `verify`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `mapsweep verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A case bundle (ZIP) to check alone, with no data dir; omit to verify the whole data dir
    #[arg(value_name = "BUNDLE.zip")]
    pub bundle: Option<std::path::PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn store_options(settings: &Settings) -> StoreOptions {
    let c = &settings.config;
    let mut o = StoreOptions {
        operator: c.operator.clone(),
        tsa_url: c.evidence.tsa_url.clone(),
        ..StoreOptions::default()
    };
    if let Some(s) = c.evidence.lock_timeout_secs {
        o.lock_timeout = Duration::from_secs(s);
    }
    o
}

pub(crate) async fn open(settings: &Settings) -> Result<EvidenceStore, EvidenceError> {
    EvidenceStore::open(
        &settings.data_dir,
        settings.config.database_url.as_deref(),
        store_options(settings),
    )
    .await
}

/// `mapsweep init`
pub async fn init(settings: &Settings) -> anyhow::Result<ExitStatus> {
    let rep =
        EvidenceStore::init(&settings.data_dir, settings.config.database_url.as_deref()).await?;
    println!("data dir:    {}", rep.data_dir.display());
    println!("database:    {}", rep.database);
    if rep.key_created {
        println!(
            "signing key: {} (new, mode 0600)",
            rep.private_key_path.display()
        );
    } else {
        println!(
            "signing key: {} (existing key kept, not overwritten)",
            rep.private_key_path.display()
        );
    }
    println!("public key:  {}", rep.public_key_path.display());
    println!("fingerprint: {}", rep.fingerprint);
    Ok(ExitStatus::Clean)
}

/// `mapsweep capture URL`
pub async fn capture(settings: &Settings, args: &CaptureArgs) -> anyhow::Result<ExitStatus> {
    let store = open(settings).await?;
    let ua = format!("mapsweep/{} (+evidence capture)", crate::TOOL_VERSION);
    let started = jiff::Timestamp::now();
    let fetched = fetch_static(&args.url, &ua, args.max_bytes).await?;
    let mut meta = CaptureMeta::new(&args.url, CaptureMethod::static_fetch(&ua));
    meta.started_at = started;
    meta.campaign = args.campaign.clone();
    meta.notes = args.note.clone();
    let mut b = store.begin_capture(meta);
    b.set_final_url(&fetched.final_url);
    b.set_status(fetched.status);
    b.set_headers(fetched.headers.clone());
    b.set_redirect_chain(fetched.redirect_chain.clone());
    b.set_remote_addr(fetched.remote_addr.clone());
    let media = fetched
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let role = if media.starts_with("text/html") || media.starts_with("application/xhtml") {
        ArtifactRole::Html
    } else {
        ArtifactRole::Resource
    };
    b.add_artifact(role, Some(&fetched.final_url), &media, &fetched.body)
        .await
        .with_context(|| format!("storing the body of {}", fetched.final_url))?;
    b.set_ended_at(jiff::Timestamp::now());
    let rec = b.seal().await?;
    println!("sealed record seq {} id {}", rec.seq, rec.id);
    println!("record hash: {}", rec.record_hash);
    if let Some(c) = rec.capture() {
        for hop in &c.redirect_chain {
            println!(
                "redirect:    {} {} -> {}",
                hop.status,
                hop.url,
                hop.location.as_deref().unwrap_or("")
            );
        }
        println!(
            "final:       {} {}",
            c.status.map(|s| s.to_string()).unwrap_or_default(),
            c.final_url.as_deref().unwrap_or("")
        );
        for a in &c.artifacts {
            println!(
                "artifact:    {} {} {} bytes blake3 {} sha256 {}",
                a.role, a.media_type, a.size, a.blake3, a.sha256
            );
        }
    }
    Ok(ExitStatus::Clean)
}

/// `mapsweep log checkpoint`
pub async fn log(settings: &Settings, cmd: &LogCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        LogCommand::Checkpoint => {
            let store = open(settings).await?;
            let sth = store.checkpoint().await?;
            let h = &sth.tree_head;
            println!("tree head:   {}", sth.file_stem());
            println!("tree size:   {}", h.tree_size);
            println!("root hash:   {}", h.root_hash);
            println!("timestamp:   {}", h.timestamp);
            println!("key:         {}", h.key_id);
            match &sth.tsa_url {
                Some(u) => println!("time stamp:  RFC 3161 token from {u}"),
                None => println!("time stamp:  none (no [evidence] tsa_url configured)"),
            }
            Ok(ExitStatus::Clean)
        }
    }
}

/// `mapsweep verify`
pub async fn verify(settings: &Settings, args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    let rep = verify_data_dir(&settings.data_dir, settings.config.database_url.as_deref()).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rep)?),
        Format::Text => {
            for p in &rep.problems {
                println!("PROBLEM {p}");
            }
            for n in &rep.notes {
                println!("note: {n}");
            }
            let mb = rep.blob_bytes as f64 / 1e6;
            let secs = (rep.elapsed_ms as f64 / 1000.0).max(0.001);
            println!(
                "{}: {} records, {} blobs ({:.1} MB), {} tree heads, {} time-stamp tokens checked in {:.2} s ({:.0} MB/s); key {}",
                if rep.is_clean() { "OK" } else { "FAILED" },
                rep.records,
                rep.blobs,
                mb,
                rep.tree_heads,
                rep.tsa_tokens,
                secs,
                mb / secs,
                rep.key_fingerprint.as_deref().unwrap_or("unknown"),
            );
            if !rep.is_clean() {
                println!("{} problem(s) found", rep.problems.len());
            }
        }
    }
    Ok(if rep.is_clean() {
        ExitStatus::Clean
    } else {
        ExitStatus::Violations
    })
}
