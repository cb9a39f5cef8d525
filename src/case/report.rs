//! The case report: HTML from an embedded template (`report.html.j2`, auto-escaped), printed
//! to an A4 PDF by headless Chromium.
//!
//! Page rule (tests rely on it): page 1 is the cover (case, how the evidence is sealed, capture
//! environment summary); then each finding takes exactly one page, headed
//! `证据 k/N Finding k/N`; then the extraction record (电子数据提取笔录) starts on a new page and
//! runs to the end (its length grows with the number of items hashed), ending with the blank
//! signature lines. So `pages = 1 + N + E` with `E >= 1`, and page `k + 1` holds finding `k`.
//!
//! Images are referenced by relative paths inside the bundle (`artifacts/<blake3>.<ext>`), so
//! the HTML shows them when the bundle is unpacked and the PDF is printed from the unpacked
//! HTML through a `file://` URL.

use serde::Serialize;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TEMPLATE: &str = include_str!("report.html.j2");

/// How to install what the PDF step needs.
pub const INSTALL_HINT: &str = "install Chromium and CJK fonts with `apt-get install chromium fonts-noto-cjk`, or name the browser with --chrome PATH or the CHROME environment variable";

/// Errors rendering or printing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("report template: {0}")]
    Template(String),
    #[error("Chromium not found (looked at {looked}); {INSTALL_HINT}")]
    ChromiumMissing { looked: String },
    #[error("printing {html} to PDF with Chromium {chrome} failed: {message}; {INSTALL_HINT}")]
    Print {
        html: PathBuf,
        chrome: PathBuf,
        message: String,
    },
    #[error("the PDF was not asked for (--no-pdf)")]
    Skipped,
}

/// Case block of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub case_id: String,
    pub title: String,
    pub subject: Option<String>,
    pub officer: Option<String>,
    pub opened_utc: String,
    pub opened_cst: String,
}

/// Tree-head block of the report.
#[derive(Debug, Clone, Serialize)]
pub struct TreeView {
    pub size: u64,
    pub root: String,
    pub timestamp: String,
    pub key: String,
    /// The TSA and its time, when there is a token.
    pub tsa: Option<String>,
}

/// Environment summary on the cover.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvSummary {
    pub operators: String,
    pub hosts: String,
    pub os: String,
    pub methods: String,
    pub period: String,
}

/// A review as shown.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    pub decision: String,
    pub decision_zh: String,
    pub reviewer: String,
    pub at_cst: String,
    pub note: Option<String>,
}

/// One rule row.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub rule: String,
    pub rule_zh: String,
    pub status: String,
    pub status_zh: String,
    pub confidence: String,
    pub message: String,
    pub violated: bool,
    pub clause: String,
}

/// The capture environment of one finding.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvView {
    pub tool_version: String,
    pub browser: String,
    pub os: String,
    pub host: String,
    pub operator: Option<String>,
    pub remote_addr: Option<String>,
    pub robots: Option<String>,
    pub status: Option<String>,
    pub notes: String,
}

/// One finding page.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub index: usize,
    pub finding_id: String,
    pub page_url: String,
    pub final_url: Option<String>,
    pub artifact_url: Option<String>,
    pub artifact_role: String,
    pub captured_utc: String,
    pub captured_cst: String,
    pub verdict: String,
    pub verdict_zh: String,
    pub map_desc: String,
    pub review: Option<ReviewView>,
    /// Earlier reviews, summarised.
    pub superseded: String,
    pub capture_id: String,
    pub capture_seq: u64,
    pub record_path: String,
    pub screenshot: Option<String>,
    pub map_image: String,
    pub overlay: Option<String>,
    pub rules: Vec<RuleView>,
    pub env: EnvView,
}

/// The extraction record block.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractionView {
    pub collector: String,
    pub when: String,
    #[serde(rename = "where")]
    pub where_: String,
    pub tools: String,
    pub method: String,
    pub verification: String,
}

/// One hashed item of the extraction record.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub path: String,
    pub description: String,
    pub size: u64,
    pub sha256: String,
    pub sm3: String,
    pub blake3: String,
}

/// Everything the template shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub case: CaseView,
    pub generated_utc: String,
    pub generated_cst: String,
    pub tool_version: String,
    pub tree: TreeView,
    pub env_summary: EnvSummary,
    pub findings: Vec<FindingView>,
    pub extraction: ExtractionView,
    pub items: Vec<ItemView>,
}

/// Renders the report HTML.
pub fn render_html(data: &ReportData) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Template(e.to_string()))?;
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| ReportError::Template(e.to_string()))?;
    tmpl.render(minijinja::value::Serde(data))
        .map_err(|e| ReportError::Template(e.to_string()))
}

/// A rule id in Chinese.
pub fn rule_zh(rule: &str) -> String {
    match rule {
        "taiwan" => "台湾",
        "south_china_sea" => "南海诸岛及断续线",
        "zangnan" => "藏南地区",
        "aksai_chin" => "阿克赛钦地区",
        "diaoyu" => "钓鱼岛、赤尾屿",
        "hainan" => "海南岛",
        other => return other.to_string(),
    }
    .to_string()
}

/// The content rule a map rule relates to (paraphrased; the official texts govern).
pub fn clause(rule: &str) -> String {
    const SRC: &str =
        "《公开地图内容表示规范》（自然资规〔2023〕2号）；GB/T 35764-2017《公开地图内容表示要求》";
    let what = match rule {
        "taiwan" => {
            "台湾岛、澎湖列岛等应作为中国领土表示：世界地图上与大陆同色，不得表示为单独国家；中国地图上作为省级行政区表示"
        }
        "south_china_sea" => {
            "表示中国全图时应表示南海诸岛及断续国界线（可用\"南海诸岛\"附图）；世界地图亦应表示断续线"
        }
        "zangnan" => "藏南地区（麦克马洪线以南）应按中国国界线表示在中国境内",
        "aksai_chin" => "阿克赛钦地区应表示在中国境内",
        "diaoyu" => "比例尺允许时应表示钓鱼岛、赤尾屿，并作为中国领土表示",
        "hainan" => "海南岛应作为中国领土表示，与大陆同色",
        _ => "地图表示应符合国家公开地图内容表示要求",
    };
    format!("{what}。依据：{SRC}")
}

/// A rule status in Chinese.
pub fn status_zh(status: &str) -> &'static str {
    match status {
        "violation" | "violated" | "fail" | "failed" => "违规",
        "pass" | "ok" | "compliant" => "符合",
        "not-applicable" | "not_applicable" | "n/a" | "skip" => "不适用",
        "uncertain" | "unknown" => "无法判定",
        _ => "其他",
    }
}

/// A verdict in Chinese.
pub fn verdict_zh(verdict: &str) -> &'static str {
    match verdict {
        "violation" => "问题地图",
        "compliant" | "pass" | "ok" => "未发现问题",
        "uncertain" => "无法判定",
        "no-map" | "not-a-map" => "非地图",
        _ => "其他",
    }
}

/// Where Chromium is looked for, in order: the explicit path, `$CHROME`, Debian's binary, the
/// Debian wrapper, then `chromium`/`chromium-browser`/`google-chrome` on `$PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, ReportError> {
    crate::capture::find_chromium(explicit).map_err(|e| match e {
        crate::capture::CaptureError::ChromiumNotFound { tried } => {
            ReportError::ChromiumMissing { looked: tried }
        }
        other => ReportError::ChromiumMissing {
            looked: other.to_string(),
        },
    })
}

/// A fresh Chromium profile directory, removed on drop.
struct ProfileDir(PathBuf);

impl ProfileDir {
    fn new() -> std::io::Result<Self> {
        let p = std::env::temp_dir().join(format!("mapsweep-chromium-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints an HTML file to an A4 PDF with headless Chromium (blocking; call it from
/// `spawn_blocking`). A fresh temporary profile is used and removed.
pub fn print_pdf_blocking(html: &Path, chrome: &Path) -> Result<Vec<u8>, ReportError> {
    let fail = |message: String| ReportError::Print {
        html: html.to_path_buf(),
        chrome: chrome.to_path_buf(),
        message,
    };
    let profile =
        ProfileDir::new().map_err(|e| fail(format!("cannot create a browser profile dir: {e}")))?;
    let args: Vec<&OsStr> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let opts = headless_chrome::LaunchOptions::default_builder()
        .path(Some(chrome.to_path_buf()))
        .headless(true)
        .sandbox(false)
        .user_data_dir(Some(profile.path().to_path_buf()))
        .args(args)
        .idle_browser_timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| fail(format!("launch options: {e}")))?;
    let browser = headless_chrome::Browser::new(opts).map_err(|e| fail(format!("launch: {e}")))?;
    let tab = browser
        .new_tab()
        .map_err(|e| fail(format!("new tab: {e}")))?;
    let abs = html
        .canonicalize()
        .map_err(|e| fail(format!("cannot resolve the HTML path: {e}")))?;
    let url =
        url::Url::from_file_path(&abs).map_err(|_| fail("the HTML path is not absolute".into()))?;
    tab.set_default_timeout(Duration::from_secs(120));
    tab.navigate_to(url.as_str())
        .and_then(|t| t.wait_until_navigated())
        .map_err(|e| fail(format!("load {url}: {e}")))?;
    let pdf = tab
        .print_to_pdf(Some(headless_chrome::types::PrintToPdfOptions {
            landscape: Some(false),
            display_header_footer: Some(false),
            print_background: Some(true),
            scale: Some(1.0),
            paper_width: Some(8.27),
            paper_height: Some(11.69),
            margin_top: Some(0.0),
            margin_bottom: Some(0.0),
            margin_left: Some(0.0),
            margin_right: Some(0.0),
            page_ranges: None,
            ignore_invalid_page_ranges: None,
            header_template: None,
            footer_template: None,
            prefer_css_page_size: Some(true),
            transfer_mode: None,
            generate_document_outline: None,
            generate_tagged_pdf: None,
        }))
        .map_err(|e| fail(format!("print: {e}")))?;
    drop(tab);
    drop(browser);
    Ok(pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_chinese_name_and_clause() {
        for r in [
            "taiwan",
            "south_china_sea",
            "zangnan",
            "aksai_chin",
            "diaoyu",
            "hainan",
        ] {
            assert_ne!(rule_zh(r), r);
            assert!(clause(r).contains("GB/T 35764-2017"));
            assert!(clause(r).contains("公开地图内容表示规范"));
        }
    }

    #[test]
    fn explicit_chrome_path_that_does_not_exist_is_named() {
        let e = find_chromium(Some(Path::new("/nonexistent/chrome"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/chrome"));
        assert!(
            e.to_string()
                .contains("apt-get install chromium fonts-noto-cjk")
        );
    }
}
