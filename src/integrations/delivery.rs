//! The webhook delivery worker. Every replica runs one.
//!
//! The event log is the outbox: it is written in the same transaction as each change, and
//! every webhook keeps a cursor into its tenant's log. A round claims due webhooks (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, then a lease, so that no two replicas deliver to one webhook at
//! once and no transaction stays open during HTTP calls), sends each webhook its events in
//! order, and moves the cursor past what was delivered. A failure stops that webhook's queue
//! and retries the same event later with exponential back-off and jitter; after failing for
//! a day the webhook is disabled, with a `webhooks.disabled` event. Delivery is at least once:
//! receivers de-duplicate by `webhook-id`, which is the event's id.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect,
};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::watch;
use uuid::Uuid;

use entity::integrations::{webhook, webhook_delivery};
use entity::platform::event_log;

use super::idempotency;
use super::webhooks::{self, WEBHOOKS, is_public};
use crate::app::SharedApp;
use crate::config::WebhookConfig;
use crate::error::{AppError, AppResult};
use crate::events;
use crate::modules::{self, Module};
use crate::records;
use crate::reports::snapshots;
use crate::tenancy::TenantScope;

const POLL: Duration = Duration::from_millis(250);
/// Webhooks served at once by one replica.
const BATCH: u64 = 20;
/// How long a claim holds a webhook; a round stops sending well before it runs out.
const LEASE: Duration = Duration::from_secs(120);
const ROUND_BUDGET: Duration = Duration::from_secs(60);
/// Events one round reads per webhook.
const EVENTS_PER_ROUND: usize = 100;
const LONGEST_RETRY: Duration = Duration::from_secs(3600);
const EXCERPT_CHARS: usize = 500;
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Runs until shutdown, restarting after a panic.
pub async fn run(app: SharedApp, shutdown: watch::Receiver<bool>) {
    crate::app::supervise("webhook delivery", move || {
        rounds(app.clone(), shutdown.clone())
    })
    .await;
}

async fn rounds(app: SharedApp, mut shutdown: watch::Receiver<bool>) {
    let client = match http_client(&app.webhooks) {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "webhook delivery cannot start: no HTTP client");
            return;
        }
    };
    let mut purged = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        // Housekeeping that shares this worker: answers of idempotent requests expire, and
        // the event log keeps what its retention says (and what webhooks still need).
        if purged.elapsed() >= PURGE_EVERY {
            purged = Instant::now();
            if idempotency::purge_expired(&app.jobs_db).await.is_err() {
                tracing::warn!("could not purge expired idempotency keys");
            }
            let cutoff = app
                .limits
                .event_log_retention
                .and_then(|keep| chrono::Duration::from_std(keep).ok())
                .and_then(|keep| Utc::now().checked_sub_signed(keep));
            if let Some(cutoff) = cutoff
                && events::purge_expired(&app.jobs_db, cutoff).await.is_err()
            {
                tracing::warn!("could not purge the event log");
            }
        }
        let claimed = match claim_due(&app.jobs_db).await {
            Ok(claimed) => claimed,
            Err(_) => {
                tracing::warn!("webhook delivery: could not claim webhooks; retrying later");
                continue;
            }
        };
        let rounds = claimed.into_iter().map(|hook| {
            let (app, client) = (app.clone(), client.clone());
            async move {
                let id = hook.id;
                if deliver_queue(&app, &client, hook).await.is_err() {
                    tracing::warn!(webhook = %id, "webhook delivery round failed; retrying later");
                }
            }
        });
        futures_util::future::join_all(rounds).await;
    }
}

/// Claims up to a batch of active webhooks that are due and have events to send.
async fn claim_due(db: &DatabaseConnection) -> AppResult<Vec<webhook::Model>> {
    let now = Utc::now();
    let txn = crate::db::begin(db).await?;
    // The one query that spans tenants: the worker serves them all. Each claimed webhook is
    // then served strictly within its own tenant.
    let mut due = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .filter(webhook::Column::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(webhook::Column::LockedUntil.is_null())
                .add(webhook::Column::LockedUntil.lt(now)),
        )
        .filter(Expr::cust(
            "cursor < (SELECT COALESCE(MAX(e.sequence), 0) FROM event_log e \
             WHERE e.tenant_id = webhooks.tenant_id)",
        ))
        .limit(BATCH);
    if db.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let hooks = due.all(&txn).await?;
    if !hooks.is_empty() {
        let until = now + LEASE;
        webhook::Entity::update_many()
            .col_expr(webhook::Column::LockedUntil, Expr::value(until))
            .filter(webhook::Column::Id.is_in(hooks.iter().map(|h| h.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(hooks)
}

/// Sends a claimed webhook its events in order until one fails, the queue is empty or the
/// round's time is up; then saves where it got to and releases the claim.
async fn deliver_queue(
    app: &SharedApp,
    client: &reqwest::Client,
    hook: webhook::Model,
) -> AppResult<()> {
    let db = &app.jobs_db;
    let scope = TenantScope::new(hook.tenant_id);
    let started = Instant::now();
    let mut cursor = hook.cursor;
    let mut failures = hook.failures;
    let mut failing_since = hook.failing_since;
    let mut next_attempt_at = hook.next_attempt_at;
    let mut disabled = None;
    let entries = events::read_log(db, &scope, cursor).await?;
    for entry in entries.into_iter().take(EVENTS_PER_ROUND) {
        if started.elapsed() > ROUND_BUDGET {
            break;
        }
        let event_type = webhooks::event_type(&entry.module, &entry.action);
        if !webhooks::subscribed(&hook.event_types, &event_type) {
            cursor = entry.sequence;
            continue;
        }
        let record = record_of(db, &scope, &entry).await?;
        let event = event_json(&entry, &event_type);
        if !webhooks::passes(hook.filter.as_deref(), &event, &record) {
            cursor = entry.sequence;
            continue;
        }
        let body = payload(&entry, event, record);
        let attempt = failures.saturating_add(1);
        let message_id = entry.id.to_string();
        let outcome = send(client, &app.webhooks, &hook, &message_id, &body).await;
        let sequence = Some(entry.sequence);
        log_attempt(
            db,
            &hook,
            entry.id,
            sequence,
            &event_type,
            attempt,
            &outcome,
        )
        .await?;
        if outcome.succeeded() {
            cursor = entry.sequence;
            failures = 0;
            failing_since = None;
            continue;
        }
        let now = Utc::now();
        failures = attempt;
        let since = *failing_since.get_or_insert(now);
        let give_up_after =
            chrono::Duration::from_std(app.webhooks.give_up_after).unwrap_or(chrono::Duration::MAX);
        if now - since >= give_up_after {
            let reason = format!(
                "disabled after {failures} failed attempts since {}",
                since.to_rfc3339()
            );
            disable(db, &hook, &reason).await?;
            disabled = Some(reason);
        } else {
            next_attempt_at = now + retry_delay(app.webhooks.first_retry, failures);
        }
        break;
    }
    // Only what the worker owns is written: an administrator's concurrent edit stays.
    let mut update = scope
        .update::<webhook::Entity>()
        .col_expr(webhook::Column::Cursor, Expr::value(cursor))
        .col_expr(webhook::Column::Failures, Expr::value(failures))
        .col_expr(webhook::Column::FailingSince, Expr::value(failing_since))
        .col_expr(webhook::Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(
            webhook::Column::LockedUntil,
            Expr::value(None::<DateTime<Utc>>),
        );
    if let Some(reason) = disabled {
        update = update
            .col_expr(webhook::Column::Active, Expr::value(false))
            .col_expr(webhook::Column::DisabledReason, Expr::value(reason));
    }
    update
        .filter(webhook::Column::Id.eq(hook.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Exponential back-off from `first` up to an hour, with up to 20% jitter so that receivers
/// that failed together do not all retry together.
fn retry_delay(first: Duration, failures: i32) -> chrono::Duration {
    let exponent = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let base = first
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(LONGEST_RETRY);
    let jitter_permille = u64::from(crate::auth::secrets::random_bytes(2)[0]) * 200 / 255;
    let jitter = base.mul_f64(jitter_permille as f64 / 1000.0);
    chrono::Duration::from_std(base + jitter).unwrap_or(chrono::Duration::hours(1))
}

/// Disables a webhook that kept failing and says so in the tenant's event log.
async fn disable(db: &DatabaseConnection, hook: &webhook::Model, reason: &str) -> AppResult<()> {
    tracing::warn!(webhook = %hook.id, reason, "webhook disabled");
    let scope = TenantScope::new(hook.tenant_id);
    let txn = records::begin_write(db, &scope).await?;
    records::append_platform_event(&txn, &scope, WEBHOOKS, hook.id, "disabled", &["active"])
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The event as a filter sees it (`event.type`, `event.changedFields`).
fn event_json(entry: &event_log::Model, event_type: &str) -> Value {
    json!({
        "type": event_type,
        "sequence": entry.sequence,
        "module": entry.module,
        "action": entry.action,
        "recordId": entry.record_id,
        "actorId": entry.actor_id,
        "changedFields": entry.changed_fields,
    })
}

/// The body of an event: Standard Webhooks' `type`, `timestamp` and `data`, where `data` holds
/// the log entry and the record as it is now (null once deleted). No tenant id appears.
fn payload(entry: &event_log::Model, event: Value, record: Value) -> String {
    let mut data = event;
    let event_type = data
        .as_object_mut()
        .and_then(|fields| fields.remove("type"))
        .unwrap_or(Value::Null);
    data["record"] = record;
    let body = json!({
        "type": event_type,
        "timestamp": entry.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    });
    body.to_string()
}

/// The record an entry is about, as it is now.
async fn record_of(
    db: &DatabaseConnection,
    scope: &TenantScope,
    entry: &event_log::Model,
) -> AppResult<Value> {
    match Module::parse(&entry.module) {
        Some(module) => record_json(db, scope, module, entry.record_id).await,
        None if entry.module == snapshots::REPORTS => {
            snapshots::event_json(db, scope, entry.record_id).await
        }
        None => Ok(Value::Null),
    }
}

async fn record_json(
    db: &DatabaseConnection,
    scope: &TenantScope,
    module: Module,
    id: Uuid,
) -> AppResult<Value> {
    let executor = sea_orm::DatabaseExecutor::Connection(db);
    let mut record = modules::declaration(module)?
        .load_json(&executor, scope, id)
        .await?
        .unwrap_or(Value::Null);
    if let Some(fields) = record.as_object_mut() {
        fields.remove("tenantId");
    }
    Ok(record)
}

/// What came of one attempt.
pub struct Outcome {
    pub status: Option<u16>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub excerpt: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Posts one signed message.
pub async fn send(
    client: &reqwest::Client,
    config: &WebhookConfig,
    hook: &webhook::Model,
    message_id: &str,
    body: &str,
) -> Outcome {
    let started = Instant::now();
    let latency = || i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let failed = |error: String| Outcome {
        status: None,
        latency_ms: latency(),
        error: Some(error),
        excerpt: None,
    };
    // The URL was checked when saved; the provider's allowance may have changed since.
    if webhooks::check_url(&hook.url, config).is_err() {
        return failed("the URL is not allowed".into());
    }
    let timestamp = Utc::now().timestamp();
    let Some(signature) = sign(&hook.secret, message_id, timestamp, body) else {
        return failed("the signing secret is unusable".into());
    };
    let request = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("user-agent", "bpaas-webhooks")
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", format!("v1,{signature}"))
        .body(body.to_owned());
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            Outcome {
                status: Some(status),
                latency_ms: latency(),
                error: None,
                excerpt: (!text.is_empty()).then(|| text.chars().take(EXCERPT_CHARS).collect()),
            }
        }
        Err(err) if err.is_timeout() => failed("the receiver did not answer in time".into()),
        Err(err) if err.is_connect() => failed(format!("cannot connect: {}", root_cause(&err))),
        Err(err) => failed(root_cause(&err)),
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string().chars().take(EXCERPT_CHARS).collect()
}

/// The Standard Webhooks signature: base64 of HMAC-SHA256 over `id.timestamp.body`, keyed with
/// the base64 part of the `whsec_` secret.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

async fn log_attempt(
    db: &DatabaseConnection,
    hook: &webhook::Model,
    event_id: Uuid,
    sequence: Option<i64>,
    event_type: &str,
    attempt: i32,
    outcome: &Outcome,
) -> AppResult<webhook_delivery::Model> {
    Ok(webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(hook.tenant_id),
        webhook_id: Set(hook.id),
        event_id: Set(event_id),
        sequence: Set(sequence),
        event_type: Set(event_type.to_owned()),
        attempt: Set(attempt),
        status_code: Set(outcome.status.map(i32::from)),
        latency_ms: Set(outcome.latency_ms),
        succeeded: Set(outcome.succeeded()),
        error: Set(outcome.error.clone()),
        response_excerpt: Set(outcome.excerpt.clone()),
        at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Sends a `webhook.test` message now, outside the queue, and logs it.
pub async fn test(app: &SharedApp, hook: &webhook::Model) -> AppResult<webhook_delivery::Model> {
    let client = http_client(&app.webhooks).map_err(AppError::internal)?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let body = json!({
        "type": "webhook.test",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": { "webhookId": hook.id, "name": hook.name },
    })
    .to_string();
    let outcome = send(&client, &app.webhooks, hook, &id.to_string(), &body).await;
    log_attempt(&app.db, hook, id, None, "webhook.test", 1, &outcome).await
}

/// Sends the event of an earlier delivery again now, outside the queue (its place in the
/// queue is unchanged), and logs the attempt.
pub async fn redeliver(
    app: &SharedApp,
    hook: &webhook::Model,
    delivery: &webhook_delivery::Model,
) -> AppResult<webhook_delivery::Model> {
    let Some(sequence) = delivery.sequence else {
        return test(app, hook).await;
    };
    let scope = TenantScope::new(hook.tenant_id);
    let entry = scope
        .select::<event_log::Entity>()
        .filter(event_log::Column::Sequence.eq(sequence))
        .one(&app.db)
        .await?
        .ok_or(AppError::NotFound("event"))?;
    let client = http_client(&app.webhooks).map_err(AppError::internal)?;
    let record = record_of(&app.db, &scope, &entry).await?;
    let body = payload(&entry, event_json(&entry, &delivery.event_type), record);
    let outcome = send(&client, &app.webhooks, hook, &entry.id.to_string(), &body).await;
    let attempt = delivery.attempt.saturating_add(1);
    log_attempt(
        &app.db,
        hook,
        entry.id,
        Some(sequence),
        &delivery.event_type,
        attempt,
        &outcome,
    )
    .await
}

/// A client that follows no redirects (a receiver must not bounce us elsewhere) and resolves
/// names to public addresses only, unless private targets are allowed.
fn http_client(config: &WebhookConfig) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .dns_resolver(Arc::new(PublicResolver {
            allow_private: config.allow_private_targets,
        }))
        .build()
        .map_err(|e| e.to_string())
}

/// Resolves with the system resolver, then drops every non-public address: a name that points
/// only at private addresses cannot be reached, whatever DNS says at delivery time.
struct PublicResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// When a webhook's next attempt is due, for the API.
pub fn next_attempt(hook: &webhook::Model) -> Option<DateTime<Utc>> {
    (hook.active && hook.failures > 0).then_some(hook.next_attempt_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The test vector of the Standard Webhooks reference libraries.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("whsec_not base64!", "m", 1, "{}"), None);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let secs = |f| retry_delay(Duration::from_secs(5), f).num_seconds();
        assert!((5..=6).contains(&secs(1)), "{}", secs(1));
        assert!((10..=12).contains(&secs(2)));
        assert!((40..=48).contains(&secs(4)));
        assert!((3600..=4320).contains(&secs(30)));
        assert!((3600..=4320).contains(&secs(i32::MAX)));
    }
}
