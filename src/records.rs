//! The life of a business record, the same for every module: numbered creation, versioned
//! updates, the recycle bin (soft delete, restore, purge) and the history of every change
//! (Vtiger's ModTracker). Business modules validate their input, then call these.

use std::future::Future;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction,
    DbBackend, IntoActiveModel, Order, QueryFilter, QueryOrder, Select, Value,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use entity::platform::{event_log, record_history, user};

use crate::auth::Principal;
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::export::{self, JsonFilter};
use crate::filters::ListFilter;
use crate::imports;
use crate::modules::{self, Declaration, Module, Subject};
use crate::money;
use crate::pagination::Slice;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::reports::sources::{self, Computed, Source};
use crate::search::{self, Hit};
use crate::sequences;
use crate::tenancy::{Identified, TenantScope};

/// A business record: versioned, soft-deletable, with a history. Implemented by [`record!`].
pub trait Record:
    Identified<
        Model: Serialize + IntoActiveModel<Self::ActiveModel> + Sync,
        ActiveModel: ActiveModelTrait<Entity = Self> + Send,
    >
{
    const MODULE: Module;
    /// The text columns global search looks in.
    const SEARCH: &'static [Self::Column];
    fn version_column() -> Self::Column;
    fn updated_at_column() -> Self::Column;
    fn deleted_at_column() -> Self::Column;
    fn version_of(model: &Self::Model) -> i32;
    fn deleted_at_of(model: &Self::Model) -> Option<DateTime<Utc>>;
    /// How the record is named in lists such as the recycle bin.
    fn label_of(model: &Self::Model) -> String;
    /// The record as process guards and webhooks see it (`record.…`): its fields in camelCase,
    /// amounts as numbers of the currency (not the stored 1/10 000 units).
    fn json_of(model: &Self::Model) -> serde_json::Value {
        amounts_as_numbers::<Self>(to_json(model))
    }
}

/// Declares an entity with the usual `id`, `tenant_id`, `version`, `updated_at` and
/// `deleted_at` columns as the records of a module: tenant-owned, versioned, in the recycle bin
/// when deleted, found by search in the listed columns.
///
/// `record!(entity::crm::account, Module::Accounts, |m| m.name.clone(), search: [Name, Email])`;
/// a trailing `json: path::to_fn` replaces how process guards see the record.
#[macro_export]
macro_rules! record {
    (
        $entity:path, $module:expr, |$model:ident| $label:expr,
        search: [$($column:ident),* $(,)?] $(, json: $json:path)? $(,)?
    ) => {
        const _: () = {
            use $entity as m;

            impl $crate::tenancy::TenantOwned for m::Entity {
                fn tenant_column() -> m::Column {
                    m::Column::TenantId
                }
            }

            impl $crate::tenancy::Identified for m::Entity {
                fn id_column() -> m::Column {
                    m::Column::Id
                }
                fn id_of(model: &m::Model) -> uuid::Uuid {
                    model.id
                }
            }

            impl $crate::records::Record for m::Entity {
                const MODULE: $crate::modules::Module = $module;
                const SEARCH: &'static [m::Column] = &[$(m::Column::$column),*];
                fn version_column() -> m::Column {
                    m::Column::Version
                }
                fn updated_at_column() -> m::Column {
                    m::Column::UpdatedAt
                }
                fn deleted_at_column() -> m::Column {
                    m::Column::DeletedAt
                }
                fn version_of(model: &m::Model) -> i32 {
                    model.version
                }
                fn deleted_at_of(model: &m::Model) -> Option<chrono::DateTime<chrono::Utc>> {
                    model.deleted_at
                }
                fn label_of($model: &m::Model) -> String {
                    $label
                }
                $(fn json_of(model: &m::Model) -> serde_json::Value {
                    $json(model)
                })?
            }
        };
    };
}

/// The declaration of a module whose records are one entity (see [`Declaration`]); a bound
/// process may drive them (`Records::driven_by`); exports take the list filter named by
/// `filtered_by`.
pub struct Records<E: sea_orm::EntityTrait> {
    subject: Option<&'static dyn Subject>,
    filter: Option<JsonFilter<E>>,
    import: Option<imports::Importer>,
    computed: &'static [Computed],
    parts: Option<fn() -> Vec<Source>>,
    entity: PhantomData<fn() -> E>,
}

impl<E: sea_orm::EntityTrait> Records<E> {
    pub const fn new() -> Self {
        Self {
            subject: None,
            filter: None,
            import: None,
            computed: &[],
            parts: None,
            entity: PhantomData,
        }
    }

    pub const fn driven_by(subject: &'static dyn Subject) -> Self {
        Self {
            subject: Some(subject),
            ..Self::new()
        }
    }

    /// Reports also offer these fields, computed from the record's columns.
    pub const fn computing(self, computed: &'static [Computed]) -> Self {
        Self { computed, ..self }
    }

    /// Reports also read these parts of the records (lines, payments).
    pub const fn with_parts(self, parts: fn() -> Vec<Source>) -> Self {
        Self {
            parts: Some(parts),
            ..self
        }
    }
}

impl<E: Record> Records<E> {
    /// Exports accept `F`, the module's list filter, in its GraphQL shape as JSON.
    pub const fn filtered_by<F>(self) -> Self
    where
        F: ListFilter<E> + async_graphql::InputType,
    {
        Self {
            filter: Some(export::json_filter::<E, F>),
            ..self
        }
    }

    /// Records of the module can be imported from CSV.
    pub const fn importable(self) -> Self
    where
        E: imports::Importable,
    {
        Self {
            import: Some(imports::importer::<E>),
            ..self
        }
    }
}

impl<E: sea_orm::EntityTrait> Default for Records<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Record> Declaration for Records<E>
where
    E::Model: Send,
{
    fn module(&self) -> Module {
        E::MODULE
    }

    fn load_json<'a>(
        &'a self,
        db: &'a DatabaseExecutor<'a>,
        scope: &'a TenantScope,
        id: Uuid,
    ) -> BoxFuture<'a, AppResult<Option<serde_json::Value>>> {
        Box::pin(find_json::<E>(db, scope, id))
    }

    fn search<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        text: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, AppResult<Vec<Hit>>> {
        Box::pin(search::search_in::<E>(db, actor, text, limit))
    }

    fn recycle_bin<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        args: &'a PageArgs,
        limits: &'a Limits,
    ) -> BoxFuture<'a, AppResult<Page<Recycled>>> {
        Box::pin(recycle_bin::<E>(db, actor, args, limits))
    }

    fn subject(&self) -> Option<&dyn Subject> {
        self.subject
    }

    fn report_sources(&self) -> Vec<Source> {
        let mut sources = vec![sources::source_of::<E>(
            E::MODULE.as_str(),
            E::MODULE,
            self.computed,
        )];
        sources.extend(self.parts.map(|parts| parts()).unwrap_or_default());
        sources
    }

    fn export_csv<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        filter: Option<&'a serde_json::Value>,
    ) -> BoxFuture<'a, AppResult<export::CsvStream>> {
        Box::pin(export::records_csv::<E>(db, actor, self.filter, filter))
    }

    fn import_csv<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        csv: &'a [u8],
        options: &'a imports::ImportOptions,
        progress: &'a dyn imports::Progress,
    ) -> BoxFuture<'a, AppResult<imports::ImportReport>> {
        match self.import {
            Some(import) => import(db, actor, csv, options, progress),
            None => Box::pin(async { Err(imports::not_importable(E::MODULE)) }),
        }
    }
}

/// The per-tenant counter that numbers the event log.
pub const EVENT_SEQUENCE: &str = "event_log";

/// Bookkeeping fields that history does not report.
const UNTRACKED: &[&str] = &[
    "id",
    "tenantId",
    "version",
    "createdAt",
    "updatedAt",
    "deletedAt",
    // Derived from the recurrence rule, which history shows.
    "recurrenceEndsAt",
];

/// The records of a module that are not in the recycle bin.
pub fn live<E: Record>(scope: &TenantScope) -> Select<E> {
    scope.select::<E>().filter(E::deleted_at_column().is_null())
}

/// The records of a module in the recycle bin.
pub fn recycled<E: Record>(scope: &TenantScope) -> Select<E> {
    scope
        .select::<E>()
        .filter(E::deleted_at_column().is_not_null())
}

/// A live record, or NOT_FOUND (also for another tenant's record).
pub async fn get<E: Record>(db: &impl Conn, scope: &TenantScope, id: Uuid) -> AppResult<E::Model> {
    find::<E>(db, scope, id)
        .await?
        .ok_or(AppError::NotFound(E::MODULE.record_name()))
}

/// A live record the caller may read: FORBIDDEN without read access to its module, NOT_FOUND
/// when the caller's tenant has none.
pub async fn read<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<E::Model> {
    actor.require(E::MODULE, Access::Read)?;
    get::<E>(db, &actor.scope(), id).await
}

/// A page of the live records the caller may read, filtered and sorted (then by id).
pub async fn list<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    filter: &impl ListFilter<E>,
    order: Option<(E::Column, Order)>,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<E::Model>> {
    actor.require(E::MODULE, Access::Read)?;
    let select = filter.apply(live::<E>(&actor.scope()), db.get_database_backend())?;
    paginate(db, select, order, args, limits).await
}

/// A live record, if the caller's tenant has it.
pub async fn find<E: Record>(
    db: &impl Conn,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<Option<E::Model>> {
    Ok(live::<E>(scope)
        .filter(E::id_column().eq(id))
        .one(db)
        .await?)
}

/// The record as process guards see it, if the caller's tenant has it live.
pub async fn find_json<E: Record>(
    db: &impl Conn,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<Option<serde_json::Value>> {
    Ok(find::<E>(db, scope, id).await?.as_ref().map(E::json_of))
}

/// Checks that a referenced record exists and is live; `field` names the input that refers to it.
pub async fn require_reference<E: Record>(
    db: &impl Conn,
    scope: &TenantScope,
    field: &str,
    id: Uuid,
) -> AppResult<E::Model> {
    get::<E>(db, scope, id).await.map_err(|err| match err {
        AppError::NotFound(what) => AppError::ReferenceNotFound {
            field: field.to_owned(),
            what,
        },
        other => other,
    })
}

/// The owner of a record must be an active user of the tenant.
pub async fn require_owner(db: &impl Conn, scope: &TenantScope, id: Uuid) -> AppResult<Uuid> {
    scope
        .by_id::<user::Entity>(id)
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| AppError::ReferenceNotFound {
            field: "ownerId".into(),
            what: "active user",
        })
}

/// Checks that a live record of `module` with `id` exists in the caller's tenant, for inputs
/// that may point at a record of any module (notes, comments, calendar entries, processes).
pub async fn require_related(
    db: &impl Conn,
    scope: &TenantScope,
    field: &str,
    module: Module,
    id: Uuid,
) -> AppResult<()> {
    load_related(db, scope, field, module, id).await.map(drop)
}

/// The record of any module as JSON (camelCase fields), as process guards see it.
pub async fn load_related(
    db: &impl Conn,
    scope: &TenantScope,
    field: &str,
    module: Module,
    id: Uuid,
) -> AppResult<serde_json::Value> {
    let db = db.executor();
    modules::declaration(module)?
        .load_json(&db, scope, id)
        .await?
        .ok_or_else(|| AppError::ReferenceNotFound {
            field: field.to_owned(),
            what: module.record_name(),
        })
}

/// Inserts a new record and writes its `created` history entry.
pub async fn insert<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    row: E::ActiveModel,
) -> AppResult<E::Model> {
    let created = row.insert(txn).await?;
    let changes = diff(&json!({}), &to_json(&created));
    write_history::<E>(txn, actor, E::id_of(&created), "created", changes).await?;
    Ok(created)
}

/// A module's input fields. The module validates them and sets them on a row; what happens
/// around that (rights, transaction, version check, history) is the same for every record.
pub trait Fields<E: Record>: Send + Sized {
    /// Validates the fields and sets them on `row`, inside the write's transaction. `before` is
    /// the record being updated, `None` on create.
    fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&E::Model>,
        row: &mut E::ActiveModel,
    ) -> impl Future<Output = AppResult<()>> + Send;
}

/// Changes a record the caller may write with the given fields, when `version` is still the
/// current one (CONFLICT otherwise).
pub async fn edit<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    fields: impl Fields<E>,
) -> AppResult<E::Model> {
    actor.require(E::MODULE, Access::Write)?;
    let txn = begin_write(db, &actor.scope()).await?;
    let before = get::<E>(&txn, &actor.scope(), id).await?;
    let updated = edit_in(&txn, actor, before, version, fields).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Changes `before` with the given fields inside the caller's transaction.
pub async fn edit_in<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    before: E::Model,
    version: i32,
    fields: impl Fields<E>,
) -> AppResult<E::Model> {
    let mut changes = E::ActiveModel::default();
    fields
        .apply(txn, actor, Some(&before), &mut changes)
        .await?;
    update::<E>(txn, actor, before, version, changes).await
}

/// Applies `changes` (only the fields that change are set) if `expected_version` is still
/// current, and records what changed. A stale version is a CONFLICT.
pub async fn update<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    before: E::Model,
    expected_version: i32,
    mut changes: E::ActiveModel,
) -> AppResult<E::Model> {
    let id = E::id_of(&before);
    if E::version_of(&before) != expected_version {
        return Err(stale(E::MODULE));
    }
    // A version no row has (i32::MAX included) was checked above; this cannot overflow.
    let next_version = expected_version
        .checked_add(1)
        .ok_or_else(|| stale(E::MODULE))?;
    changes.set(E::version_column(), Value::from(next_version));
    changes.set(E::updated_at_column(), Value::from(Utc::now()));
    let scope = actor.scope();
    // The version condition makes a concurrent update that committed first win, and this one
    // fail; RETURNING gives the row as it is now (for the history) in the same statement.
    let mut updated = scope
        .update::<E>()
        .set(changes)
        .filter(E::id_column().eq(id))
        .filter(E::version_column().eq(expected_version))
        .exec_with_returning(txn)
        .await?;
    let (Some(after), true) = (updated.pop(), updated.is_empty()) else {
        return Err(stale(E::MODULE));
    };
    let changed = diff(&to_json(&before), &to_json(&after));
    write_history::<E>(txn, actor, id, "updated", changed).await?;
    Ok(after)
}

/// Applies `changes` to a live record as it is now, with history: a change the server makes
/// itself (a process moving its status), not one a client made from a version it read.
pub async fn change<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    id: Uuid,
    changes: E::ActiveModel,
) -> AppResult<E::Model> {
    let before = get::<E>(txn, &actor.scope(), id).await?;
    let version = E::version_of(&before);
    update::<E>(txn, actor, before, version, changes).await
}

pub fn stale(module: Module) -> AppError {
    AppError::Conflict(format!(
        "the {} was changed by someone else since you read it; reload and retry",
        module.record_name()
    ))
}

/// Moves a record to the recycle bin.
pub async fn delete<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<()> {
    actor.require(E::MODULE, Access::Write)?;
    let scope = actor.scope();
    let txn = begin_write(db, &actor.scope()).await?;
    let record = get::<E>(&txn, &scope, id).await?;
    set_deleted::<E>(&txn, actor, &record, Some(Utc::now()), "deleted").await?;
    txn.commit().await?;
    Ok(())
}

/// An entry of the recycle bin.
pub struct Recycled {
    pub module: Module,
    pub id: Uuid,
    pub label: String,
    pub deleted_at: DateTime<Utc>,
}

/// What is in the recycle bin of a module, most recently deleted first.
pub async fn recycle_bin<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<Recycled>> {
    actor.require(E::MODULE, Access::Read)?;
    let order = Some((E::deleted_at_column(), sea_orm::Order::Desc));
    let page = paginate(db, recycled::<E>(&actor.scope()), order, args, limits).await?;
    Ok(page.map(|m| Recycled {
        module: E::MODULE,
        id: E::id_of(&m),
        label: E::label_of(&m),
        deleted_at: E::deleted_at_of(&m).unwrap_or_default(),
    }))
}

/// Takes a record out of the recycle bin.
pub async fn restore<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<E::Model> {
    actor.require(E::MODULE, Access::Write)?;
    let scope = actor.scope();
    let txn = begin_write(db, &actor.scope()).await?;
    let record = recycled::<E>(&scope)
        .filter(E::id_column().eq(id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound(E::MODULE.record_name()))?;
    set_deleted::<E>(&txn, actor, &record, None, "restored").await?;
    let restored = get::<E>(&txn, &scope, id).await?;
    txn.commit().await?;
    Ok(restored)
}

/// Removes a record from the recycle bin for good (admins only), in one transaction with what
/// hangs off it. Its history stays.
pub async fn purge<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<()> {
    let txn = crate::db::begin(db).await?;
    purge_in::<E>(&txn, actor, id).await?;
    txn.commit().await?;
    Ok(())
}

/// [`purge`] inside the caller's transaction. References by key are emptied or go along by
/// the database's keys; what refers to a record of any module goes here: its process
/// instances (their steps and timers with them), notes and comments are deleted, events and
/// tasks stay without the relation.
pub async fn purge_in<E: Record>(txn: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<()> {
    use entity::calendar::{event, task};
    use entity::news::{comment, note};
    use entity::process::instance;
    use sea_orm::sea_query::Expr;
    actor.require_admin()?;
    let scope = actor.scope();
    let result = scope
        .delete::<E>()
        .filter(E::id_column().eq(id))
        .filter(E::deleted_at_column().is_not_null())
        .exec(txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound(E::MODULE.record_name()));
    }
    let no_id = Expr::value(Option::<Uuid>::None);
    let no_module = Expr::value(Option::<String>::None);
    scope
        .delete::<instance::Entity>()
        .filter(instance::Column::RecordId.eq(id))
        .exec(txn)
        .await?;
    scope
        .delete::<note::Entity>()
        .filter(note::Column::RelatedId.eq(id))
        .exec(txn)
        .await?;
    scope
        .delete::<comment::Entity>()
        .filter(comment::Column::RelatedId.eq(id))
        .exec(txn)
        .await?;
    scope
        .update::<event::Entity>()
        .col_expr(event::Column::RelatedModule, no_module.clone())
        .col_expr(event::Column::RelatedId, no_id.clone())
        .filter(event::Column::RelatedId.eq(id))
        .exec(txn)
        .await?;
    scope
        .update::<task::Entity>()
        .col_expr(task::Column::RelatedModule, no_module)
        .col_expr(task::Column::RelatedId, no_id)
        .filter(task::Column::RelatedId.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn set_deleted<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    record: &E::Model,
    deleted_at: Option<DateTime<Utc>>,
    action: &str,
) -> AppResult<()> {
    let id = E::id_of(record);
    let version = E::version_of(record);
    let result = actor
        .scope()
        .update::<E>()
        .col_expr(E::deleted_at_column(), deleted_at.into())
        .col_expr(E::version_column(), (version + 1).into())
        .col_expr(E::updated_at_column(), Utc::now().into())
        .filter(E::id_column().eq(id))
        .filter(E::version_column().eq(version))
        .exec(txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale(E::MODULE));
    }
    write_history::<E>(txn, actor, id, action, Vec::new()).await
}

/// One field's change, as history reports it.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

/// Replaces the amounts of a record's JSON (its `BIGINT` columns, kept in 1/10 000 units) by
/// numbers of the currency, as GraphQL shows them.
pub fn amounts_as_numbers<E: sea_orm::EntityTrait>(
    mut json: serde_json::Value,
) -> serde_json::Value {
    use sea_orm::{IdenStatic, Iterable};
    if let Some(fields) = json.as_object_mut() {
        for column in E::Column::iter().filter(is_amount) {
            let key = search::camel_case(column.as_str());
            if let Some(units) = fields.get(&key).and_then(serde_json::Value::as_i64) {
                fields.insert(key, money::to_number(units));
            }
        }
    }
    json
}

/// Whether a column holds an amount (or a quantity): records keep those, and only those, as
/// `BIGINT` columns of 1/10 000 units.
pub fn is_amount(column: &impl ColumnTrait) -> bool {
    matches!(
        column.def().get_column_type(),
        sea_orm::ColumnType::BigInteger
    )
}

pub fn to_json(model: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(model).unwrap_or_default()
}

/// The tracked fields whose values differ between two JSON objects.
pub fn diff(before: &serde_json::Value, after: &serde_json::Value) -> Vec<FieldChange> {
    let Some(after) = after.as_object() else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(field, _)| !UNTRACKED.contains(&field.as_str()))
        .filter_map(|(field, new)| {
            let old = before
                .get(field)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            (old != *new).then(|| FieldChange {
                field: field.clone(),
                old,
                new: new.clone(),
            })
        })
        .collect()
}

/// Writes the history entry and appends the change to the event log, in the caller's
/// transaction.
async fn write_history<E: Record>(
    txn: &impl Conn,
    actor: &Principal,
    record_id: Uuid,
    action: &str,
    changes: Vec<FieldChange>,
) -> AppResult<()> {
    use sea_orm::ActiveValue::Set;
    let scope = actor.scope();
    let changed_fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    let at = append_event(txn, actor, E::MODULE, record_id, action, &changed_fields).await?;
    record_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        module: Set(E::MODULE.as_str().to_owned()),
        record_id: Set(record_id),
        action: Set(action.to_owned()),
        actor_id: Set(actor.user_id),
        at: Set(at),
        changes: Set(serde_json::to_value(changes).unwrap_or_default()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Begins a write transaction of the tenant and takes the tenant's event-log lock first.
/// Every write ends by appending to the log, which locks the tenant's sequence; taking that
/// lock at the start gives all writers one lock order, so that two transactions can never hold
/// each other's rows (a deadlock). SQLite has a single writer and needs no lock.
pub async fn begin_write(
    db: &DatabaseConnection,
    scope: &TenantScope,
) -> AppResult<DatabaseTransaction> {
    let txn = crate::db::begin(db).await?;
    lock_event_log(&txn, scope).await?;
    Ok(txn)
}

/// Takes the tenant's event-log lock in a transaction begun before the tenant was known.
pub async fn lock_event_log(txn: &impl Conn, scope: &TenantScope) -> AppResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        sequences::lock(txn, scope, EVENT_SEQUENCE).await?;
    }
    Ok(())
}

/// Appends a change to the tenant's event log, in the caller's transaction, under the next
/// sequence number. Returns the time it stamped.
pub async fn append_event(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
    action: &str,
    changed_fields: &[&str],
) -> AppResult<DateTime<Utc>> {
    let entry = LogEntry {
        actor_id: actor.user_id,
        kind: module.as_str(),
        record_id,
        action,
        changed_fields,
    };
    append_log(txn, &actor.scope(), entry).await
}

/// Appends an event of the platform itself (`kind` is not a business module, e.g. `webhooks`),
/// made by the system, in the caller's transaction.
pub async fn append_platform_event(
    txn: &impl Conn,
    scope: &TenantScope,
    kind: &str,
    record_id: Uuid,
    action: &str,
    changed_fields: &[&str],
) -> AppResult<DateTime<Utc>> {
    let entry = LogEntry {
        actor_id: Uuid::nil(),
        kind,
        record_id,
        action,
        changed_fields,
    };
    append_log(txn, scope, entry).await
}

struct LogEntry<'a> {
    actor_id: Uuid,
    kind: &'a str,
    record_id: Uuid,
    action: &'a str,
    changed_fields: &'a [&'a str],
}

/// On PostgreSQL one round trip takes the next sequence, writes the entry and queues the
/// notice that wakes every replica's subscribers (this one's too) when the transaction commits;
/// PostgreSQL sends one notice per transaction however many entries it writes.
const APPEND_ON_POSTGRES: &str = "\
    WITH next AS (\
      INSERT INTO sequences (tenant_id, name, last_value) VALUES ($1, $2, 1) \
      ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = sequences.last_value + 1 \
      RETURNING last_value), \
    notice AS (SELECT pg_notify($3, $4)) \
    INSERT INTO event_log \
      (tenant_id, sequence, id, module, record_id, action, actor_id, at, changed_fields) \
    SELECT $1, next.last_value, $5, $6, $7, $8, $9, $10, $11 FROM next, notice";

async fn append_log(
    txn: &impl Conn,
    scope: &TenantScope,
    entry: LogEntry<'_>,
) -> AppResult<DateTime<Utc>> {
    use sea_orm::ActiveValue::Set;
    let at = Utc::now();
    if txn.get_database_backend() == DbBackend::Postgres {
        let tenant_id = scope.tenant_id();
        let values: [Value; 11] = [
            tenant_id.into(),
            EVENT_SEQUENCE.into(),
            crate::events::CHANNEL.into(),
            tenant_id.to_string().into(),
            Uuid::now_v7().into(),
            entry.kind.into(),
            entry.record_id.into(),
            entry.action.into(),
            entry.actor_id.into(),
            at.into(),
            json!(entry.changed_fields).into(),
        ];
        let statement = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            APPEND_ON_POSTGRES,
            values,
        );
        txn.execute_raw(statement).await?;
        return Ok(at);
    }
    event_log::ActiveModel {
        tenant_id: scope.owner(),
        sequence: Set(sequences::next_value(txn, scope, EVENT_SEQUENCE).await?),
        id: Set(Uuid::now_v7()),
        module: Set(entry.kind.to_owned()),
        record_id: Set(entry.record_id),
        action: Set(entry.action.to_owned()),
        actor_id: Set(entry.actor_id),
        at: Set(at),
        changed_fields: Set(serde_json::json!(entry.changed_fields)),
    }
    .insert(txn)
    .await?;
    Ok(at)
}

/// The changes of one record, oldest first, a slice at a time. Reading them needs read access
/// to the module.
pub async fn history(
    db: &DatabaseConnection,
    actor: &Principal,
    record_id: Uuid,
    slice: Slice,
) -> AppResult<Vec<record_history::Model>> {
    let entries = slice
        .apply(actor.scope().select::<record_history::Entity>())
        .filter(record_history::Column::RecordId.eq(record_id))
        .order_by_asc(record_history::Column::At)
        .order_by_asc(record_history::Column::Id)
        .all(db)
        .await?;
    if let Some(module) = entries.first().and_then(|e| Module::parse(&e.module)) {
        actor.require(module, Access::Read)?;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_reports_changed_tracked_fields_only() {
        let before = json!({ "name": "Acme", "phone": null, "version": 1, "city": "Bandung" });
        let after =
            json!({ "name": "Acme Corp", "phone": "+62 22 1234", "version": 2, "city": "Bandung" });
        assert_eq!(
            diff(&before, &after),
            vec![
                FieldChange {
                    field: "name".into(),
                    old: json!("Acme"),
                    new: json!("Acme Corp")
                },
                FieldChange {
                    field: "phone".into(),
                    old: json!(null),
                    new: json!("+62 22 1234")
                },
            ]
        );
    }
}
