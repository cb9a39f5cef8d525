-- Findings and cases (issues 4 and 5), PostgreSQL dialect: same tables as migrations/sqlite.
-- These tables are indexes over sealed data, never edited: a finding row points at a sealed
-- capture (capture_id, capture_seq) and the artifact it judges (artifact_blake3); reviews and
-- case events are sealed records in the evidence log (formats mapsweep.review/1 and
-- mapsweep.case-event/1) and are read back from there, not from these tables.

-- One row per checked map (violation or not). `num` gives the readable id `F-<num>`.
CREATE TABLE findings (
    num BIGINT PRIMARY KEY,
    finding_id TEXT NOT NULL UNIQUE,
    capture_id TEXT NOT NULL,
    capture_seq BIGINT NOT NULL,
    campaign TEXT,
    page_url TEXT NOT NULL,
    artifact_url TEXT,
    artifact_role TEXT NOT NULL,
    artifact_blake3 TEXT NOT NULL,
    verdict TEXT NOT NULL,
    map_json TEXT NOT NULL,
    rules_json TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    overlay_blake3 TEXT,
    report_blake3 TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (capture_id, artifact_blake3)
);
CREATE INDEX findings_campaign ON findings (campaign);

-- Case id allocation (`MS-<year>-<number>`); the case itself lives in its sealed events.
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    year INTEGER NOT NULL,
    number BIGINT NOT NULL,
    UNIQUE (year, number)
);
