//! Change notifications, and reading the durable event log.
//!
//! The event log (written in the same transaction as each record change, see `records`) is
//! the source of truth; the in-process bus only wakes subscribers after a commit, so a lost or
//! lagging wake-up loses nothing: the next read of the log catches up. Every subscriber sees
//! only its own tenant's events: the filter sits in [`EventBus::subscribe`] and in the log
//! queries, not in the resolvers.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use entity::platform::event_log;

use crate::auth::api_keys::KeyCache;
use crate::error::{AppError, AppResult};
use crate::permissions::MatrixCache;
use crate::tenancy::TenantScope;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A user was created or updated.
    User(Uuid),
    /// New entries were committed to the tenant's event log.
    Log,
}

#[derive(Clone, Debug)]
struct Event {
    /// `None`: every tenant (after a lost replica connection, everyone looks again).
    tenant_id: Option<Uuid>,
    change: Change,
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    /// Call only after the change has committed.
    pub fn publish(&self, scope: &TenantScope, change: Change) {
        // No subscriber is not an error.
        let _ = self.sender.send(Event {
            tenant_id: Some(scope.tenant_id()),
            change,
        });
    }

    /// Makes every log subscriber look at the log again.
    pub fn wake_everyone(&self) {
        let _ = self.sender.send(Event {
            tenant_id: None,
            change: Change::Log,
        });
    }

    /// The changes of one tenant, from now on.
    pub fn subscribe(&self, scope: &TenantScope) -> impl Stream<Item = Change> + Send + use<> {
        let tenant_id = scope.tenant_id();
        let receiver = self.sender.subscribe();
        futures_util::stream::unfold(receiver, move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if event.tenant_id.is_none_or(|t| t == tenant_id) => {
                        return Some((event.change, receiver));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "subscriber lagged behind; events skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}

/// How many log entries one read fetches.
const LOG_BATCH: u64 = 500;

/// Log entries of the tenant after `after`, in order, at most one batch.
pub async fn read_log(
    db: &DatabaseConnection,
    scope: &TenantScope,
    after: i64,
) -> AppResult<Vec<event_log::Model>> {
    Ok(scope
        .select::<event_log::Entity>()
        .filter(event_log::Column::Sequence.gt(after))
        .order_by_asc(event_log::Column::Sequence)
        .limit(LOG_BATCH)
        .all(db)
        .await?)
}

/// The tenant's latest sequence (0 before the first change).
/// Fails when entries after `after` are gone (see [`purge_expired`]): resuming from there
/// would skip them unseen.
async fn still_kept(db: &DatabaseConnection, scope: &TenantScope, after: i64) -> AppResult<()> {
    let oldest = scope
        .select::<event_log::Entity>()
        .order_by_asc(event_log::Column::Sequence)
        .one(db)
        .await?
        .map(|e| e.sequence);
    match oldest {
        Some(oldest) if after.saturating_add(1) < oldest => Err(AppError::bad_input(
            "afterSequence",
            format!(
                "events up to {} are no longer kept: read the current state again, then \
                 subscribe from a later sequence or without afterSequence",
                oldest - 1
            ),
        )),
        _ => Ok(()),
    }
}

/// Entries one purge statement deletes at most, so that no transaction grows large.
const PURGE_BATCH: u64 = 5_000;
/// Batches one purge round runs at most; the next round goes on.
const PURGE_ROUNDS: usize = 20;

/// Deletes log entries from before `older_than`, except what is still needed: each tenant's
/// newest entry (it tells a resuming subscriber where the log stands) and whatever an active
/// webhook has not delivered yet. The one statement across tenants: housekeeping serves them
/// all. Returns how many went.
pub async fn purge_expired(db: &DatabaseConnection, older_than: DateTime<Utc>) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let statement = format!(
        "DELETE FROM event_log WHERE (tenant_id, sequence) IN (\
           SELECT e.tenant_id, e.sequence FROM event_log e \
           WHERE e.at < {cutoff} \
             AND e.sequence < (SELECT MAX(l.sequence) FROM event_log l \
                               WHERE l.tenant_id = e.tenant_id) \
             AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = e.tenant_id \
                             AND w.active = {yes} AND w.cursor < e.sequence) \
           LIMIT {PURGE_BATCH})",
        cutoff = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        },
        yes = if backend == DbBackend::Postgres {
            "TRUE"
        } else {
            "1"
        },
    );
    let mut purged = 0;
    for _ in 0..PURGE_ROUNDS {
        let deleted = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                &statement,
                [older_than.into()],
            ))
            .await?
            .rows_affected();
        purged += deleted;
        if deleted < PURGE_BATCH {
            break;
        }
    }
    Ok(purged)
}

pub async fn latest_sequence(db: &DatabaseConnection, scope: &TenantScope) -> AppResult<i64> {
    Ok(scope
        .select::<event_log::Entity>()
        .order_by_desc(event_log::Column::Sequence)
        .one(db)
        .await?
        .map_or(0, |e| e.sequence))
}

/// [`follow_log`] after `after`, or from now when it is `None`.
pub async fn follow_log_from(
    db: DatabaseConnection,
    bus: &EventBus,
    scope: TenantScope,
    after: Option<i64>,
) -> AppResult<impl Stream<Item = event_log::Model> + Send + 'static> {
    let after = match after {
        Some(after) => {
            still_kept(&db, &scope, after).await?;
            after
        }
        None => latest_sequence(&db, &scope).await?,
    };
    Ok(follow_log(db, bus, scope, after))
}

/// Every log entry of the tenant after `after`: first what is already there, then each new
/// one as it commits, without gaps or repeats. Ends on a database error.
pub fn follow_log(
    db: DatabaseConnection,
    bus: &EventBus,
    scope: TenantScope,
    after: i64,
) -> impl Stream<Item = event_log::Model> + Send + 'static {
    // Subscribe before the first read, so that nothing committed in between is missed.
    let wakeups = Box::pin(bus.subscribe(&scope));
    let state = (db, wakeups, after, VecDeque::new(), true);
    futures_util::stream::unfold(
        state,
        move |(db, mut wakeups, mut last, mut buffer, mut read_now)| async move {
            use futures_util::StreamExt;
            loop {
                if let Some(entry) = buffer.pop_front() {
                    let entry: event_log::Model = entry;
                    last = entry.sequence;
                    return Some((entry, (db, wakeups, last, buffer, read_now)));
                }
                if !read_now {
                    // Any wake-up means: look again. The log, not the signal, says what is new.
                    wakeups.next().await?;
                }
                let batch = match read_log(&db, &scope, last).await {
                    Ok(batch) => batch,
                    Err(_) => return None,
                };
                // A full batch may have more behind it: read again without waiting.
                read_now = batch.len() as u64 == LOG_BATCH;
                buffer.extend(batch);
            }
        },
    )
}

/// The PostgreSQL channel replicas use to wake each other's subscribers.
pub const CHANNEL: &str = "bpaas_events";

/// A notice on `CHANNEL` that a tenant's permission matrix changed: this prefix, then its id.
/// Any other notice is a tenant id whose log grew.
pub const MATRIX_NOTICE: &str = "matrix:";

/// A notice that a tenant's API keys or users changed: this prefix, then its id.
pub const KEYS_NOTICE: &str = "keys:";

/// What replicas cache and forget on each other's notices.
#[derive(Clone)]
pub struct Caches {
    pub matrix: Arc<MatrixCache>,
    pub keys: Arc<KeyCache>,
}

impl Caches {
    fn forget_everything(&self) {
        self.matrix.invalidate_all();
        self.keys.invalidate_all();
    }
}

/// Relays other replicas' commit notices (PostgreSQL LISTEN) to this replica's subscribers.
/// Runs for the life of the process; after any gap in the connection everyone is woken,
/// since notices sent meanwhile are lost (the log itself is not).
pub async fn relay_replica_notices(
    database_url: String,
    bus: EventBus,
    caches: Caches,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    tokio::select! {
        _ = relay_until_error(database_url, bus, caches) => {}
        _ = shutdown.wait_for(|stopping| *stopping) => {}
    }
}

/// Acts on one notice of another replica: a tenant's permission matrix or keys changed, or
/// its log grew. A payload that names no tenant wakes (or forgets) everything.
fn relay_notice(payload: &str, bus: &EventBus, caches: &Caches) {
    if let Some(tenant) = payload.strip_prefix(MATRIX_NOTICE) {
        match tenant.parse::<Uuid>() {
            Ok(tenant_id) => caches.matrix.invalidate(tenant_id),
            Err(_) => caches.matrix.invalidate_all(),
        }
    } else if let Some(tenant) = payload.strip_prefix(KEYS_NOTICE) {
        match tenant.parse::<Uuid>() {
            Ok(tenant_id) => caches.keys.invalidate(tenant_id),
            Err(_) => caches.keys.invalidate_all(),
        }
    } else {
        match payload.parse::<Uuid>() {
            Ok(tenant_id) => bus.publish(&TenantScope::new(tenant_id), Change::Log),
            Err(_) => bus.wake_everyone(),
        }
    }
}

async fn relay_until_error(database_url: String, bus: EventBus, caches: Caches) {
    let missed_notices = || {
        bus.wake_everyone();
        caches.forget_everything();
    };
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = std::time::Duration::from_millis(500);
    loop {
        match PgListener::connect(&database_url).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => {
                    backoff = std::time::Duration::from_millis(500);
                    missed_notices();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notice)) => relay_notice(notice.payload(), &bus, &caches),
                            // The connection dropped and will be re-made by the next call.
                            Ok(None) => missed_notices(),
                            Err(err) => {
                                tracing::warn!(%err, "replica notices interrupted");
                                break;
                            }
                        }
                    }
                }
                Err(err) => tracing::debug!(%err, "cannot listen for replica notices yet"),
            },
            Err(err) => tracing::debug!(%err, "cannot connect for replica notices yet"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
    }
}
