//! The timer worker. Every replica runs one; each due timer is claimed by exactly one of them
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a single writer anyway) and acts in the
//! same transaction that deletes it, so it fires once, even across restarts.
//!
//! Each timer is its own transaction, so one tenant's failing timer neither holds back nor
//! undoes another's. A timer whose action fails is recorded on its instance (a `timer failed`
//! step and a `timer_failed` event) and dropped, never retried forever nor lost silently. The
//! worker is supervised: a panic restarts it, and `/readyz` reports it stalled.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::Utc;
use futures_util::FutureExt;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use entity::process::{instance, timer};

use super::definition::{Body, parse_duration};
use super::guards::{cel_context, evaluate, moment_of, record_json, settings_json};
use super::instances::{self, ACTIVE};
use super::published;
use crate::app::SharedApp;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::records;
use crate::tenancy::TenantScope;

const POLL: Duration = Duration::from_millis(500);
/// Most timers fired in one round, so that a round stays short and the heartbeat fresh.
const BATCH: usize = 50;

/// Runs until shutdown, firing due timers; restarts the worker whenever it panics.
pub async fn run(app: SharedApp, shutdown: watch::Receiver<bool>) {
    crate::app::supervise("timers", move || rounds(app.clone(), shutdown.clone())).await;
}

async fn rounds(app: SharedApp, mut shutdown: watch::Receiver<bool>) {
    loop {
        app.workers.timers_alive();
        tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        for _ in 0..BATCH {
            match fire_next(&app).await {
                Ok(Some(Some(tenant_id))) => {
                    app.log_committed(&TenantScope::new(tenant_id));
                }
                Ok(Some(None)) => {}
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!("timer worker: a timer could not be fired; retrying later");
                    break;
                }
            }
        }
    }
}

/// Claims and fires the next due timer in its own transaction. `None` when nothing is due;
/// otherwise the tenant whose log changed, if any.
async fn fire_next(app: &SharedApp) -> AppResult<Option<Option<Uuid>>> {
    let now = Utc::now();
    // The one query that spans tenants: the worker serves them all. It only learns whose
    // timer is due next; that tenant's timer is then claimed and acts strictly in its scope.
    let Some(next) = timer::Entity::find()
        .filter(timer::Column::DueAt.lte(now))
        .order_by_asc(timer::Column::DueAt)
        .one(&app.jobs_db)
        .await?
    else {
        return Ok(None);
    };
    let scope = TenantScope::new(next.tenant_id);
    // Like every writer, the event-log lock first, then rows: no deadlock with requests.
    let txn = records::begin_write(&app.jobs_db, &scope).await?;
    let mut due = scope
        .select::<timer::Entity>()
        .filter(timer::Column::DueAt.lte(now))
        .order_by_asc(timer::Column::DueAt)
        .order_by_asc(timer::Column::Id);
    if app.jobs_db.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(timer) = due.one(&txn).await? else {
        txn.commit().await?;
        return Ok(Some(None));
    };
    let actor = Principal::system(timer.tenant_id);
    // The savepoint keeps a failed action's half-done work out; the failure itself is recorded.
    let savepoint = txn.begin().await?;
    let acted = match AssertUnwindSafe(act(&savepoint, &actor, &timer))
        .catch_unwind()
        .await
    {
        Ok(Ok(acted)) => {
            savepoint.commit().await?;
            acted
        }
        Ok(Err(err)) => {
            savepoint.rollback().await?;
            record_failure(&txn, &actor, &timer, &err.message()).await?
        }
        Err(panic) => {
            let cause = crate::http::panic_message(panic.as_ref());
            tracing::error!(%cause, timer = %timer.id, "timer action panicked");
            savepoint.rollback().await?;
            record_failure(&txn, &actor, &timer, "internal error").await?
        }
    };
    actor
        .scope()
        .delete::<timer::Entity>()
        .filter(timer::Column::Id.eq(timer.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(acted.then_some(timer.tenant_id)))
}

/// Writes a failed timer onto its instance: a step and an event, so that the tenant sees it.
async fn record_failure(
    txn: &impl Conn,
    actor: &Principal,
    timer: &timer::Model,
    reason: &str,
) -> AppResult<bool> {
    tracing::warn!(timer = %timer.id, instance = %timer.instance_id, reason, "timer failed");
    let exists = actor
        .scope()
        .by_id::<instance::Entity>(timer.instance_id)
        .one(txn)
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    let what = timer.transition.as_deref().unwrap_or("sla breach");
    instances::write_step(
        txn,
        actor,
        timer.instance_id,
        "timer failed",
        Some(&timer.state),
        &timer.state,
        json!({ "timer": what, "error": reason }),
        json!({}),
    )
    .await?;
    records::append_event(
        txn,
        actor,
        Module::Processes,
        timer.instance_id,
        "timer_failed",
        &[],
    )
    .await?;
    Ok(true)
}

/// Does what the timer says; `false` when there was nothing left to do.
async fn act(txn: &impl Conn, actor: &Principal, timer: &timer::Model) -> AppResult<bool> {
    let scope = actor.scope();
    let Some(current) = scope
        .by_id::<instance::Entity>(timer.instance_id)
        .one(txn)
        .await?
    else {
        return Ok(false);
    };
    if current.status != ACTIVE || current.state != timer.state {
        return Ok(false);
    }
    if timer.sla_breach {
        let result = scope
            .update::<instance::Entity>()
            .col_expr(instance::Column::SlaBreached, true.into())
            .col_expr(
                instance::Column::Version,
                current.version.saturating_add(1).into(),
            )
            .col_expr(instance::Column::UpdatedAt, Utc::now().into())
            .filter(instance::Column::Id.eq(current.id))
            .filter(instance::Column::Version.eq(current.version))
            .exec(txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(instances::stale());
        }
        instances::write_step(
            txn,
            actor,
            current.id,
            "sla breach",
            Some(&current.state),
            &current.state,
            json!({}),
            json!({}),
        )
        .await?;
        records::append_event(
            txn,
            actor,
            Module::Processes,
            current.id,
            "sla_breached",
            &["slaBreached"],
        )
        .await?;
        return Ok(true);
    }
    let Some(name) = &timer.transition else {
        return Ok(false);
    };
    let body = published::body_by_id(txn, &scope, current.definition_id).await?;
    let transition = body
        .transition(name)
        .filter(|t| t.from.contains(&current.state))
        .ok_or_else(|| {
            AppError::internal("timer names a transition that does not leave its state")
        })?;
    instances::move_instance(
        txn,
        actor,
        &current,
        &body,
        transition,
        json!({ "timer": true }),
        Map::new(),
    )
    .await?;
    Ok(true)
}

/// Starts the timers of `state` for an instance that just entered it. Timers `at` a moment
/// read from the record or variables are skipped when that moment is missing.
pub(super) async fn schedule_timers(
    txn: &impl Conn,
    actor: &Principal,
    body: &Body,
    instance: &instance::Model,
    variables: &Value,
    state: &str,
) -> AppResult<()> {
    let scope = actor.scope();
    let now = Utc::now();
    let timers: Vec<_> = body.timers.iter().filter(|t| t.state == state).collect();
    let context = if timers.iter().any(|t| t.at.is_some()) {
        let record = record_json(txn, &scope, instance).await?;
        let settings = settings_json(txn, &scope).await?;
        Some(cel_context(
            &record,
            variables,
            &json!({}),
            actor,
            &settings,
        )?)
    } else {
        None
    };
    for timer in timers {
        let due_at = match (&timer.after, &timer.at, &context) {
            // Durations are bounded when published; a version published before the bound
            // existed is refused here rather than overflowing.
            (Some(after), _, _) => parse_duration(after)
                .and_then(|after| now.checked_add_signed(after))
                .ok_or_else(|| {
                    AppError::bad_input(
                        "definition",
                        format!("the timer of {state} has a duration out of range ({after})"),
                    )
                })?,
            (None, Some(moment), Some(context)) => {
                match evaluate(moment, context).ok().and_then(|v| moment_of(&v)) {
                    Some(due_at) => due_at,
                    None => continue,
                }
            }
            _ => continue,
        };
        timer::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            instance_id: Set(instance.id),
            state: Set(state.to_owned()),
            due_at: Set(due_at),
            transition: Set(timer.transition.clone()),
            sla_breach: Set(timer.sla_breach),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Stops every pending timer of an instance (it left the state, or ended).
pub(super) async fn clear_timers(
    txn: &impl Conn,
    scope: &TenantScope,
    instance_id: Uuid,
) -> AppResult<()> {
    scope
        .delete::<timer::Entity>()
        .filter(timer::Column::InstanceId.eq(instance_id))
        .exec(txn)
        .await?;
    Ok(())
}
