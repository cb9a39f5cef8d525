-- Sweeps (issue 4): one row per `mapsweep sweep`, with the crawl state saved for `--resume`.
-- The evidence itself is in the log; this table only says which sweep is where.
CREATE TABLE sweeps (
    sweep_id TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    seeds TEXT NOT NULL,
    settings TEXT NOT NULL,
    state TEXT,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX sweeps_campaign ON sweeps (campaign, started_at);
