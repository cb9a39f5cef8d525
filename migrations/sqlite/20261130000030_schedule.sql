-- Watched sites, campaigns and scheduled runs (issue 6). Times are RFC 3339 UTC text, like the
-- other tables. Job state (last slot, last outcome, running flag, ...) is the scheduler's
-- `JobState` as JSON beside each job's definition, so a restart resumes where it stopped.
-- The PostgreSQL twin differs only in the id columns (BIGSERIAL instead of SQLite's rowid).

-- One watched site. `url` is the normalised URL (one row per site, whatever the spelling).
-- Removing a site sets `removed_at`: its runs, changes and evidence stay, only future sweeps stop.
CREATE TABLE watched_sites (
    site_id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    name TEXT,
    schedule TEXT,
    depth BIGINT,
    render TEXT,
    paused BIGINT NOT NULL DEFAULT 0,
    removed_at TEXT,
    created_at TEXT NOT NULL,
    job_state TEXT NOT NULL
);

CREATE TABLE site_tags (
    site_id BIGINT NOT NULL REFERENCES watched_sites (site_id),
    tag TEXT NOT NULL,
    PRIMARY KEY (site_id, tag)
);
CREATE INDEX site_tags_tag ON site_tags (tag);

-- A campaign: its sites swept at `schedule` inside the half-open window [window_from, window_to).
-- `selectors` records how the sites were chosen (--site / --tag), resolved at creation.
CREATE TABLE campaigns (
    campaign_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    window_from TEXT NOT NULL,
    window_to TEXT NOT NULL,
    schedule TEXT NOT NULL,
    selectors TEXT NOT NULL,
    paused BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE campaign_sites (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (campaign_id),
    site_id BIGINT NOT NULL REFERENCES watched_sites (site_id),
    job_state TEXT NOT NULL,
    PRIMARY KEY (campaign_id, site_id)
);

-- One sweep of one site started by the daemon. `outcome`: running, succeeded, failed,
-- cancelled, interrupted (the daemon died mid-run). `maps_json` is what the sweep saw
-- (pages fetched, maps with hashes and verdicts) for the next run's change detection.
CREATE TABLE schedule_runs (
    run_id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES watched_sites (site_id),
    campaign_id BIGINT,
    sweep_campaign TEXT NOT NULL,
    slot TEXT NOT NULL,
    due_since TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT NOT NULL,
    sweep_id TEXT,
    pages BIGINT NOT NULL DEFAULT 0,
    maps BIGINT NOT NULL DEFAULT 0,
    violations BIGINT NOT NULL DEFAULT 0,
    new_violations BIGINT NOT NULL DEFAULT 0,
    fixed BIGINT NOT NULL DEFAULT 0,
    maps_new BIGINT NOT NULL DEFAULT 0,
    maps_changed BIGINT NOT NULL DEFAULT 0,
    maps_gone BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    maps_json TEXT
);
CREATE INDEX schedule_runs_site ON schedule_runs (site_id, started_at);

-- Every job a run served (its own schedule: campaign_id NULL; or a campaign) and its slot.
CREATE TABLE schedule_run_jobs (
    run_id BIGINT NOT NULL REFERENCES schedule_runs (run_id),
    campaign_id BIGINT,
    slot TEXT NOT NULL
);
CREATE INDEX schedule_run_jobs_run ON schedule_run_jobs (run_id);
CREATE INDEX schedule_run_jobs_campaign ON schedule_run_jobs (campaign_id);

-- What changed between a run and the site's previous completed run. `category` map
-- (kind new/changed/gone/reencoded; unchanged maps are not stored) or problem (kind
-- introduced/fixed; still-present problems are not stored).
CREATE TABLE site_changes (
    change_id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES watched_sites (site_id),
    run_id BIGINT NOT NULL REFERENCES schedule_runs (run_id),
    previous_run_id BIGINT,
    detected_at TEXT NOT NULL,
    category TEXT NOT NULL,
    kind TEXT NOT NULL,
    page_url TEXT NOT NULL,
    artifact_url TEXT,
    finding_id TEXT,
    previous_finding_id TEXT,
    distance BIGINT,
    known_elsewhere BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX site_changes_site ON site_changes (site_id, detected_at);
CREATE INDEX site_changes_run ON site_changes (run_id);
