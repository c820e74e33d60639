//! What every request handler shares: the database, token keys, event bus and limits.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::auth::token::TokenKeys;
use crate::config::Limits;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::events::{CHANNEL, Change, EventBus};
use crate::tenancy::TenantScope;

pub struct App {
    pub db: DatabaseConnection,
    /// A separate small pool for background workers (timers), so that their polling neither
    /// competes with requests for connections nor shows in the request statement count.
    pub jobs_db: DatabaseConnection,
    pub tokens: TokenKeys,
    pub events: EventBus,
    pub limits: Limits,
    /// Flips to `true` when the server begins to shut down; long-lived connections watch it.
    pub shutdown: watch::Sender<bool>,
    /// SQL statements run since start: a cheap metric, and how tests catch N+1 queries.
    pub statements: Arc<AtomicU64>,
}

pub type SharedApp = Arc<App>;

impl App {
    /// Call after a mutation has committed: wakes the tenant's subscribers here at once, and on
    /// PostgreSQL those of every other replica through NOTIFY.
    pub async fn log_committed(&self, scope: &TenantScope) {
        self.events.publish(scope, Change::Log);
        if self.db.get_database_backend() == DbBackend::Postgres {
            let notify = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), scope.tenant_id().to_string().into()],
            );
            // Awaited, so that the answer leaves only once every replica has been told.
            if let Err(err) = self.db.execute_raw(notify).await {
                tracing::warn!(%err, "could not notify other replicas");
            }
        }
    }
}
