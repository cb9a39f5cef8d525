-- Evidence log (issue 2), PostgreSQL dialect: same tables as migrations/sqlite.
-- The DDL is identical today (BIGINT, TEXT, INTEGER are portable); keep both in step.

-- One row per sealed log record (captures now; reviews and case events later).
-- `body` holds the canonical JSON bytes exactly as hashed; everything else is an index over it.
CREATE TABLE log_records (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    body TEXT NOT NULL,
    record_hash TEXT NOT NULL,
    leaf_hash TEXT NOT NULL,
    prev_record_hash TEXT NOT NULL,
    sealed_at TEXT NOT NULL
);

-- Artifacts referenced by sealed records (an index for lookups; the record body is authoritative).
CREATE TABLE log_artifacts (
    seq BIGINT NOT NULL REFERENCES log_records (seq),
    idx INTEGER NOT NULL,
    role TEXT NOT NULL,
    source_url TEXT,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    blake3 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX log_artifacts_blake3 ON log_artifacts (blake3);

-- Signed tree heads (checkpoints) with their optional RFC 3161 token (DER, hex).
CREATE TABLE tree_heads (
    tree_size BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL,
    tsa_url TEXT,
    tsa_token TEXT,
    PRIMARY KEY (tree_size, timestamp_ms)
);
