//! A small robots.txt parser (RFC 9309): user-agent groups, `Allow`/`Disallow` with `*` and `$`,
//! longest match wins, `Allow` wins a tie; `Crawl-delay` is read as an extension.
//!
//! Rules kept: the group for our product token (`mapsweep`) is used when present, else the `*`
//! group; a 4xx robots.txt allows everything; a 5xx or unreachable one disallows everything
//! (RFC 9309 section 2.3.1.4). The decision and its reason are recorded in every page result.

use std::time::Duration;

/// The product token matched against `User-agent` lines.
pub const ROBOTS_TOKEN: &str = "mapsweep";

/// One `User-agent` group: agents, (allow, pattern) rules, crawl delay.
type Group = (Vec<String>, Vec<(bool, String)>, Option<Duration>);

/// The rules that apply to us on one origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Robots {
    /// (allow, pattern) pairs of the group that applies to us.
    rules: Vec<(bool, String)>,
    /// Crawl-delay of that group, when given.
    pub crawl_delay: Option<Duration>,
    /// How this set of rules came about, for the record.
    pub source: RobotsSource,
    /// When robots.txt could not be fetched at all: the fetch error's kind and message, so a
    /// denied page reports the real cause (a TLS or DNS failure, say) rather than only "denied".
    pub failure: Option<(super::fetch::ErrorKind, String)>,
}

/// Where the rules came from.
#[derive(Debug, Clone, PartialEq)]
pub enum RobotsSource {
    /// A robots.txt was fetched and parsed.
    Fetched,
    /// robots.txt answered 4xx: everything allowed.
    Missing(u16),
    /// robots.txt answered 5xx or could not be fetched: everything disallowed.
    Unreachable(String),
}

impl Robots {
    /// Everything allowed (no rules).
    pub fn allow_all(source: RobotsSource) -> Self {
        Self {
            rules: Vec::new(),
            crawl_delay: None,
            source,
            failure: None,
        }
    }

    /// Everything disallowed.
    pub fn disallow_all(source: RobotsSource) -> Self {
        Self {
            rules: vec![(false, "/".to_string())],
            crawl_delay: None,
            source,
            failure: None,
        }
    }

    /// Parses robots.txt text for [`ROBOTS_TOKEN`].
    pub fn parse(text: &str) -> Self {
        // Groups: (agents, rules, delay)
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents || groups.is_empty() {
                        groups.push((Vec::new(), Vec::new(), None));
                    }
                    in_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut()
                        && !value.is_empty()
                    {
                        g.1.push((key == "allow", value.to_string()));
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut()
                        && let Ok(secs) = value.parse::<f64>()
                        && secs.is_finite()
                        && secs >= 0.0
                    {
                        g.2 = Some(Duration::from_secs_f64(secs.min(60.0)));
                    }
                }
                _ => {}
            }
        }
        let ours: Vec<_> = groups
            .iter()
            .filter(|g| {
                g.0.iter()
                    .any(|a| a != "*" && ROBOTS_TOKEN.starts_with(a.as_str()))
            })
            .collect();
        let chosen: Vec<_> = if ours.is_empty() {
            groups
                .iter()
                .filter(|g| g.0.iter().any(|a| a == "*"))
                .collect()
        } else {
            ours
        };
        let mut rules = Vec::new();
        let mut crawl_delay = None;
        for g in chosen {
            rules.extend(g.1.iter().cloned());
            crawl_delay = crawl_delay.or(g.2);
        }
        Self {
            rules,
            crawl_delay,
            source: RobotsSource::Fetched,
            failure: None,
        }
    }

    /// Whether a path (with query) may be fetched.
    pub fn allowed(&self, path_and_query: &str) -> bool {
        if path_and_query == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if pattern_matches(pattern, path_and_query) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }

    /// The policy line recorded in page results, e.g. `robots: honoured (allowed)`.
    pub fn describe(&self, allowed: bool) -> String {
        let verdict = if allowed { "allowed" } else { "disallowed" };
        match &self.source {
            RobotsSource::Fetched => format!("robots: honoured ({verdict})"),
            RobotsSource::Missing(s) => format!("robots: honoured (robots.txt {s}, all allowed)"),
            RobotsSource::Unreachable(why) => {
                format!("robots: honoured (robots.txt unreachable: {why}; all disallowed)")
            }
        }
    }
}

/// RFC 9309 matching: `*` any run of characters, `$` at the end anchors.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0usize;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 && anchored {
            return path.len() >= pos + part.len() && path.ends_with(part);
        } else {
            match path[pos..].find(part) {
                Some(found) => pos += found + part.len(),
                None => return false,
            }
        }
    }
    !anchored || pos == path.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_match_wins_and_allow_breaks_ties() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /private/\nAllow: /private/open\nDisallow: /*.pdf$\n",
        );
        assert!(r.allowed("/"));
        assert!(!r.allowed("/private/x"));
        assert!(r.allowed("/private/open/x"));
        assert!(!r.allowed("/docs/a.pdf"));
        assert!(r.allowed("/docs/a.pdf?x=1"));
    }

    #[test]
    fn our_group_beats_the_star_group() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /\n\nUser-agent: mapsweep\nUser-agent: other\nDisallow: /no\nCrawl-delay: 2\n",
        );
        assert!(r.allowed("/yes"));
        assert!(!r.allowed("/no"));
        assert_eq!(r.crawl_delay, Some(Duration::from_secs(2)));
    }

    #[test]
    fn empty_disallow_allows_everything() {
        let r = Robots::parse("User-agent: *\nDisallow:\n");
        assert!(r.allowed("/anything"));
    }
}
