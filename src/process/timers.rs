//! The timer worker. Every replica runs one; each due timer is claimed by exactly one of them
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a single writer anyway) and acts in the
//! same transaction that deletes it, so it fires once, even across restarts.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::{Map, json};
use tokio::sync::watch;
use uuid::Uuid;

use entity::process::{definition, instance, timer};

use super::engine::{self, ACTIVE};
use crate::app::SharedApp;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::records;
use crate::tenancy::TenantScope;

const POLL: Duration = Duration::from_millis(500);
const BATCH: u64 = 50;

/// Runs until shutdown, firing due timers.
pub async fn run(app: SharedApp, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stopping| *stopping) => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match fire_due(&app).await {
            Ok(tenants) => {
                for tenant_id in tenants {
                    app.log_committed(&TenantScope::new(tenant_id)).await;
                }
            }
            Err(_) => tracing::warn!("timer worker: a round failed; retrying"),
        }
    }
}

/// Fires the timers that are due; returns the tenants whose logs changed.
async fn fire_due(app: &SharedApp) -> AppResult<Vec<Uuid>> {
    let txn = app.jobs_db.begin().await?;
    // The one query that spans tenants: the worker serves them all. Each timer then acts
    // strictly within its own tenant's scope.
    let mut due = timer::Entity::find()
        .filter(timer::Column::DueAt.lte(Utc::now()))
        .order_by_asc(timer::Column::DueAt)
        .limit(BATCH);
    if app.jobs_db.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let due = due.all(&txn).await?;
    let mut tenants = Vec::new();
    for timer in due {
        let actor = Principal::system(timer.tenant_id);
        // A timer whose action fails (the instance moved on, say) is dropped, not retried
        // forever; the savepoint keeps its half-done work out.
        let savepoint = txn.begin().await?;
        match act(&savepoint, &actor, &timer).await {
            Ok(true) => {
                savepoint.commit().await?;
                tenants.push(timer.tenant_id);
            }
            Ok(false) => savepoint.commit().await?,
            Err(_) => savepoint.rollback().await?,
        }
        actor
            .scope()
            .delete::<timer::Entity>()
            .filter(timer::Column::Id.eq(timer.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    tenants.dedup();
    Ok(tenants)
}

/// Does what the timer says; `false` when there was nothing left to do.
async fn act(
    txn: &impl ConnectionTrait,
    actor: &Principal,
    timer: &timer::Model,
) -> AppResult<bool> {
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
            .col_expr(instance::Column::Version, (current.version + 1).into())
            .col_expr(instance::Column::UpdatedAt, Utc::now().into())
            .filter(instance::Column::Id.eq(current.id))
            .filter(instance::Column::Version.eq(current.version))
            .exec(txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(engine::stale());
        }
        engine::write_step(
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
    let definition = scope
        .by_id::<definition::Entity>(current.definition_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    let body = engine::body_of(&definition)?;
    let transition = body
        .transition(name)
        .filter(|t| t.from.contains(&current.state))
        .ok_or_else(|| {
            AppError::internal("timer names a transition that does not leave its state")
        })?;
    engine::move_instance(
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
