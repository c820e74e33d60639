//! Change notifications, and reading the durable event log.
//!
//! The event log (written in the same transaction as each record change, see `records`) is
//! the source of truth. Each tenant with subscribers on this replica has one feed: woken after
//! its tenant's commits, it reads the new entries once and shares them with the tenant's
//! subscribers. A lost or lagging wake-up loses nothing: sequences have no gaps, so a
//! subscriber that sees a jump reads the log itself. Every subscriber sees only its own
//! tenant's events: the feeds are per tenant and the log queries scoped, not filtered in the
//! resolvers.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use entity::platform::event_log;

use crate::auth::api_keys::KeyCache;
use crate::error::{AppError, AppResult};
use crate::metrics::Latency;
use crate::permissions::MatrixCache;
use crate::platform::users::UserCache;
use crate::tenancy::TenantScope;

/// One tenant's feed on this replica: a task that reads the tenant's new log entries once per
/// wake-up and hands the same entries to every subscriber of the tenant.
struct Feed {
    /// Set by commits of the tenant (here, or on other replicas through NOTIFY).
    wake: Notify,
    entries: broadcast::Sender<Arc<event_log::Model>>,
    /// Set when the last subscriber has gone: the task ends.
    retired: AtomicBool,
}

/// Wakes subscribers after commits: one feed per tenant that has subscribers on this replica,
/// so that a commit wakes only its own tenant's subscribers, the log is read once for all of
/// them, and a tenant without subscribers here costs nothing.
#[derive(Clone)]
pub struct EventBus {
    feeds: Arc<Mutex<HashMap<Uuid, Arc<Feed>>>>,
    capacity: usize,
    /// From each entry's writing to its feed reading it (the commit falls in between).
    lag: Arc<Mutex<Latency>>,
}

impl EventBus {
    /// `capacity`: entries one subscriber may fall behind by before it reads the log itself
    /// to catch up (so nothing is lost).
    pub fn new(capacity: usize) -> Self {
        Self {
            feeds: Default::default(),
            capacity,
            lag: Default::default(),
        }
    }

    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Feed>>> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// New entries were committed to the tenant's log: its feed reads them.
    pub fn publish(&self, scope: &TenantScope) {
        if let Some(feed) = self.feeds().get(&scope.tenant_id()) {
            feed.wake.notify_one();
        }
    }

    /// After notices may have been missed: every feed reads the log again.
    pub fn wake_everyone(&self) {
        for feed in self.feeds().values() {
            feed.wake.notify_one();
        }
    }

    /// A receiver of the tenant's feed, starting one if there is none. A new feed starts at
    /// the tenant's latest entry as read *before* it can be woken, so that no entry committed
    /// after a subscriber joined goes unread by the feed.
    async fn join(&self, db: &DatabaseConnection, scope: &TenantScope) -> AppResult<Joined> {
        let tenant_id = scope.tenant_id();
        let existing = self.feeds().get(&tenant_id).map(|f| f.entries.subscribe());
        let receiver = match existing {
            Some(receiver) => receiver,
            None => {
                let start = latest_sequence(db, scope).await?;
                let mut feeds = self.feeds();
                let feed = feeds.entry(tenant_id).or_insert_with(|| {
                    let feed = Arc::new(Feed {
                        wake: Notify::new(),
                        entries: broadcast::channel(self.capacity).0,
                        retired: AtomicBool::new(false),
                    });
                    let lag = self.lag.clone();
                    tokio::spawn(run_feed(db.clone(), *scope, start, feed.clone(), lag));
                    feed
                });
                feed.entries.subscribe()
            }
        };
        Ok(Joined {
            receiver,
            tenant_id,
            bus: self.clone(),
        })
    }

    /// Tenants with a feed on this replica (for tests and metrics).
    pub fn tenants_followed(&self) -> usize {
        self.feeds().len()
    }

    /// Reads the histogram of how long entries took from their writing to their feed.
    pub fn lag(&self, read: impl FnOnce(&Latency)) {
        read(&self.lag.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Reads the tenant's new entries after each wake-up and broadcasts them, until retired.
async fn run_feed(
    db: DatabaseConnection,
    scope: TenantScope,
    mut last: i64,
    feed: Arc<Feed>,
    lag: Arc<Mutex<Latency>>,
) {
    loop {
        feed.wake.notified().await;
        if feed.retired.load(Ordering::Acquire) {
            return;
        }
        loop {
            match read_log(&db, &scope, last).await {
                Ok(batch) => {
                    let full = batch.len() as u64 == LOG_BATCH;
                    if let Some(newest) = batch.last() {
                        let waited = (Utc::now() - newest.at).num_microseconds().unwrap_or(0);
                        let mut lag = lag.lock().unwrap_or_else(|e| e.into_inner());
                        lag.observe(waited.max(0) as f64 / 1e6);
                    }
                    for entry in batch {
                        last = entry.sequence;
                        let _ = feed.entries.send(Arc::new(entry));
                    }
                    if !full {
                        break;
                    }
                }
                Err(err) => {
                    // Subscribers wait; the next wake-up (or this one, retried) reads again.
                    tracing::warn!(code = err.code(), "a tenant's feed could not read the log");
                    tokio::time::sleep(FEED_RETRY).await;
                    feed.wake.notify_one();
                    break;
                }
            }
        }
    }
}

/// How long a feed waits after a failed read of the log before it tries again.
const FEED_RETRY: Duration = Duration::from_secs(1);

/// One subscriber's end of its tenant's feed; the last one to go retires the feed.
struct Joined {
    receiver: broadcast::Receiver<Arc<event_log::Model>>,
    tenant_id: Uuid,
    bus: EventBus,
}

impl Drop for Joined {
    fn drop(&mut self) {
        let mut feeds = self.bus.feeds();
        // This receiver still counts until the fields drop; under the lock no one joins.
        if let Some(feed) = feeds.get(&self.tenant_id)
            && feed.entries.receiver_count() <= 1
        {
            feed.retired.store(true, Ordering::Release);
            feed.wake.notify_one();
            feeds.remove(&self.tenant_id);
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
                             AND w.active = TRUE AND w.cursor < e.sequence) \
           LIMIT {PURGE_BATCH})",
        cutoff = crate::db::first_parameter(backend),
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

/// What a [`Watch`] sees next.
pub enum Seen {
    Entry(Arc<event_log::Model>),
    /// Entries went by unseen (the watch fell behind its feed).
    Missed,
}

/// The tenant's new log entries as its feed reads them, without catching up on missed ones:
/// for a watcher that can check again instead (a WebSocket watching its own user). Cheaper
/// than [`follow_log_from`]: no reads of its own and no place in the log to keep.
pub struct Watch(Joined);

impl Watch {
    pub async fn start(
        db: &DatabaseConnection,
        bus: &EventBus,
        scope: &TenantScope,
    ) -> AppResult<Watch> {
        Ok(Watch(bus.join(db, scope).await?))
    }

    /// The next entry, `Missed`, or `None` once the feed is gone.
    pub async fn next(&mut self) -> Option<Seen> {
        match self.0.receiver.recv().await {
            Ok(entry) => Some(Seen::Entry(entry)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Seen::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Every log entry of the tenant after `after` (from now when it is `None`): first what is
/// already there, then each new one as it commits, without gaps or repeats. The entries are
/// the feed's own, shared by every subscriber. Ends on a database error.
pub async fn follow_log_from(
    db: DatabaseConnection,
    bus: &EventBus,
    scope: TenantScope,
    after: Option<i64>,
) -> AppResult<impl Stream<Item = Arc<event_log::Model>> + Send + 'static> {
    // Join before reading where to start, so that nothing committed in between is missed.
    let joined = bus.join(&db, &scope).await?;
    let (last, read_now) = match after {
        Some(after) => {
            still_kept(&db, &scope, after).await?;
            (after, true)
        }
        None => (latest_sequence(&db, &scope).await?, false),
    };
    let follower = Follower {
        db,
        scope,
        joined,
        last,
        read_now,
        buffer: VecDeque::new(),
    };
    Ok(futures_util::stream::unfold(
        follower,
        |mut follower| async move {
            let entry = follower.next().await?;
            Some((entry, follower))
        },
    ))
}

/// One subscriber's place in its tenant's log.
struct Follower {
    db: DatabaseConnection,
    scope: TenantScope,
    joined: Joined,
    /// The last sequence handed out.
    last: i64,
    /// Read the log itself before listening to the feed: to replay, or to catch up after
    /// falling behind it.
    read_now: bool,
    buffer: VecDeque<Arc<event_log::Model>>,
}

impl Follower {
    async fn next(&mut self) -> Option<Arc<event_log::Model>> {
        loop {
            if let Some(entry) = self.buffer.pop_front() {
                self.last = entry.sequence;
                return Some(entry);
            }
            if self.read_now {
                // Boxed: a subscriber waits on the feed far longer than it reads, and an inline
                // read would make every waiting subscriber as large as the query.
                let read = Box::pin(read_log(&self.db, &self.scope, self.last));
                let batch = read.await.ok()?;
                // A full batch may have more behind it: read again before listening.
                self.read_now = batch.len() as u64 == LOG_BATCH;
                self.buffer.extend(batch.into_iter().map(Arc::new));
                continue;
            }
            match self.joined.receiver.recv().await {
                Ok(entry) if entry.sequence <= self.last => {}
                Ok(entry) if entry.sequence == self.last.saturating_add(1) => {
                    self.last = entry.sequence;
                    return Some(entry);
                }
                // Entries went by before this subscriber joined or while it lagged behind
                // (sequences have no gaps, so a jump shows it): the log has them.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.read_now = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
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
    pub users: Arc<UserCache>,
}

impl Caches {
    fn forget_everything(&self) {
        self.matrix.invalidate_all();
        self.keys.invalidate_all();
        self.users.invalidate_all();
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
            Ok(tenant_id) => {
                caches.keys.invalidate(tenant_id);
                caches.users.invalidate(tenant_id);
            }
            Err(_) => {
                caches.keys.invalidate_all();
                caches.users.invalidate_all();
            }
        }
    } else {
        match payload.parse::<Uuid>() {
            Ok(tenant_id) => bus.publish(&TenantScope::new(tenant_id)),
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
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    use super::*;

    async fn append(db: &DatabaseConnection, scope: &TenantScope, sequence: i64) {
        event_log::ActiveModel {
            tenant_id: Set(scope.tenant_id()),
            sequence: Set(sequence),
            id: Set(Uuid::now_v7()),
            module: Set("accounts".into()),
            record_id: Set(Uuid::now_v7()),
            action: Set("created".into()),
            actor_id: Set(Uuid::nil()),
            at: Set(Utc::now()),
            changed_fields: Set(serde_json::json!([])),
        }
        .insert(db)
        .await
        .expect("insert a log entry");
    }

    #[tokio::test]
    async fn one_read_serves_a_tenants_subscribers_and_no_other_tenants() {
        let db = crate::db::connect_pool("sqlite::memory:", Duration::from_secs(5), 1)
            .await
            .expect("database");
        crate::registry::install();
        crate::db::migrate(&db).await.expect("migrate");
        let bus = EventBus::new(4);
        let tenant = |slug: &str| crate::platform::tenants::NewTenant {
            slug: slug.into(),
            name: slug.into(),
            admin_email: format!("admin@{slug}.example"),
            admin_password: "a long enough password".into(),
        };
        let create = crate::platform::tenants::create_tenant;
        let a = TenantScope::new(create(&db, tenant("acme")).await.expect("tenant").0.id);
        let b = TenantScope::new(create(&db, tenant("bolt")).await.expect("tenant").0.id);
        append(&db, &a, 1).await;
        let follow = |scope, after| follow_log_from(db.clone(), &bus, scope, after);
        let mut first_of_a = Box::pin(follow(a, None).await.expect("follow"));
        let mut replay_of_a = Box::pin(follow(a, Some(0)).await.expect("follow"));
        let mut of_b = Box::pin(follow(b, None).await.expect("follow"));
        assert_eq!(bus.tenants_followed(), 2);
        // The replay reads what is already there from the log...
        assert_eq!(replay_of_a.next().await.expect("entry 1").sequence, 1);

        // ...and then, like everyone, takes new entries from the feed.
        append(&db, &a, 2).await;
        bus.publish(&a);
        let seen = first_of_a.next().await.expect("entry 2");
        assert_eq!(seen.sequence, 2);
        let shared = replay_of_a.next().await.expect("entry 2");
        assert!(Arc::ptr_eq(&seen, &shared), "both got the feed's one copy");
        let woken = tokio::time::timeout(Duration::from_millis(50), of_b.next()).await;
        assert!(woken.is_err(), "the other tenant's subscriber sleeps on");

        // Ten entries overflow the feed's four places: the subscriber reads the rest itself.
        for sequence in 3..=12 {
            append(&db, &a, sequence).await;
        }
        bus.publish(&a);
        for expected in 3..=12 {
            assert_eq!(first_of_a.next().await.expect("entry").sequence, expected);
        }

        // The last subscriber of a tenant retires its feed.
        drop(first_of_a);
        assert_eq!(bus.tenants_followed(), 2);
        drop(replay_of_a);
        assert_eq!(bus.tenants_followed(), 1);
        drop(of_b);
        assert_eq!(bus.tenants_followed(), 0);
        bus.publish(&a);
    }
}
