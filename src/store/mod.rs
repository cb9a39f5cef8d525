//! Database layer: one connection pool over SQLite (default) or PostgreSQL, with embedded
//! migrations run on open.
//!
//! Rules kept here:
//! - The default database is `<data-dir>/mapsweep.db`, SQLite in WAL mode with `synchronous=FULL`
//!   (a committed seal survives power loss) and a busy timeout (other processes wait, they do
//!   not fail at once).
//! - Everything goes through [`Db`] (`sqlx::AnyPool`) with portable SQL and `$1`-style
//!   placeholders (SQLite accepts them too), so a `postgres://` URL works without a redesign.
//!   Migrations live in `migrations/sqlite/` and `migrations/postgres/` (same file names) and
//!   are embedded in the binary with `sqlx::migrate!`.
//! - Other modules add their own tables by adding migrations to both directories; they never
//!   write to the evidence tables (`log_records`, `log_artifacts`, `tree_heads`).

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database pool every module shares.
pub type Db = sqlx::AnyPool;

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors opening or migrating the database. Each names the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {url} (use sqlite://... or postgres://...)")]
    UnsupportedUrl { url: String },
    #[error("cannot open database {db}: {cause}")]
    Open { db: String, cause: sqlx::Error },
    #[error("database {db} is not a usable mapsweep database (corrupt or not SQLite?): {cause}")]
    Migrate {
        db: String,
        cause: sqlx::migrate::MigrateError,
    },
    #[error("database {db}: {cause}")]
    Query { db: String, cause: sqlx::Error },
}

/// The default SQLite file inside a data dir.
pub fn default_sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("mapsweep.db")
}

/// The URL used for a data dir when none is given.
pub fn resolve_url(data_dir: &Path, db_url: Option<&str>) -> String {
    match db_url {
        Some(u) => u.to_string(),
        None => format!("sqlite://{}", default_sqlite_path(data_dir).display()),
    }
}

/// Tells the backend from a URL.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl {
            url: url.to_string(),
        })
    }
}

/// Opens (creating when `create` is set, SQLite only) and migrates the database.
pub async fn open(url: &str, create: bool) -> Result<Db, StoreError> {
    let backend = backend_of(url)?;
    let db = redact(url);
    install_default_drivers();
    let connect_url = match backend {
        Backend::Sqlite => {
            let sep = if url.contains('?') { '&' } else { '?' };
            let mode = if create { "rwc" } else { "rw" };
            if url.contains("mode=") {
                url.to_string()
            } else {
                format!("{url}{sep}mode={mode}")
            }
        }
        Backend::Postgres => url.to_string(),
    };
    if backend == Backend::Sqlite {
        // One direct connection first: a corrupt or foreign file fails here at once with
        // SQLite's own message, instead of the pool retrying until its acquire timeout.
        use sqlx::Connection;
        let probe = async {
            let mut conn = sqlx::AnyConnection::connect(&connect_url).await?;
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut conn)
                .await?;
            conn.close().await
        };
        probe.await.map_err(|cause| StoreError::Open {
            db: db.clone(),
            cause,
        })?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
        .acquire_timeout(Duration::from_secs(60))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    sqlx::query("PRAGMA busy_timeout = 30000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&connect_url)
        .await
        .map_err(|cause| StoreError::Open {
            db: db.clone(),
            cause,
        })?;
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator
        .run(&pool)
        .await
        .map_err(|cause| StoreError::Migrate { db, cause })?;
    Ok(pool)
}

/// Whether `e` is a unique-key violation (the Any driver does not always classify SQLite's, so
/// the message is read too): the signal for "someone took this key first".
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || d.message().to_ascii_lowercase().contains("unique")
        }
        _ => false,
    }
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
/// taken first (waiting up to the busy timeout), so a transaction that reads before it writes
/// (the log head, a duplicate check) is never refused with "database is locked" because another
/// connection wrote after its read began; a deferred transaction cannot wait in that case.
/// PostgreSQL's plain `BEGIN` already waits on row and table locks.
pub async fn begin_write(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if db.connect_options().database_url.scheme() == "sqlite" {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    }
}

/// A URL safe for messages: drops any password.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
