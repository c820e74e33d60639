//! Connecting to the database and migrating it.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbBackend, DbErr, TransactionTrait,
};

/// How long the command line waits for a connection; the server passes its own limit.
pub const CLI_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The pool size of the command line's short-lived connections.
const CLI_POOL_SIZE: u32 = 4;

/// Connections are renewed after this long, so that none outlives a failover for long.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A small pool, for the command line.
pub async fn connect(url: &str, acquire_timeout: Duration) -> Result<DatabaseConnection, DbErr> {
    connect_pool(url, acquire_timeout, CLI_POOL_SIZE).await
}

/// Connects a pool. On PostgreSQL `acquire_timeout` bounds how long a request waits for a
/// connection, so that an outage answers quickly instead of hanging. On SQLite writers take
/// turns on one lock, so waiting there is the normal case: it keeps a long timeout.
///
/// Connections are not pinged before use (a round trip per statement otherwise); one broken by
/// a database restart fails its statement once and is dropped, and none lives longer than
/// `MAX_LIFETIME`.
pub async fn connect_pool(
    url: &str,
    acquire_timeout: Duration,
    pool_size: u32,
) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    // SQLite keeps one connection: with more, a transaction that reads before it writes can
    // lose its snapshot to another writer (SQLITE_BUSY without waiting).
    options
        .max_connections(if sqlite { 1 } else { pool_size.max(1) })
        .test_before_acquire(false)
        .max_lifetime(MAX_LIFETIME)
        .connect_timeout(acquire_timeout.min(Duration::from_secs(10)))
        .acquire_timeout(if sqlite {
            CLI_ACQUIRE_TIMEOUT
        } else {
            acquire_timeout
        })
        .sqlx_logging(false);
    if sqlite {
        // One writer at a time: wait for the lock instead of failing, and let readers go on.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.busy_timeout(Duration::from_secs(30))
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
        });
    }
    Database::connect(options).await
}

/// Applies the schema migrations, then gives existing tenants the built-in process
/// templates and reports they lack. Replicas starting together on PostgreSQL take turns (a
/// session advisory lock, on a connection of its own so that any pool size works): the first
/// migrates, the others then find nothing to do.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let lock = match db.get_database_backend() {
        DbBackend::Postgres => Some(MigrationLock::take(db).await?),
        _ => None,
    };
    let migrated = migrate_and_install(db).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    migrated
}

async fn migrate_and_install(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    crate::process::templates::install_everywhere(db)
        .await
        .map_err(|e| DbErr::Custom(e.message()))?;
    crate::reports::builtin::install_everywhere(db)
        .await
        .map_err(|e| DbErr::Custom(e.message()))
}

/// Held while one replica migrates.
struct MigrationLock(sea_orm::sqlx::PgConnection);

/// The advisory lock's key: "bpaas" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x62_70_61_61_73;

impl MigrationLock {
    async fn take(db: &DatabaseConnection) -> Result<MigrationLock, DbErr> {
        use sea_orm::sqlx::Connection;
        let options = db.get_postgres_connection_pool().connect_options();
        let mut connection = sea_orm::sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|e| {
                DbErr::Custom(format!("cannot connect to take the migration lock: {e}"))
            })?;
        sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut connection)
            .await
            .map_err(|e| DbErr::Custom(format!("cannot take the migration lock: {e}")))?;
        Ok(MigrationLock(connection))
    }

    /// Unlocks and closes; closing alone would unlock too, so a failure here is only logged.
    async fn release(mut self) {
        use sea_orm::sqlx::Connection;
        let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut self.0)
            .await;
        if unlocked.is_err() {
            tracing::warn!("could not release the migration lock; closing its connection");
        }
        let _ = self.0.close().await;
    }
}

/// The first bind parameter in hand-written SQL: `$1` on PostgreSQL, `?1` on SQLite. Either
/// may stand more than once in a statement.
pub fn first_parameter(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?1"
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a transaction that read first and wrote later would fail at once when another
/// connection (the background jobs' pool) wrote meanwhile, where this one waits its turn
/// (the busy timeout). PostgreSQL ignores the mode.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// A pool or a transaction. Code that works on either takes `&impl Conn`; code behind a trait
/// object (a module's declaration) takes the [`DatabaseExecutor`] this lends.
pub trait Conn: ConnectionTrait {
    fn executor(&self) -> DatabaseExecutor<'_>;
}

impl Conn for DatabaseConnection {
    fn executor(&self) -> DatabaseExecutor<'_> {
        DatabaseExecutor::Connection(self)
    }
}

impl Conn for DatabaseTransaction {
    fn executor(&self) -> DatabaseExecutor<'_> {
        DatabaseExecutor::Transaction(self)
    }
}

impl Conn for DatabaseExecutor<'_> {
    fn executor(&self) -> DatabaseExecutor<'_> {
        match self {
            DatabaseExecutor::Connection(db) => DatabaseExecutor::Connection(db),
            DatabaseExecutor::Transaction(txn) => DatabaseExecutor::Transaction(txn),
            DatabaseExecutor::OwnedTransaction(txn) => DatabaseExecutor::Transaction(txn),
        }
    }
}
