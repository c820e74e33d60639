//! Change notifications, and reading the durable event log.
//!
//! The event log (written in the same transaction as each record change, see `records`) is
//! the source of truth; the in-process bus only wakes subscribers after a commit, so a lost or
//! lagging wake-up loses nothing: the next read of the log catches up. Every subscriber sees
//! only its own tenant's events: the filter sits in [`EventBus::subscribe`] and in the log
//! queries, not in the resolvers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

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

/// Wakes subscribers after commits: one channel per tenant that has subscribers on this
/// replica, so that a commit wakes only its own tenant's subscribers (and a tenant without
/// subscribers here costs nothing).
#[derive(Clone)]
pub struct EventBus {
    tenants: Arc<Mutex<HashMap<Uuid, broadcast::Sender<Change>>>>,
    capacity: usize,
}

impl EventBus {
    /// `capacity`: wake-ups one subscriber may fall behind by before it skips some (it then
    /// reads the log again, so nothing is lost).
    pub fn new(capacity: usize) -> Self {
        Self {
            tenants: Default::default(),
            capacity,
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, broadcast::Sender<Change>>> {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn publish(&self, scope: &TenantScope, change: Change) {
        if let Some(channel) = self.channels().get(&scope.tenant_id()) {
            let _ = channel.send(change);
        }
    }

    /// After notices may have been missed: every subscriber reads the log again.
    pub fn wake_everyone(&self) {
        for channel in self.channels().values() {
            let _ = channel.send(Change::Log);
        }
    }

    pub fn subscribe(&self, scope: &TenantScope) -> impl Stream<Item = Change> + Send + use<> {
        let tenant_id = scope.tenant_id();
        let receiver = self
            .channels()
            .entry(tenant_id)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe();
        let subscription = Subscription {
            receiver,
            tenant_id,
            bus: self.clone(),
        };
        futures_util::stream::unfold(subscription, |mut subscription| async move {
            loop {
                match subscription.receiver.recv().await {
                    Ok(change) => return Some((change, subscription)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "subscriber lagged behind; events skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    /// Tenants with a channel on this replica (for tests and metrics).
    pub fn tenants_followed(&self) -> usize {
        self.channels().len()
    }
}

/// One subscriber's end of its tenant's channel; the last one to go removes the channel.
struct Subscription {
    receiver: broadcast::Receiver<Change>,
    tenant_id: Uuid,
    bus: EventBus,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut channels = self.bus.channels();
        // This receiver still counts until the fields drop; under the lock no one subscribes.
        if channels
            .get(&self.tenant_id)
            .is_some_and(|c| c.receiver_count() <= 1)
        {
            channels.remove(&self.tenant_id);
        }
    }
}

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_commit_wakes_only_its_own_tenants_subscribers() {
        let bus = EventBus::new(16);
        let (a, b) = (
            TenantScope::new(Uuid::now_v7()),
            TenantScope::new(Uuid::now_v7()),
        );
        let mut first_of_a = Box::pin(bus.subscribe(&a));
        let mut second_of_a = Box::pin(bus.subscribe(&a));
        let mut of_b = Box::pin(bus.subscribe(&b));
        assert_eq!(bus.tenants_followed(), 2);
        bus.publish(&a, Change::Log);
        assert_eq!(first_of_a.next().await, Some(Change::Log));
        assert_eq!(second_of_a.next().await, Some(Change::Log));
        let woken = tokio::time::timeout(Duration::from_millis(50), of_b.next()).await;
        assert!(woken.is_err(), "the other tenant's subscriber sleeps on");
        bus.wake_everyone();
        assert_eq!(of_b.next().await, Some(Change::Log));
        // The last subscriber of a tenant takes its channel with it.
        drop(first_of_a);
        assert_eq!(bus.tenants_followed(), 2);
        drop(second_of_a);
        assert_eq!(bus.tenants_followed(), 1);
        drop(of_b);
        assert_eq!(bus.tenants_followed(), 0);
        bus.publish(&a, Change::Log);
    }
}
