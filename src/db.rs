//! Connecting to the database and migrating it.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbErr,
};

/// How long the command line waits for a connection; the server passes its own limit.
pub const CLI_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects a pool. On PostgreSQL `acquire_timeout` bounds how long a request waits for a
/// connection, so that an outage answers quickly instead of hanging. SQLite has one connection
/// that requests take turns on, so waiting there is the normal case: it keeps a long timeout.
pub async fn connect(url: &str, acquire_timeout: Duration) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
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
/// templates they lack.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    crate::process::templates::install_everywhere(db)
        .await
        .map_err(|e| DbErr::Custom(e.message()))
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
