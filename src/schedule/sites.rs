//! Watched-site URLs: normalisation (so one site is not added twice under two spellings) and
//! bulk import parsing (`mapsweep site import FILE`).
//!
//! Normalisation: trims, assumes `https://` when no scheme is given (`example.com/news`),
//! accepts only http and https, refuses user:password parts, lowercases scheme and host,
//! converts an internationalised host to punycode, drops a trailing dot on the host, drops
//! the default port and the fragment, and gives an empty path a `/`. The query is kept.
//!
//! Import: a CSV file with a header line naming the columns (`url` required; `name`,
//! `tags` (separated by `;` or `|`), `every`, `cron` optional, in any order), or a plain file
//! with one URL per line. In both, blank lines and lines starting with `#` are skipped. Bad
//! lines are rejected with their line number and reason; the rest are accepted. A URL seen on
//! an earlier line (after normalisation) is rejected as a duplicate of that line.

use std::collections::HashMap;

use serde::Serialize;
use url::Url;

use super::spec::ScheduleSpec;

/// Errors about one site URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteUrlError {
    #[error("invalid site URL {input:?}: {reason}")]
    Invalid { input: String, reason: String },
}

/// Normalises a site URL (see the module docs).
pub fn normalize_site_url(input: &str) -> Result<Url, SiteUrlError> {
    let err = |reason: &str| SiteUrlError::Invalid {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("empty"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("contains spaces or control characters"));
    }
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err("only http and https sites can be watched"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("user names and passwords in URLs are not accepted"));
    }
    let Some(host) = url.host_str() else {
        return Err(err("no host"));
    };
    if host.is_empty() {
        return Err(err("no host"));
    }
    if let Some(stripped) = host.strip_suffix('.') {
        let stripped = stripped.to_string();
        url.set_host(Some(&stripped))
            .map_err(|e| err(&e.to_string()))?;
    }
    url.set_fragment(None);
    // `url` already lowercases scheme and host, applies IDNA (punycode), drops the default
    // port and gives http(s) an empty path of "/".
    Ok(url)
}

/// The host a URL counts against for per-host concurrency.
pub fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_string()
}

/// One accepted import line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRow {
    pub line: usize,
    pub url: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub schedule: Option<ScheduleSpec>,
}

/// One rejected import line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRejection {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// Result of parsing an import file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub accepted: Vec<ImportRow>,
    pub rejected: Vec<ImportRejection>,
}

/// Errors that reject a whole import file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: line {line}: unknown column {column:?} (known: url, name, tags, every, cron)")]
    UnknownColumn {
        file: String,
        line: usize,
        column: String,
    },
    #[error("{file}: line {line}: the header has no url column")]
    NoUrlColumn { file: String, line: usize },
    #[error("{file}: line {line}: column {column:?} appears twice")]
    DuplicateColumn {
        file: String,
        line: usize,
        column: String,
    },
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                ',' => {
                    out.push(if was_quoted {
                        field.clone()
                    } else {
                        field.trim().to_string()
                    });
                    field.clear();
                    was_quoted = false;
                }
                '"' if field.trim().is_empty() => {
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                }
                '"' => return Err("stray quote inside an unquoted field".to_string()),
                _ if was_quoted && !c.is_whitespace() => {
                    return Err("text after a closing quote".to_string());
                }
                _ => field.push(c),
            }
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_string());
    }
    out.push(if was_quoted {
        field
    } else {
        field.trim().to_string()
    });
    Ok(out)
}

const COLUMNS: [&str; 5] = ["url", "name", "tags", "every", "cron"];

/// Parses an import file's text; `file` names it in errors.
pub fn parse_import(text: &str, file: &str) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut header: Option<Vec<String>> = None;
    let mut first = true;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reject = |reason: String| ImportRejection {
            line: line_no,
            text: line.to_string(),
            reason,
        };
        if first {
            first = false;
            let lower = line.to_ascii_lowercase();
            if lower == "url" || lower.starts_with("url,") || lower.contains(",url") {
                let cols: Vec<String> = split_csv(&lower)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .collect();
                for (i, c) in cols.iter().enumerate() {
                    if !COLUMNS.contains(&c.as_str()) {
                        return Err(ImportError::UnknownColumn {
                            file: file.to_string(),
                            line: line_no,
                            column: c.clone(),
                        });
                    }
                    if cols[..i].contains(c) {
                        return Err(ImportError::DuplicateColumn {
                            file: file.to_string(),
                            line: line_no,
                            column: c.clone(),
                        });
                    }
                }
                if !cols.iter().any(|c| c == "url") {
                    return Err(ImportError::NoUrlColumn {
                        file: file.to_string(),
                        line: line_no,
                    });
                }
                header = Some(cols);
                continue;
            }
        }
        let mut row = ImportRow {
            line: line_no,
            url: String::new(),
            name: None,
            tags: Vec::new(),
            schedule: None,
        };
        match &header {
            None => {
                // Plain list: one URL per line, an inline `# comment` allowed after a space.
                let url_text = line.split(" #").next().unwrap_or(line).trim();
                match normalize_site_url(url_text) {
                    Ok(u) => row.url = u.to_string(),
                    Err(e) => {
                        report.rejected.push(reject(e.to_string()));
                        continue;
                    }
                }
            }
            Some(cols) => {
                let fields = match split_csv(line) {
                    Ok(f) => f,
                    Err(e) => {
                        report.rejected.push(reject(e));
                        continue;
                    }
                };
                if fields.len() > cols.len() {
                    report.rejected.push(reject(format!(
                        "{} fields, the header has {}",
                        fields.len(),
                        cols.len()
                    )));
                    continue;
                }
                let mut problem = None;
                for (col, value) in cols.iter().zip(fields.iter()) {
                    let value = value.trim();
                    match col.as_str() {
                        "url" => match normalize_site_url(value) {
                            Ok(u) => row.url = u.to_string(),
                            Err(e) => problem = Some(e.to_string()),
                        },
                        "name" if !value.is_empty() => row.name = Some(value.to_string()),
                        "tags" => {
                            row.tags = value
                                .split([';', '|'])
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .map(str::to_string)
                                .collect();
                        }
                        "every" if !value.is_empty() => match ScheduleSpec::every(value) {
                            Ok(s) => {
                                if row.schedule.is_some() {
                                    problem = Some("both every and cron given".to_string());
                                }
                                row.schedule = Some(s);
                            }
                            Err(e) => problem = Some(e.to_string()),
                        },
                        "cron" if !value.is_empty() => match ScheduleSpec::cron(value) {
                            Ok(s) => {
                                if row.schedule.is_some() {
                                    problem = Some("both every and cron given".to_string());
                                }
                                row.schedule = Some(s);
                            }
                            Err(e) => problem = Some(e.to_string()),
                        },
                        _ => {}
                    }
                    if problem.is_some() {
                        break;
                    }
                }
                if problem.is_none() && row.url.is_empty() {
                    problem = Some("no URL".to_string());
                }
                if let Some(p) = problem {
                    report.rejected.push(reject(p));
                    continue;
                }
            }
        }
        if let Some(earlier) = seen.get(&row.url) {
            report
                .rejected
                .push(reject(format!("duplicate of line {earlier} ({})", row.url)));
            continue;
        }
        seen.insert(row.url.clone(), line_no);
        report.accepted.push(row);
    }
    Ok(report)
}
