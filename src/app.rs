//! What every request handler shares: the database, token keys, event bus and limits.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::config::{Limits, WebhookConfig};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::auth::Principal;
use crate::auth::api_keys::{self, KeyCache};
use crate::error::AppResult;
use crate::events::{CHANNEL, EventBus, KEYS_NOTICE, MATRIX_NOTICE};
use crate::permissions::MatrixCache;
use crate::platform::users;
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
    /// The background workers' health, for `/readyz`.
    pub workers: Workers,
    /// Sign-in failures, for throttling.
    pub login_throttle: LoginThrottle,
    /// Open WebSocket connections per user, for the per-user cap.
    pub ws_connections: Mutex<HashMap<Uuid, usize>>,
    /// Each tenant's permission overrides, so that requests do not read them.
    pub permissions: Arc<MatrixCache>,
    /// Verified API keys, so that requests do not read them.
    pub api_keys: Arc<KeyCache>,
    /// Signed-in users, so that requests on PostgreSQL do not read them.
    pub users: Arc<users::UserCache>,
    /// Where webhooks may be delivered.
    pub webhooks: WebhookConfig,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
}

/// Heartbeats of the background workers.
pub struct Workers {
    /// When the timer worker last began a round, in Unix milliseconds.
    timers_heartbeat: AtomicI64,
}

/// A worker that has not begun a round for this long is reported stalled.
const STALLED_AFTER_MS: i64 = 60_000;

impl Default for Workers {
    fn default() -> Self {
        Self {
            timers_heartbeat: AtomicI64::new(Utc::now().timestamp_millis()),
        }
    }
}

impl Workers {
    pub fn timers_alive(&self) {
        self.timers_heartbeat
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    pub fn timers_healthy(&self) -> bool {
        let last = self.timers_heartbeat.load(Ordering::Relaxed);
        Utc::now().timestamp_millis().saturating_sub(last) < STALLED_AFTER_MS
    }
}

pub type SharedApp = Arc<App>;

/// How long a supervisor waits before restarting a worker that panicked.
const RESTART_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs a background worker until it returns, restarting it whenever it panics.
pub async fn supervise<F, W>(name: &'static str, start: F)
where
    F: Fn() -> W,
    W: Future<Output = ()>,
{
    loop {
        match AssertUnwindSafe(start()).catch_unwind().await {
            Ok(()) => return,
            Err(panic) => {
                let cause = crate::http::panic_message(panic.as_ref());
                tracing::error!(%cause, worker = name, "worker panicked; restarting it");
                tokio::time::sleep(RESTART_AFTER).await;
            }
        }
    }
}

impl App {
    /// Call after a tenant's permission matrix has changed: forgets it here at once, and on
    /// PostgreSQL on every other replica through NOTIFY.
    pub async fn matrix_changed(&self, scope: &TenantScope) {
        self.permissions.invalidate(scope.tenant_id());
        let notice = format!("{MATRIX_NOTICE}{}", scope.tenant_id());
        self.notify_replicas(notice).await;
    }

    /// The caller a bearer value names (a token or an API key), and when it expires.
    pub async fn authenticate(
        &self,
        bearer: &str,
    ) -> AppResult<(Principal, Option<DateTime<Utc>>)> {
        if api_keys::is_api_key(bearer) {
            let hasher = &self.tokens.api_keys;
            api_keys::authenticate(&self.db, hasher, &self.api_keys, &self.permissions, bearer)
                .await
        } else {
            let (tokens, users, matrix) = (&self.tokens, &self.users, &self.permissions);
            users::authenticate(&self.db, tokens, users, matrix, bearer).await
        }
    }

    /// Call after an API key was revoked or a user changed (once it committed): forgets the
    /// tenant's verified keys and users here at once, and on PostgreSQL on every other replica
    /// through NOTIFY.
    pub async fn credentials_changed(&self, scope: &TenantScope) {
        self.api_keys.invalidate(scope.tenant_id());
        self.users.invalidate(scope.tenant_id());
        let notice = format!("{KEYS_NOTICE}{}", scope.tenant_id());
        self.notify_replicas(notice).await;
    }

    /// Call after a change to the tenant's event log has committed: wakes its subscribers.
    /// On PostgreSQL the writing transaction's own NOTIFY (see `records::append_log`) has woken
    /// every replica, this one included, when it committed.
    pub fn log_committed(&self, scope: &TenantScope) {
        if self.db.get_database_backend() != DbBackend::Postgres {
            self.events.publish(scope);
        }
    }

    async fn notify_replicas(&self, payload: String) {
        notify_replicas(&self.db, payload).await;
    }
}

/// Tells every replica on the same PostgreSQL (see `events::relay_replica_notices`); awaited,
/// so that the caller goes on only once they have been told. Nothing to tell on SQLite.
pub async fn notify_replicas(db: &DatabaseConnection, payload: String) {
    if db.get_database_backend() == DbBackend::Postgres {
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        if let Err(err) = db.execute_raw(notify).await {
            tracing::warn!(%err, "could not notify other replicas");
        }
    }
}
