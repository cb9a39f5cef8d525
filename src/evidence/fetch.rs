//! One static HTTP fetch for `mapsweep capture URL`: redirects followed by hand (up to
//! [`MAX_REDIRECTS`]) so each hop's status and `Location` are recorded, plus the final
//! response's status, headers, remote address and body. Isolated on purpose: the crawler's
//! fetcher will replace it. The body is recorded after content decoding (gzip); the
//! `content-encoding` header shows what came over the wire.

use super::record::{Header, RedirectHop};
use std::time::Duration;

/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 10;

/// Errors of a static fetch; each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL {url}: {message}")]
    BadUrl { url: String, message: String },
    #[error("cannot fetch {url}: {cause}")]
    Http { url: String, cause: reqwest::Error },
    #[error("too many redirects (more than {MAX_REDIRECTS}) starting at {url}")]
    TooManyRedirects { url: String },
    #[error("response body of {url} exceeds {limit} bytes")]
    TooLarge { url: String, limit: u64 },
}

/// What a static fetch saw.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub requested_url: String,
    pub final_url: String,
    pub redirect_chain: Vec<RedirectHop>,
    pub status: u16,
    pub headers: Vec<Header>,
    pub remote_addr: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Fetches `url` with `user_agent`, following redirects by hand.
pub async fn fetch_static(
    url: &str,
    user_agent: &str,
    max_body: u64,
) -> Result<Fetched, FetchError> {
    let bad = |message: String| FetchError::BadUrl {
        url: url.to_string(),
        message,
    };
    let mut current = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(current.scheme(), "http" | "https") {
        return Err(bad("only http and https URLs can be captured".into()));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|cause| FetchError::Http {
            url: url.to_string(),
            cause,
        })?;
    let mut chain = Vec::new();
    loop {
        let http = |cause| FetchError::Http {
            url: current.to_string(),
            cause,
        };
        let mut resp = client.get(current.clone()).send().await.map_err(http)?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if status.is_redirection()
            && let Some(loc) = location.clone()
        {
            chain.push(RedirectHop {
                url: current.to_string(),
                status: status.as_u16(),
                location: Some(loc.clone()),
            });
            if chain.len() > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects {
                    url: url.to_string(),
                });
            }
            current = current.join(&loc).map_err(|e| FetchError::BadUrl {
                url: loc.clone(),
                message: e.to_string(),
            })?;
            continue;
        }
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                let s = std::str::from_utf8(v.as_bytes());
                Header {
                    name: k.as_str().to_string(),
                    value: match s {
                        Ok(s) => s.to_string(),
                        Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    },
                    lossy: s.is_err(),
                }
            })
            .collect();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let remote_addr = resp.remote_addr().map(|a| a.to_string());
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_body {
                return Err(FetchError::TooLarge {
                    url: current.to_string(),
                    limit: max_body,
                });
            }
        }
        return Ok(Fetched {
            requested_url: url.to_string(),
            final_url: current.to_string(),
            redirect_chain: chain,
            status: status.as_u16(),
            headers,
            remote_addr,
            content_type,
            body,
        });
    }
}
