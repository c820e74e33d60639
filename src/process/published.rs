//! Published process definitions: publishing the next version of a key (or every problem it
//! has), and reading the latest versions. Running instances keep the version they started with.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use serde_json::Value;
use uuid::Uuid;

use entity::process::definition;

use super::definition::{Body, Problem, subject_named, validate};
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::pagination::Slice;
use crate::permissions::Access;
use crate::picklists;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// Keys name definitions in the API: lower-case letters, digits, `-` and `_`.
fn check_key(key: &str) -> AppResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "key",
            "use 1 to 64 of a-z, 0-9, - and _",
        ))
    }
}

/// Publishes a new version of a definition, or returns every problem it has (and publishes
/// nothing). Running instances keep the version they started with.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    name: &str,
    body: Value,
) -> AppResult<Result<definition::Model, Vec<Problem>>> {
    actor.require_admin()?;
    check_key(key)?;
    let name = required_text("name", name, 200)?;
    let parsed = match validate(&body) {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(Err(problems)),
    };
    let scope = actor.scope();
    // A bound definition's states are values of the module's status picklist.
    if let Some(subject) = parsed.binding.as_deref().and_then(subject_named) {
        let picklist = subject.status().picklist;
        let mut problems = Vec::new();
        for (i, state) in parsed.states.iter().enumerate() {
            if picklists::check(db, &scope, picklist, "state", Some(&state.name))
                .await
                .is_err()
            {
                problems.push(Problem {
                    path: format!("states[{i}].name"),
                    message: format!("not a value of the {picklist} picklist"),
                });
            }
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
    }
    let txn = records::begin_write(db, &actor.scope()).await?;
    let version = latest(&txn, &scope, key)
        .await?
        .map_or(1, |d| d.version + 1);
    let published = definition::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        key: Set(key.to_owned()),
        version: Set(version),
        name: Set(name),
        body: Set(body),
        bound_module: Set(parsed.binding.clone()),
        published_by: Set(actor.user_id),
        published_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Ok(published))
}

pub(super) async fn latest(
    db: &impl Conn,
    scope: &TenantScope,
    key: &str,
) -> AppResult<Option<definition::Model>> {
    Ok(scope
        .select::<definition::Entity>()
        .filter(definition::Column::Key.eq(key))
        .order_by_desc(definition::Column::Version)
        .one(db)
        .await?)
}

/// The latest version of every definition of the tenant.
/// The latest version of each definition, by key, a slice at a time. Older versions stay in
/// the database: they are not read.
pub async fn definitions(
    db: &DatabaseConnection,
    actor: &Principal,
    slice: Slice,
) -> AppResult<Vec<definition::Model>> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let latest_versions = scope
        .select::<definition::Entity>()
        .select_only()
        .column(definition::Column::Key)
        .column_as(definition::Column::Version.max(), "version")
        .group_by(definition::Column::Key)
        .into_query();
    Ok(slice
        .apply(scope.select::<definition::Entity>())
        .filter(
            Expr::tuple([
                Expr::col(definition::Column::Key),
                Expr::col(definition::Column::Version),
            ])
            .in_subquery(latest_versions),
        )
        .order_by_asc(definition::Column::Key)
        .all(db)
        .await?)
}

pub async fn definition(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    version: Option<i32>,
) -> AppResult<definition::Model> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let found = match version {
        None => latest(db, &scope, key).await?,
        Some(v) => {
            scope
                .select::<definition::Entity>()
                .filter(definition::Column::Key.eq(key))
                .filter(definition::Column::Version.eq(v))
                .one(db)
                .await?
        }
    };
    found.ok_or(AppError::NotFound("process definition"))
}

pub(super) fn body_of(definition: &definition::Model) -> AppResult<Body> {
    serde_json::from_value(definition.body.clone()).map_err(AppError::internal)
}

/// Parsed bodies of published versions by tenant and id. A version never changes once
/// published (a new one is a new row), so nothing needs forgetting; the map is emptied when
/// it holds `BODIES_KEPT`, which bounds its memory.
static BODIES: LazyLock<Mutex<Bodies>> = LazyLock::new(Default::default);
type Bodies = HashMap<(Uuid, Uuid), Arc<Body>>;
const BODIES_KEPT: usize = 10_000;

/// The body of the version an instance runs: read and parsed once per process, not at every
/// transition.
pub(super) async fn body_by_id(
    db: &impl Conn,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<Arc<Body>> {
    fn bodies() -> MutexGuard<'static, Bodies> {
        // A panic while holding the lock cannot leave the map half-written: use it as it is.
        BODIES.lock().unwrap_or_else(|e| e.into_inner())
    }
    let key = (scope.tenant_id(), id);
    if let Some(body) = bodies().get(&key) {
        return Ok(body.clone());
    }
    let definition = scope
        .by_id::<definition::Entity>(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    let body = Arc::new(body_of(&definition)?);
    let mut kept = bodies();
    if kept.len() >= BODIES_KEPT {
        kept.clear();
    }
    kept.insert(key, body.clone());
    Ok(body)
}
