//! Change detection between two sweeps of one site: which maps are new, changed, gone or
//! unchanged, and which problem maps were fixed, introduced or are still present.
//!
//! Rules:
//! - Only pages fetched in the current sweep are compared; maps of a previous page that was
//!   not fetched this time (error, depth, robots) are "not rechecked", never "gone" or "fixed".
//! - On each page, maps are paired in this order: same content (blake3 of the artifact) →
//!   unchanged; visually near-identical (perceptual hash distance at most
//!   [`PERCEPTUAL_MATCH_MAX_DISTANCE`]) *and* the same verdict class → unchanged (re-encoded);
//!   same artifact source URL → changed; any remaining maps of the page pair up in order →
//!   changed. Maps left over are new (current) or gone (previous). A perceptual match with a
//!   different verdict is never taken as "the same map": a recoloured Taiwan can look almost
//!   identical in grey levels, and the checker's verdict is what matters.
//! - Problem maps are followed by identity (blake3, or perceptual match between two problem
//!   maps): per page, a current problem map matching a previous one is still present, one
//!   matching none is introduced (flagged `known_elsewhere` when the same image was a problem
//!   on another page last time), a previous one matching none is fixed. A problem image
//!   replaced by a different problem image counts as one introduced and one fixed.

use std::collections::{BTreeMap, BTreeSet};

use image::DynamicImage;
use image_hasher::{HashAlg, HasherConfig, ImageHash};
use serde::{Deserialize, Serialize};

/// Prefix naming the perceptual hash algorithm and size, so hashes made with another
/// configuration are never compared with these.
pub const PERCEPTUAL_HASH_PREFIX: &str = "grad16:";

/// Largest Hamming distance (of 256 bits) at which two images count as visually the same.
/// Re-encoding a map as JPEG q70 and resizing it to 80% moves a 16x16 gradient hash by a
/// handful of bits (under 10 in the tests); different maps differ by far more (around 100).
/// 24 bits (about 9%) leaves margin on both sides.
pub const PERCEPTUAL_MATCH_MAX_DISTANCE: u32 = 24;

/// Perceptual hash of an image: a 16x16 gradient hash of its grey levels (256 bits), as
/// `grad16:<base64>`. Robust to re-encoding, scaling and small colour shifts.
pub fn perceptual_hash(image: &DynamicImage) -> String {
    let hasher = HasherConfig::new()
        .hash_alg(HashAlg::Gradient)
        .hash_size(16, 16)
        .to_hasher();
    let hash = hasher.hash_image(image);
    format!("{PERCEPTUAL_HASH_PREFIX}{}", hash.to_base64())
}

/// Hamming distance between two perceptual hashes made by [`perceptual_hash`]; None when
/// either is malformed or they were made with different settings.
pub fn perceptual_distance(a: &str, b: &str) -> Option<u32> {
    let a = a.strip_prefix(PERCEPTUAL_HASH_PREFIX)?;
    let b = b.strip_prefix(PERCEPTUAL_HASH_PREFIX)?;
    let ha = ImageHash::<Box<[u8]>>::from_base64(a).ok()?;
    let hb = ImageHash::<Box<[u8]>>::from_base64(b).ok()?;
    if ha.as_bytes().len() != hb.as_bytes().len() {
        return None;
    }
    Some(ha.dist(&hb))
}

/// Whether two perceptual hashes are within [`PERCEPTUAL_MATCH_MAX_DISTANCE`].
pub fn perceptually_same(a: &str, b: &str) -> bool {
    perceptual_distance(a, b).is_some_and(|d| d <= PERCEPTUAL_MATCH_MAX_DISTANCE)
}

/// The checker's verdict on a map, reduced to what change detection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapVerdict {
    Violation,
    Compliant,
    Inconclusive,
}

/// One map artifact of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapRecord {
    /// The page the map appeared on (as requested).
    pub page_url: String,
    /// Where the map came from (image URL, or an element locator for rendered maps).
    pub artifact_url: String,
    /// blake3 of the artifact bytes, hex.
    pub blake3: String,
    /// [`perceptual_hash`] of the decoded image, when it could be decoded.
    pub phash: Option<String>,
    pub verdict: MapVerdict,
    pub finding_id: Option<String>,
}

impl MapRecord {
    fn is_problem(&self) -> bool {
        self.verdict == MapVerdict::Violation
    }

    fn same_content(&self, other: &Self) -> bool {
        self.blake3 == other.blake3
    }

    fn distance(&self, other: &Self) -> Option<u32> {
        perceptual_distance(self.phash.as_deref()?, other.phash.as_deref()?)
    }

    fn same_image(&self, other: &Self) -> bool {
        self.same_content(other)
            || self
                .distance(other)
                .is_some_and(|d| d <= PERCEPTUAL_MATCH_MAX_DISTANCE)
    }
}

/// What one sweep saw: the pages it fetched and the maps on them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMaps {
    /// Pages fetched successfully (with or without maps).
    pub pages: BTreeSet<String>,
    pub maps: Vec<MapRecord>,
}

/// How a map changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapChangeKind {
    New,
    /// Same page, different image.
    Changed,
    Gone,
    /// Same bytes.
    Unchanged,
    /// Visually the same (re-encoded, resized), same verdict.
    Reencoded,
}

/// One map's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapChange {
    pub kind: MapChangeKind,
    pub page_url: String,
    pub previous: Option<MapRecord>,
    pub current: Option<MapRecord>,
    /// Perceptual distance between the two, when both have a hash.
    pub distance: Option<u32>,
}

/// How a problem map changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemChangeKind {
    Introduced,
    Fixed,
    StillPresent,
}

/// One problem map's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemChange {
    pub kind: ProblemChangeKind,
    pub page_url: String,
    pub previous: Option<MapRecord>,
    pub current: Option<MapRecord>,
    /// For an introduced problem: the same image was a problem on another page last time.
    pub known_elsewhere: bool,
}

/// Counts for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub new: usize,
    pub changed: usize,
    pub gone: usize,
    pub unchanged: usize,
    pub reencoded: usize,
    pub introduced: usize,
    pub fixed: usize,
    pub still_present: usize,
    pub pages_not_rechecked: usize,
}

/// The comparison of two sweeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    pub maps: Vec<MapChange>,
    pub problems: Vec<ProblemChange>,
    /// Previous pages with maps that this sweep did not fetch.
    pub not_rechecked: Vec<String>,
    pub counts: ChangeCounts,
}

fn by_page(maps: &[MapRecord]) -> BTreeMap<&str, Vec<&MapRecord>> {
    let mut out: BTreeMap<&str, Vec<&MapRecord>> = BTreeMap::new();
    for m in maps {
        out.entry(m.page_url.as_str()).or_default().push(m);
    }
    out
}

fn pair_maps(page: &str, prev: &[&MapRecord], cur: &[&MapRecord], out: &mut Vec<MapChange>) {
    let mut prev_left: Vec<Option<&MapRecord>> = prev.iter().map(|m| Some(*m)).collect();
    let mut cur_left: Vec<Option<&MapRecord>> = cur.iter().map(|m| Some(*m)).collect();
    let mut emit = |kind, p: Option<&MapRecord>, c: Option<&MapRecord>| {
        let distance = match (p, c) {
            (Some(p), Some(c)) => p.distance(c),
            _ => None,
        };
        out.push(MapChange {
            kind,
            page_url: page.to_string(),
            previous: p.cloned(),
            current: c.cloned(),
            distance,
        });
    };
    // 1. Same bytes.
    for c in cur_left.iter_mut() {
        let Some(cm) = *c else { continue };
        if let Some(p) = prev_left
            .iter_mut()
            .find(|p| p.is_some_and(|pm| pm.same_content(cm)))
        {
            emit(MapChangeKind::Unchanged, p.take(), c.take());
        }
    }
    // 2. Visually the same with the same verdict, closest first.
    let mut candidates = Vec::new();
    for (ci, c) in cur_left.iter().enumerate() {
        let Some(cm) = c else { continue };
        for (pi, p) in prev_left.iter().enumerate() {
            let Some(pm) = p else { continue };
            if pm.is_problem() != cm.is_problem() || pm.verdict != cm.verdict {
                continue;
            }
            if let Some(d) = pm.distance(cm)
                && d <= PERCEPTUAL_MATCH_MAX_DISTANCE
            {
                candidates.push((d, ci, pi));
            }
        }
    }
    candidates.sort();
    for (_, ci, pi) in candidates {
        if cur_left[ci].is_some() && prev_left[pi].is_some() {
            emit(
                MapChangeKind::Reencoded,
                prev_left[pi].take(),
                cur_left[ci].take(),
            );
        }
    }
    // 3. Same source URL, different image.
    for c in cur_left.iter_mut() {
        let Some(cm) = *c else { continue };
        if let Some(p) = prev_left
            .iter_mut()
            .find(|p| p.is_some_and(|pm| pm.artifact_url == cm.artifact_url))
        {
            emit(MapChangeKind::Changed, p.take(), c.take());
        }
    }
    // 4. Remaining maps of the page pair up in order.
    let mut rest_prev = prev_left.iter_mut().filter(|p| p.is_some());
    for c in cur_left.iter_mut().filter(|c| c.is_some()) {
        match rest_prev.next() {
            Some(p) => emit(MapChangeKind::Changed, p.take(), c.take()),
            None => emit(MapChangeKind::New, None, c.take()),
        }
    }
    for p in prev_left.iter_mut().filter(|p| p.is_some()) {
        emit(MapChangeKind::Gone, p.take(), None);
    }
}

/// Compares the previous sweep of a site with the current one (see the module rules).
pub fn compare(previous: &SweepMaps, current: &SweepMaps) -> ChangeReport {
    let prev_pages = by_page(&previous.maps);
    let cur_pages = by_page(&current.maps);
    let mut report = ChangeReport::default();
    let empty: Vec<&MapRecord> = Vec::new();

    let mut pages: BTreeSet<&str> = cur_pages.keys().copied().collect();
    for page in prev_pages.keys() {
        if current.pages.contains(*page) || cur_pages.contains_key(page) {
            pages.insert(page);
        } else {
            report.not_rechecked.push(page.to_string());
        }
    }
    for page in &pages {
        let prev = prev_pages.get(page).unwrap_or(&empty);
        let cur = cur_pages.get(page).unwrap_or(&empty);
        pair_maps(page, prev, cur, &mut report.maps);

        let prev_problems: Vec<&MapRecord> =
            prev.iter().copied().filter(|m| m.is_problem()).collect();
        let mut prev_matched = vec![false; prev_problems.len()];
        for cm in cur.iter().filter(|m| m.is_problem()) {
            let hit = prev_problems
                .iter()
                .enumerate()
                .find(|(i, pm)| !prev_matched[*i] && pm.same_image(cm));
            match hit {
                Some((i, pm)) => {
                    prev_matched[i] = true;
                    report.problems.push(ProblemChange {
                        kind: ProblemChangeKind::StillPresent,
                        page_url: page.to_string(),
                        previous: Some((*pm).clone()),
                        current: Some((*cm).clone()),
                        known_elsewhere: false,
                    });
                }
                None => {
                    let known_elsewhere = previous
                        .maps
                        .iter()
                        .any(|pm| pm.is_problem() && pm.page_url != **page && pm.same_image(cm));
                    report.problems.push(ProblemChange {
                        kind: ProblemChangeKind::Introduced,
                        page_url: page.to_string(),
                        previous: None,
                        current: Some((*cm).clone()),
                        known_elsewhere,
                    });
                }
            }
        }
        for (i, pm) in prev_problems.iter().enumerate() {
            if !prev_matched[i] {
                report.problems.push(ProblemChange {
                    kind: ProblemChangeKind::Fixed,
                    page_url: page.to_string(),
                    previous: Some((*pm).clone()),
                    current: None,
                    known_elsewhere: false,
                });
            }
        }
    }
    let c = &mut report.counts;
    for m in &report.maps {
        match m.kind {
            MapChangeKind::New => c.new += 1,
            MapChangeKind::Changed => c.changed += 1,
            MapChangeKind::Gone => c.gone += 1,
            MapChangeKind::Unchanged => c.unchanged += 1,
            MapChangeKind::Reencoded => c.reencoded += 1,
        }
    }
    for p in &report.problems {
        match p.kind {
            ProblemChangeKind::Introduced => c.introduced += 1,
            ProblemChangeKind::Fixed => c.fixed += 1,
            ProblemChangeKind::StillPresent => c.still_present += 1,
        }
    }
    c.pages_not_rechecked = report.not_rechecked.len();
    report
}
