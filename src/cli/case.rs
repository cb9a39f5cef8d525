//! `mapsweep findings`, `review`, `case open|add|list|show`, `export`, `verify-bundle`:
//! reading results, reviewing them, and turning them into a case bundle that verifies offline.

use super::Settings;
use crate::ExitStatus;
use crate::case::bundle::verify_bundle;
use crate::case::export::{ExportOptions, export_case};
use crate::case::review::{Decision, review};
use crate::case::{self, NewCase};
use crate::evidence::EvidenceStore;
use crate::findings::{self, Finding, FindingFilter, ReviewState};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Output format of listing commands.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

/// Output format of reports.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

/// `--status`
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StatusArg {
    Violation,
    All,
}

/// `--review`
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReviewArg {
    Pending,
    Confirmed,
    Dismissed,
}

/// `mapsweep findings`
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Only findings of this campaign
    #[arg(long)]
    pub campaign: Option<String>,
    /// Only violations (default) or every checked map
    #[arg(long, value_enum, default_value_t = StatusArg::Violation)]
    pub status: StatusArg,
    /// Only findings in this review state (the latest review counts)
    #[arg(long, value_enum)]
    pub review: Option<ReviewArg>,
    /// Output format (json: one object per line)
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `mapsweep review`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["confirm", "dismiss"])))]
pub struct ReviewArgs {
    /// The finding (e.g. F-12)
    pub finding_id: String,
    /// The map is a violation
    #[arg(long)]
    pub confirm: bool,
    /// The map is not a violation (a false positive)
    #[arg(long)]
    pub dismiss: bool,
    /// Who decides (recorded in the sealed review)
    #[arg(long)]
    pub reviewer: String,
    /// Why (recorded in the sealed review)
    #[arg(long)]
    pub note: Option<String>,
}

/// `mapsweep case ...`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case over findings; prints the new case id (MS-<year>-<4 digits>)
    Open(CaseOpenArgs),
    /// Add findings to a case
    Add(CaseAddArgs),
    /// List cases
    List(CaseListArgs),
    /// Show one case with its findings
    Show(CaseShowArgs),
}

#[derive(Debug, Args)]
pub struct CaseOpenArgs {
    /// Case title
    #[arg(long)]
    pub title: String,
    /// The site or company concerned
    #[arg(long)]
    pub subject: Option<String>,
    /// Officer in charge
    #[arg(long)]
    pub officer: Option<String>,
    /// Findings to put in the case (at least one)
    #[arg(required = true)]
    pub findings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CaseAddArgs {
    /// The case (e.g. MS-2026-0001)
    pub case_id: String,
    /// Findings to add
    #[arg(required = true)]
    pub findings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CaseListArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct CaseShowArgs {
    pub case_id: String,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `mapsweep export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The case to export (e.g. MS-2026-0001)
    pub case_id: String,
    /// The ZIP to write
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the output file when it exists
    #[arg(long)]
    pub force: bool,
    /// Also export findings whose latest review dismissed them
    #[arg(long)]
    pub include_dismissed: bool,
    /// Chromium binary for the PDF [default: $CHROME, /usr/lib/chromium/chromium, /usr/bin/chromium]
    #[arg(long)]
    pub chrome: Option<PathBuf>,
    /// Write the bundle without report.pdf (on a machine without Chromium; report.html stays)
    #[arg(long)]
    pub no_pdf: bool,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `mapsweep verify-bundle FILE.zip` (at merge, `mapsweep verify FILE.zip` dispatches here)
#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The case bundle (ZIP) to check; no data dir is needed
    pub bundle: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

async fn open(settings: &Settings) -> anyhow::Result<EvidenceStore> {
    Ok(crate::cli::evidence::open(settings).await?)
}

fn json_line<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn print_findings_table(list: &[Finding]) {
    println!(
        "{:<8} {:<10} {:<10} {:<24} {:<20} URL",
        "ID", "VERDICT", "REVIEW", "RULES VIOLATED", "CAPTURED (UTC)"
    );
    for f in list {
        let rules: Vec<&str> = f
            .rules
            .iter()
            .filter(|r| r.is_violated())
            .map(|r| r.rule.as_str())
            .collect();
        let review = match f.review_state() {
            ReviewState::Pending => "pending",
            ReviewState::Confirmed => "confirmed",
            ReviewState::Dismissed => "dismissed",
        };
        println!(
            "{:<8} {:<10} {:<10} {:<24} {:<20} {}",
            f.finding_id,
            f.verdict,
            review,
            truncate(&rules.join(","), 24),
            truncate(&f.captured_at, 20),
            f.page_url
        );
    }
}

/// `mapsweep findings`
pub async fn findings(settings: &Settings, a: &FindingsArgs) -> anyhow::Result<ExitStatus> {
    let store = open(settings).await?;
    let filter = FindingFilter {
        campaign: a.campaign.clone(),
        all_statuses: a.status == StatusArg::All,
        review: a.review.map(|r| match r {
            ReviewArg::Pending => ReviewState::Pending,
            ReviewArg::Confirmed => ReviewState::Confirmed,
            ReviewArg::Dismissed => ReviewState::Dismissed,
        }),
    };
    let list = findings::list(store.pool(), &filter).await?;
    match a.format {
        ListFormat::Json => {
            for f in &list {
                json_line(f)?;
            }
        }
        ListFormat::Table => print_findings_table(&list),
    }
    Ok(ExitStatus::Clean)
}

/// `mapsweep review`
pub async fn review_cmd(settings: &Settings, a: &ReviewArgs) -> anyhow::Result<ExitStatus> {
    let store = open(settings).await?;
    let decision = if a.confirm {
        Decision::Confirmed
    } else {
        Decision::Dismissed
    };
    let r = review(
        &store,
        &a.finding_id,
        decision,
        &a.reviewer,
        a.note.as_deref(),
    )
    .await?;
    println!(
        "{} {} by {} (review {} sealed at seq {})",
        r.finding_id,
        r.decision.as_str(),
        r.reviewer,
        r.review_id,
        r.seq
    );
    Ok(ExitStatus::Clean)
}

fn print_case(c: &case::Case, format: ListFormat) -> anyhow::Result<()> {
    match format {
        ListFormat::Json => json_line(c),
        ListFormat::Table => {
            print_cases_table(std::slice::from_ref(c));
            Ok(())
        }
    }
}

fn print_cases_table(cases: &[case::Case]) {
    println!(
        "{:<14} {:>8}  {:<24} TITLE",
        "CASE", "FINDINGS", "OPENED (UTC)"
    );
    for c in cases {
        println!(
            "{:<14} {:>8}  {:<24} {}",
            c.case_id,
            c.findings.len(),
            c.opened_at,
            c.title
        );
    }
}

/// `mapsweep case ...`
pub async fn case_cmd(settings: &Settings, c: &CaseCommand) -> anyhow::Result<ExitStatus> {
    let store = open(settings).await?;
    match c {
        CaseCommand::Open(a) => {
            let case = case::open_case(
                &store,
                &NewCase {
                    title: a.title.clone(),
                    subject: a.subject.clone(),
                    officer: a.officer.clone(),
                    findings: a.findings.clone(),
                },
            )
            .await?;
            println!("{}", case.case_id);
        }
        CaseCommand::Add(a) => {
            let (case, added) = case::add_to_case(&store, &a.case_id, &a.findings).await?;
            if added.is_empty() {
                println!(
                    "{}: nothing added (the findings are already in the case)",
                    case.case_id
                );
            } else {
                println!("{}: added {}", case.case_id, added.join(", "));
            }
        }
        CaseCommand::List(a) => {
            let cases = case::list_cases(store.pool()).await?;
            match a.format {
                ListFormat::Json => {
                    for c in &cases {
                        json_line(c)?;
                    }
                }
                ListFormat::Table => print_cases_table(&cases),
            }
        }
        CaseCommand::Show(a) => {
            let case = case::get_case(store.pool(), &a.case_id).await?;
            let mut list = Vec::new();
            for id in &case.findings {
                list.push(findings::get(store.pool(), id).await?);
            }
            match a.format {
                ListFormat::Json => {
                    let mut v = serde_json::to_value(&case)?;
                    v["finding_details"] = serde_json::to_value(&list)?;
                    json_line(&v)?;
                }
                ListFormat::Table => {
                    print_case(&case, ListFormat::Table)?;
                    if let Some(s) = &case.subject {
                        println!("subject: {s}");
                    }
                    if let Some(o) = &case.officer {
                        println!("officer: {o}");
                    }
                    println!();
                    print_findings_table(&list);
                }
            }
        }
    }
    Ok(ExitStatus::Clean)
}

/// `mapsweep export`
pub async fn export(settings: &Settings, a: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let store = open(settings).await?;
    let opts = ExportOptions {
        out: a.out.clone(),
        force: a.force,
        include_dismissed: a.include_dismissed,
        chrome: a.chrome.clone(),
        database_url: settings.config.database_url.clone(),
        no_pdf: a.no_pdf,
    };
    let rep = export_case(&store, &a.case_id, &opts).await?;
    for w in &rep.warnings {
        eprintln!("mapsweep: warning: {w}");
    }
    match a.format {
        ReportFormat::Json => json_line(&rep)?,
        ReportFormat::Text => {
            println!("wrote {} ({} bytes)", rep.out.display(), rep.bytes);
            println!(
                "case {}: {} finding(s), {} record(s), {} artifact(s), {} file(s)",
                rep.case_id, rep.findings, rep.records, rep.artifacts, rep.files
            );
            if !rep.dismissed_left_out.is_empty() {
                println!(
                    "left out (dismissed): {}",
                    rep.dismissed_left_out.join(", ")
                );
            }
            println!(
                "tree head: size {} root {} key {}",
                rep.tree_size, rep.root_hash, rep.key_fingerprint
            );
            match &rep.tsa_time {
                Some(t) => println!("time-stamp: {t}"),
                None => println!("time-stamp: none"),
            }
            println!("took {} ms", rep.elapsed_ms);
        }
    }
    Ok(ExitStatus::Clean)
}

/// `mapsweep verify-bundle FILE.zip` (and `mapsweep verify FILE.zip` once merged)
pub async fn verify_bundle_cmd(a: &VerifyBundleArgs) -> anyhow::Result<ExitStatus> {
    let path = a.bundle.clone();
    let rep = tokio::task::spawn_blocking(move || verify_bundle(&path)).await??;
    match a.format {
        ReportFormat::Json => json_line(&rep)?,
        ReportFormat::Text => {
            println!("bundle:      {}", rep.bundle);
            println!("case:        {}", rep.case_id.as_deref().unwrap_or("?"));
            println!(
                "checked:     {} file(s), {} record(s), {} artifact(s)",
                rep.files, rep.records, rep.artifacts
            );
            if let (Some(s), Some(r)) = (rep.tree_size, &rep.root_hash) {
                println!("tree head:   size {s} root {r}");
            }
            println!(
                "signed by:   {} (compare with the fingerprint the bureau publishes)",
                rep.key_fingerprint.as_deref().unwrap_or("?")
            );
            println!("time-stamp:  {}", rep.tsa_time.as_deref().unwrap_or("none"));
            if rep.is_clean() {
                println!(
                    "OK: every digest, inclusion proof and signature holds ({} ms)",
                    rep.elapsed_ms
                );
            } else {
                println!("FAILED: {} problem(s):", rep.problems.len());
                for p in &rep.problems {
                    println!("  {p}");
                }
            }
        }
    }
    Ok(if rep.is_clean() {
        ExitStatus::Clean
    } else {
        ExitStatus::Violations
    })
}
