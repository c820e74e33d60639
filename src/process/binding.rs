//! Processes bound to a module: each new record of the module starts one, the record's status
//! mirrors its state, and a direct status change is refused while it runs. The module tells
//! how through its [`Subject`](crate::modules::Subject); the engine knows no module.

use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde_json::{Map, json};
use uuid::Uuid;

use entity::process::{definition, instance};

use super::instances::{ACTIVE, COMPLETED, fire_in, stale, start_in, write_step};
use super::published::{body_by_id, body_of, latest};
use super::timers::clear_timers;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::news::RelatedRecord;
use crate::records;
use crate::tenancy::TenantScope;

/// The definition bound to `module`, if any: the latest version of the most recently
/// published key that binds it.
async fn bound_definition(
    txn: &impl Conn,
    scope: &TenantScope,
    module: Module,
) -> AppResult<Option<definition::Model>> {
    let Some(candidate) = scope
        .select::<definition::Entity>()
        .filter(definition::Column::BoundModule.eq(module.as_str()))
        .order_by_desc(definition::Column::PublishedAt)
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let current = latest(txn, scope, &candidate.key).await?;
    Ok(current.filter(|d| d.bound_module.as_deref() == Some(module.as_str())))
}

/// The state a new record of `module` starts in when a process is bound to the module.
pub async fn bound_initial_state(
    txn: &impl Conn,
    scope: &TenantScope,
    module: Module,
) -> AppResult<Option<String>> {
    Ok(match bound_definition(txn, scope, module).await? {
        Some(definition) => body_of(&definition)?.initial().map(|s| s.name.clone()),
        None => None,
    })
}

/// The error for a new record asking for a status its bound process does not start in.
pub fn starts_in(field: &str, initial: &str) -> AppError {
    AppError::bad_input(
        field,
        format!(
            "follows its process: new records start in '{initial}'; fire transitions to move on"
        ),
    )
}

/// Starts the bound process for a record just created, in the caller's transaction.
pub async fn start_for_record(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
) -> AppResult<()> {
    if let Some(definition) = bound_definition(txn, &actor.scope(), module).await? {
        let record = Some(RelatedRecord {
            module,
            id: record_id,
        });
        start_in(txn, actor, &definition, record, Map::new()).await?;
    }
    Ok(())
}

/// The active instances about one record.
fn active_instances_for(
    scope: &TenantScope,
    module: Module,
    record_id: Uuid,
) -> sea_orm::Select<instance::Entity> {
    scope
        .select::<instance::Entity>()
        .filter(instance::Column::RecordId.eq(record_id))
        .filter(instance::Column::RecordModule.eq(module.as_str()))
        .filter(instance::Column::Status.eq(ACTIVE))
}

/// Completes the active instances bound to a record whose work is done another way (a
/// converted lead), in the caller's transaction.
pub async fn complete_for_record(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
) -> AppResult<()> {
    let scope = actor.scope();
    let running = active_instances_for(&scope, module, record_id)
        .all(txn)
        .await?;
    let now = Utc::now();
    for instance in running {
        let result = scope
            .update::<instance::Entity>()
            .col_expr(instance::Column::Status, COMPLETED.into())
            .col_expr(instance::Column::EndedAt, Some(now).into())
            .col_expr(instance::Column::Version, (instance.version + 1).into())
            .col_expr(instance::Column::UpdatedAt, now.into())
            .filter(instance::Column::Id.eq(instance.id))
            .filter(instance::Column::Version.eq(instance.version))
            .exec(txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(stale());
        }
        clear_timers(txn, &scope, instance.id).await?;
        write_step(
            txn,
            actor,
            instance.id,
            "complete",
            Some(&instance.state),
            &instance.state,
            json!({}),
            json!({}),
        )
        .await?;
        records::append_event(
            txn,
            actor,
            Module::Processes,
            instance.id,
            COMPLETED,
            &["status"],
        )
        .await?;
    }
    Ok(())
}

/// Refuses a direct change of a record's status while a bound process runs it, naming the
/// transitions to use instead. `field` is the status input.
pub async fn refuse_direct_change(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
    field: &str,
) -> AppResult<()> {
    let scope = actor.scope();
    let Some(running) = active_instances_for(&scope, module, record_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let body = body_by_id(txn, &scope, running.definition_id).await?;
    if body.binding.as_deref() != Some(module.as_str()) {
        return Ok(());
    }
    let names: Vec<&str> = body
        .transitions
        .iter()
        .filter(|t| t.from.contains(&running.state))
        .map(|t| t.name.as_str())
        .collect();
    Err(AppError::bad_input(
        field,
        format!(
            "follows the process '{}'; fire one of its transitions instead: {}",
            running.definition_key,
            names.join(", ")
        ),
    ))
}

/// Moves the bound process of a record to `target` by the transition that leads there from
/// its current state, in the caller's transaction. `Ok(false)` when no bound process runs the
/// record, so the caller sets the status itself.
pub async fn advance_to(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
    target: &str,
) -> AppResult<bool> {
    let scope = actor.scope();
    let Some(running) = active_instances_for(&scope, module, record_id)
        .one(txn)
        .await?
    else {
        return Ok(false);
    };
    let body = body_by_id(txn, &scope, running.definition_id).await?;
    if body.binding.as_deref() != Some(module.as_str()) {
        return Ok(false);
    }
    let Some(transition) = body
        .transitions
        .iter()
        .find(|t| t.to == target && t.from.contains(&running.state))
    else {
        return Err(AppError::bad_input(
            "status",
            format!(
                "the process '{}' has no transition from '{}' to '{target}'",
                running.definition_key, running.state
            ),
        ));
    };
    Box::pin(fire_in(
        txn,
        actor,
        &running,
        &body,
        &transition.name,
        Map::new(),
    ))
    .await?;
    Ok(true)
}
