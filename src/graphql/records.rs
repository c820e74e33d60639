//! What every module shares: history, picklists and the permission matrix.

use async_graphql::{
    Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use entity::platform::{custom_field, picklist_value, record_history, user};

use crate::custom_fields::{self, Kind, NewField};
use crate::error::AppError;
use crate::modules::{self, Module};
use crate::pagination::Slice;
use crate::permissions::{self, Grant};
use crate::records::{self, FieldChange};
use crate::validation::Patch;
use crate::{picklists, search};

use super::loaders::ById;
use super::pagination::{Connected, connection, page_args};
use super::platform::{RoleValue, User};
use super::{ContextExt, parse_id};

/// One change of a record: who, when, and each field's old and new value.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct HistoryEntry {
    pub id: ID,
    pub record_id: ID,
    /// CREATED, UPDATED, DELETED or RESTORED, in lower case.
    pub action: String,
    pub at: DateTime<Utc>,
    pub changes: Vec<FieldChangeValue>,
    #[graphql(skip)]
    actor_id: uuid::Uuid,
}

#[async_graphql::ComplexObject]
impl HistoryEntry {
    /// Who made the change.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let loader = ctx.loader::<super::loaders::ById<entity::platform::user::Entity>>()?;
        Ok(loader.load_one(self.actor_id).await?.map(User::from))
    }
}

#[derive(SimpleObject)]
#[graphql(name = "FieldChange")]
pub struct FieldChangeValue {
    pub field: String,
    pub old: Json<serde_json::Value>,
    pub new: Json<serde_json::Value>,
}

impl From<record_history::Model> for HistoryEntry {
    fn from(entry: record_history::Model) -> Self {
        let changes: Vec<FieldChange> = serde_json::from_value(entry.changes).unwrap_or_default();
        Self {
            id: ID(entry.id.to_string()),
            record_id: ID(entry.record_id.to_string()),
            action: entry.action,
            at: entry.at,
            actor_id: entry.actor_id,
            changes: changes
                .into_iter()
                .map(|c| FieldChangeValue {
                    field: c.field,
                    old: Json(c.old),
                    new: Json(c.new),
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct PicklistValue {
    pub id: ID,
    pub picklist: String,
    pub value: String,
    pub position: i32,
    /// Retired values stay on old records but cannot be chosen.
    pub active: bool,
}

impl From<picklist_value::Model> for PicklistValue {
    fn from(v: picklist_value::Model) -> Self {
        Self {
            id: ID(v.id.to_string()),
            picklist: v.picklist,
            value: v.value,
            position: v.position,
            active: v.active,
        }
    }
}

/// What one role may do in one module.
#[derive(SimpleObject)]
pub struct Permission {
    pub role: RoleValue,
    pub module: Module,
    pub read: bool,
    pub write: bool,
}

impl From<Grant> for Permission {
    fn from(g: Grant) -> Self {
        Self {
            role: g.role.into(),
            module: g.module,
            read: g.read,
            write: g.write,
        }
    }
}

/// A record found by `search`.
#[derive(SimpleObject)]
pub struct SearchHit {
    pub module: Module,
    pub id: ID,
    /// The record's name as lists show it.
    pub label: String,
    /// 100 exact, 50 word prefix, 10 substring.
    pub score: i32,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CustomFieldKind {
    Text,
    Number,
    /// Exact; values travel as strings.
    Decimal,
    /// YYYY-MM-DD.
    Date,
    Boolean,
    /// One of `options`.
    Picklist,
}

impl From<CustomFieldKind> for Kind {
    fn from(k: CustomFieldKind) -> Self {
        match k {
            CustomFieldKind::Text => Kind::Text,
            CustomFieldKind::Number => Kind::Number,
            CustomFieldKind::Decimal => Kind::Decimal,
            CustomFieldKind::Date => Kind::Date,
            CustomFieldKind::Boolean => Kind::Boolean,
            CustomFieldKind::Picklist => Kind::Picklist,
        }
    }
}

impl From<Kind> for CustomFieldKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Text => CustomFieldKind::Text,
            Kind::Number => CustomFieldKind::Number,
            Kind::Decimal => CustomFieldKind::Decimal,
            Kind::Date => CustomFieldKind::Date,
            Kind::Boolean => CustomFieldKind::Boolean,
            Kind::Picklist => CustomFieldKind::Picklist,
        }
    }
}

/// A field an admin added to a module; records carry its value in `customFields.<name>`.
#[derive(SimpleObject)]
pub struct CustomField {
    pub id: ID,
    pub module: Module,
    pub name: String,
    pub label: String,
    pub kind: CustomFieldKind,
    pub options: Vec<String>,
    pub required: bool,
    pub position: i32,
    /// Retired fields keep their values but take no new ones.
    pub active: bool,
}

impl From<custom_field::Model> for CustomField {
    fn from(f: custom_field::Model) -> Self {
        Self {
            id: ID(f.id.to_string()),
            module: Module::parse(&f.module).unwrap_or(Module::Accounts),
            kind: Kind::parse(&f.kind).unwrap_or(Kind::Text).into(),
            options: f
                .options
                .as_array()
                .map(|o| {
                    o.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            name: f.name,
            label: f.label,
            required: f.required,
            position: f.position,
            active: f.active,
        }
    }
}

#[derive(InputObject)]
pub struct DefineCustomFieldInput {
    pub module: Module,
    /// The key in `customFields`: a letter, then letters, digits or `_`.
    pub name: String,
    pub label: String,
    pub kind: CustomFieldKind,
    /// The allowed values of a PICKLIST field.
    #[graphql(default)]
    pub options: Vec<String>,
    #[graphql(default)]
    pub required: bool,
}

/// A record in the recycle bin.
#[derive(SimpleObject)]
pub struct DeletedRecord {
    pub module: Module,
    pub id: ID,
    pub label: String,
    pub deleted_at: DateTime<Utc>,
}

impl From<records::Recycled> for DeletedRecord {
    fn from(r: records::Recycled) -> Self {
        Self {
            module: r.module,
            id: ID(r.id.to_string()),
            label: r.label,
            deleted_at: r.deleted_at,
        }
    }
}

#[derive(Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// Every change of a record, oldest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        record_id: ID,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<HistoryEntry>> {
        let principal = ctx.principal()?;
        let id = parse_id("recordId", &record_id)?;
        let app = ctx.app();
        let slice = Slice::new(limit, offset, &app.limits)?;
        let entries = records::history(&app.db, principal, id, slice).await?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// The values of a picklist (industry, accountType, leadSource) in display order.
    async fn picklist(&self, ctx: &Context<'_>, name: String) -> Result<Vec<PicklistValue>> {
        let scope = ctx.principal()?.scope();
        let values = picklists::values(&ctx.app().db, &scope, &name).await?;
        Ok(values.into_iter().map(Into::into).collect())
    }

    /// Records of the caller's tenant whose name, e-mail, phone or number contains `text`,
    /// best matches first. Modules the caller may not read are skipped.
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        modules: Option<Vec<Module>>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<SearchHit>> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let modules = modules.map(|m| m.into_iter().collect());
        let hits = search::search(
            &app.db,
            principal,
            &text,
            modules,
            first,
            app.limits.max_page_size,
        )
        .await?;
        Ok(hits
            .into_iter()
            .map(|h| SearchHit {
                module: h.module,
                id: ID(h.id.to_string()),
                label: h.label,
                score: h.score,
            })
            .collect())
    }

    /// The custom fields of a module, in display order.
    async fn custom_fields(&self, ctx: &Context<'_>, module: Module) -> Result<Vec<CustomField>> {
        let scope = ctx.principal()?.scope();
        let fields = custom_fields::definitions(&ctx.app().db, &scope, module).await?;
        Ok(fields.into_iter().map(Into::into).collect())
    }

    /// The recycle bin of a module, most recently deleted first (for CALENDAR: its events).
    /// Restore with `restoreX`; admins empty it with `purgeX`.
    async fn recycle_bin(
        &self,
        ctx: &Context<'_>,
        module: Module,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<DeletedRecord>> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let args = page_args(first, after, None, None);
        let (db, limits) = (&app.db, &app.limits);
        let declaration = modules::declaration(module)?;
        let page = declaration
            .recycle_bin(db, principal, &args, limits)
            .await?;
        Ok(connection(page, DeletedRecord::from))
    }

    /// The role × module matrix of the caller's tenant.
    async fn permissions(&self, ctx: &Context<'_>) -> Result<Vec<Permission>> {
        let scope = ctx.principal()?.scope();
        let grants = permissions::matrix(&ctx.app().db, &scope).await?;
        Ok(grants.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct RecordsMutation;

#[Object]
impl RecordsMutation {
    /// Adds a value at the end of a picklist (admins only).
    async fn add_picklist_value(
        &self,
        ctx: &Context<'_>,
        picklist: String,
        value: String,
    ) -> Result<PicklistValue> {
        let principal = ctx.principal()?;
        Ok(picklists::add(&ctx.app().db, principal, &picklist, &value)
            .await?
            .into())
    }

    /// Renames a picklist value; records keep the text they were saved with (admins only).
    async fn rename_picklist_value(
        &self,
        ctx: &Context<'_>,
        id: ID,
        value: String,
    ) -> Result<PicklistValue> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        Ok(picklists::rename(&ctx.app().db, principal, id, &value)
            .await?
            .into())
    }

    /// Retires a value (`active: false`) or brings it back (admins only).
    async fn set_picklist_value_active(
        &self,
        ctx: &Context<'_>,
        id: ID,
        active: bool,
    ) -> Result<PicklistValue> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        Ok(picklists::set_active(&ctx.app().db, principal, id, active)
            .await?
            .into())
    }

    /// Puts a picklist's values in the given order; name each value once (admins only).
    async fn reorder_picklist(
        &self,
        ctx: &Context<'_>,
        picklist: String,
        ids: Vec<ID>,
    ) -> Result<Vec<PicklistValue>> {
        let principal = ctx.principal()?;
        let ids = ids
            .iter()
            .map(|id| parse_id("ids", id))
            .collect::<Result<Vec<_>, _>>()?;
        let values = picklists::reorder(&ctx.app().db, principal, &picklist, &ids).await?;
        Ok(values.into_iter().map(Into::into).collect())
    }

    /// Adds a field to a module of the caller's tenant (admins only).
    async fn define_custom_field(
        &self,
        ctx: &Context<'_>,
        input: DefineCustomFieldInput,
    ) -> Result<CustomField> {
        let new = NewField {
            module: input.module,
            name: input.name,
            label: input.label,
            kind: input.kind.into(),
            options: input.options,
            required: input.required,
        };
        Ok(custom_fields::define(&ctx.app().db, ctx.principal()?, new)
            .await?
            .into())
    }

    /// Retires a custom field (`active: false`) or brings it back (admins only).
    async fn set_custom_field_active(
        &self,
        ctx: &Context<'_>,
        id: ID,
        active: bool,
    ) -> Result<CustomField> {
        let id = parse_id("id", &id)?;
        Ok(
            custom_fields::set_active(&ctx.app().db, ctx.principal()?, id, active)
                .await?
                .into(),
        )
    }

    /// Sets what a role may do in a module of the caller's tenant (admins only).
    async fn set_permission(
        &self,
        ctx: &Context<'_>,
        role: RoleValue,
        module: Module,
        read: bool,
        write: bool,
    ) -> Result<Permission> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let grant = permissions::set(&app.db, principal, role.into(), module, read, write).await?;
        // Requests read the matrix from a cache: this tenant's must be read again everywhere.
        app.matrix_changed(&principal.scope()).await;
        Ok(grant.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Fields every record type shares

pub(crate) fn id(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

pub(crate) fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    value.into()
}

pub(crate) fn patch_id(field: &str, value: MaybeUndefined<ID>) -> Result<Patch<Uuid>, AppError> {
    patch(value)
        .map(|v| v.map(|id| parse_id(field, &id)).transpose())
        .transpose()
}

pub(crate) fn optional_id(field: &str, value: Option<ID>) -> Result<Option<Uuid>, AppError> {
    value.map(|id| parse_id(field, &id)).transpose()
}

pub(crate) async fn owner(ctx: &Context<'_>, owner_id: Uuid) -> Result<Option<User>> {
    let loader = ctx.loader::<ById<user::Entity>>()?;
    Ok(loader.load_one(owner_id).await?.map(User::from))
}

pub(crate) async fn history(
    ctx: &Context<'_>,
    record_id: Uuid,
    limit: Option<i32>,
    offset: Option<i32>,
) -> Result<Vec<HistoryEntry>> {
    let app = ctx.app();
    let slice = Slice::new(limit, offset, &app.limits)?;
    let entries = records::history(&app.db, ctx.principal()?, record_id, slice).await?;
    Ok(entries.into_iter().map(Into::into).collect())
}

/// Writes a record type's `#[ComplexObject]` impl: the relations every record shares, then the
/// type's own. `id` and `owner` name the fields of `self` that hold the record's id and its
/// owner's; `activities` adds its events, tasks, notes and comments.
///
/// `record_object!(Account, id: model.id, owner: model.owner_id, activities { async fn … })`
macro_rules! record_object {
    ($ty:ty, id: $($id:ident).+, owner: $($owner:ident).+, activities { $($body:tt)* }) => {
        $crate::graphql::records::record_object!($ty, id: $($id).+, owner: $($owner).+ {
            /// Calendar events about this record, by start.
            async fn events(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::calendar::Event>> {
                $crate::graphql::calendar::events_of(ctx, self.$($id).+).await
            }

            /// Tasks about this record, by due date.
            async fn tasks(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::calendar::Task>> {
                $crate::graphql::calendar::tasks_of(ctx, self.$($id).+).await
            }

            /// Memos about this record, oldest first.
            async fn notes(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::news::Note>> {
                $crate::graphql::news::notes_of(ctx, self.$($id).+).await
            }

            /// The comment thread on this record, oldest first.
            async fn comments(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Vec<$crate::graphql::news::Comment>> {
                $crate::graphql::news::comments_of(ctx, self.$($id).+).await
            }

            $($body)*
        });
    };
    ($ty:ty, id: $($id:ident).+, owner: $($owner:ident).+ { $($body:tt)* }) => {
        $crate::graphql::records::record_object!($ty, id: $($id).+ {
            /// The user responsible for the record.
            async fn owner(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<Option<$crate::graphql::platform::User>> {
                $crate::graphql::records::owner(ctx, self.$($owner).+).await
            }

            $($body)*
        });
    };
    ($ty:ty, id: $($id:ident).+ { $($body:tt)* }) => {
        #[async_graphql::ComplexObject]
        impl $ty {
            /// Every change of this record, oldest first.
            async fn history(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "At most this many (default and most: the largest page size).")]
                limit: Option<i32>,
                #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
            ) -> async_graphql::Result<Vec<$crate::graphql::records::HistoryEntry>> {
                $crate::graphql::records::history(ctx, self.$($id).+, limit, offset).await
            }

            $($body)*
        }
    };
}
pub(crate) use record_object;

/// Writes a module's mutation object: its own mutations, then the recycle-bin ones of each
/// record type it lists (`deleteX` moves a record to the bin, `restoreX` takes it out,
/// `purgeX` removes it for good, admins only).
///
/// `record_mutations!(AccountMutation { account::Entity => Account, "an account":
/// delete_account, restore_account, purge_account; } { async fn create_account … })`
macro_rules! record_mutations {
    (
        $mutation:ty {
            $($entity:ty => $object:ty, $what:literal: $delete:ident, $restore:ident, $purge:ident;)+
        } { $($body:tt)* }
    ) => {
        #[async_graphql::Object]
        impl $mutation {
            $($body)*

            $(
                #[doc = concat!("Moves ", $what, " to the recycle bin.")]
                async fn $delete(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    id: async_graphql::ID,
                ) -> async_graphql::Result<bool> {
                    use $crate::graphql::ContextExt;
                    let id = $crate::graphql::parse_id("id", &id)?;
                    $crate::records::delete::<$entity>(&ctx.app().db, ctx.principal()?, id).await?;
                    Ok(true)
                }

                #[doc = concat!("Takes ", $what, " out of the recycle bin.")]
                async fn $restore(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    id: async_graphql::ID,
                ) -> async_graphql::Result<$object> {
                    use $crate::graphql::ContextExt;
                    let id = $crate::graphql::parse_id("id", &id)?;
                    let db = &ctx.app().db;
                    let restored = $crate::records::restore::<$entity>(db, ctx.principal()?, id);
                    Ok(restored.await?.into())
                }

                #[doc = concat!("Removes ", $what, " from the recycle bin for good (admins only).")]
                async fn $purge(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    id: async_graphql::ID,
                ) -> async_graphql::Result<bool> {
                    use $crate::graphql::ContextExt;
                    let id = $crate::graphql::parse_id("id", &id)?;
                    $crate::records::purge::<$entity>(&ctx.app().db, ctx.principal()?, id).await?;
                    Ok(true)
                }
            )+
        }
    };
}
pub(crate) use record_mutations;

/// Writes a module's query object: one record by id, and the records matching a filter, in
/// an order, a Relay page at a time, through `records::read` and `records::list` (which check
/// the caller's read right) with the module's own filter and order.
///
/// `record_queries!(AccountQuery: account, accounts -> Account, account::Entity, AccountFilter,
/// AccountOrderBy, "An account", "Accounts")`
macro_rules! record_queries {
    (
        $query:ident: $one:ident, $many:ident -> $object:ident,
        $entity:ty, $filter:ty, $order:ty, $single:literal, $plural:literal
    ) => {
        #[derive(Default)]
        pub struct $query;

        #[async_graphql::Object]
        impl $query {
            #[doc = concat!($single, " by id; NOT_FOUND when the caller's tenant has none.")]
            async fn $one(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> async_graphql::Result<$object> {
                use $crate::graphql::ContextExt;
                let id = $crate::graphql::parse_id("id", &id)?;
                let record = $crate::records::read::<$entity>(&ctx.app().db, ctx.principal()?, id);
                Ok(record.await?.into())
            }

            #[doc = concat!($plural, " matching every given filter condition.")]
            #[allow(clippy::too_many_arguments)]
            async fn $many(
                &self,
                ctx: &async_graphql::Context<'_>,
                filter: Option<$filter>,
                order_by: Option<$order>,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
            ) -> async_graphql::Result<$crate::graphql::pagination::Connected<$object>> {
                use $crate::filters::Sorting;
                use $crate::graphql::ContextExt;
                let principal = ctx.principal()?;
                let app = ctx.app();
                let filter = filter.unwrap_or_default();
                let order = order_by.as_ref().map(Sorting::sorting);
                let args = $crate::graphql::pagination::page_args(first, after, last, before);
                let page = $crate::records::list::<$entity>(
                    &app.db,
                    principal,
                    &filter,
                    order,
                    &args,
                    &app.limits,
                );
                Ok($crate::graphql::pagination::connection(
                    page.await?,
                    <$object>::from,
                ))
            }
        }
    };
}
pub(crate) use record_queries;
