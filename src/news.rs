//! The news service: notes (memos on any record, or tenant-wide announcements) and comment
//! threads on any record. Seeing a note or comment needs read access to its record's module.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::news::comment;
use entity::news::note::{ActiveModel, Column, Entity, Model};

use crate::auth::{Principal, Role};
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::records;
use crate::validation::required_text;

crate::record!(entity::news::note, Module::Notes, |m| m.title.clone(),
    search: [Title, Body]);

/// Notes are plain records: no process drives them.
pub static DECLARATION: crate::records::Records<entity::news::note::Entity> =
    crate::records::Records::new();

/// What a note is attached to: a record, or nothing (an announcement).
#[derive(Clone, Copy, Debug)]
pub struct RelatedRecord {
    pub module: Module,
    pub id: Uuid,
}

fn related_of(note: &Model) -> Option<RelatedRecord> {
    Some(RelatedRecord {
        module: Module::parse(note.related_module.as_deref()?)?,
        id: note.related_id?,
    })
}

/// Announcements are for managers and admins to make.
fn require_announcer(actor: &Principal) -> AppResult<()> {
    if actor.has_role(Role::Admin) || actor.has_role(Role::Manager) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only managers and administrators make announcements".into(),
        ))
    }
}

/// Reading a note needs read access to its record's module.
fn require_readable(actor: &Principal, note: &Model) -> AppResult<()> {
    if let Some(related) = related_of(note) {
        actor.require(related.module, Access::Read)?;
    }
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    title: &str,
    body: &str,
    related: Option<RelatedRecord>,
) -> AppResult<Model> {
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = create_in(&txn, actor, title, body, related).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates a note inside the caller's transaction (process actions use it).
pub async fn create_in(
    txn: &impl Conn,
    actor: &Principal,
    title: &str,
    body: &str,
    related: Option<RelatedRecord>,
) -> AppResult<Model> {
    actor.require(Module::Notes, Access::Write)?;
    let title = required_text("title", title, 255)?;
    let body = required_text("body", body, 50_000)?;
    let scope = actor.scope();
    match related {
        Some(r) => {
            actor.require(r.module, Access::Read)?;
            records::require_related(txn, &scope, "relatedId", r.module, r.id).await?;
        }
        None => require_announcer(actor)?,
    }
    let now = Utc::now();
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        title: Set(title),
        body: Set(body),
        related_module: Set(related.map(|r| r.module.as_str().to_owned())),
        related_id: Set(related.map(|r| r.id)),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    records::insert::<Entity>(txn, actor, row).await
}

pub async fn get(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<Model> {
    actor.require(Module::Notes, Access::Read)?;
    let note = records::get::<Entity>(db, &actor.scope(), id).await?;
    require_readable(actor, &note)?;
    Ok(note)
}

/// Notes on one record, or the announcements when `related_id` is `None`; newest first.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Principal,
    related: Option<RelatedRecord>,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<Model>> {
    actor.require(Module::Notes, Access::Read)?;
    let select = records::live::<Entity>(&actor.scope());
    let select = match related {
        Some(r) => {
            actor.require(r.module, Access::Read)?;
            select.filter(Column::RelatedId.eq(r.id))
        }
        None => select.filter(Column::RelatedId.is_null()),
    };
    paginate(
        db,
        select,
        Some((Column::CreatedAt, sea_orm::Order::Desc)),
        args,
        limits,
    )
    .await
}

/// The author or an admin edits a note.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    title: Option<String>,
    body: Option<String>,
) -> AppResult<Model> {
    actor.require(Module::Notes, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = records::get::<Entity>(&txn, &scope, id).await?;
    require_readable(actor, &before)?;
    if before.owner_id != actor.user_id && !actor.has_role(Role::Admin) {
        return Err(AppError::Forbidden(
            "only the author or an administrator edits a note".into(),
        ));
    }
    let mut changes = <ActiveModel as Default>::default();
    if let Some(title) = title {
        changes.title = Set(required_text("title", &title, 255)?);
    }
    if let Some(body) = body {
        changes.body = Set(required_text("body", &body, 50_000)?);
    }
    let updated = records::update::<Entity>(&txn, actor, before, version, changes).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Adds a comment to a record, or a reply to another comment on the same record.
pub async fn add_comment(
    db: &DatabaseConnection,
    actor: &Principal,
    related: RelatedRecord,
    body: &str,
    reply_to: Option<Uuid>,
) -> AppResult<comment::Model> {
    actor.require(related.module, Access::Read)?;
    let body = required_text("body", body, 10_000)?;
    let scope = actor.scope();
    records::require_related(db, &scope, "recordId", related.module, related.id).await?;
    if let Some(parent) = reply_to {
        let on_same_record = scope
            .by_id::<comment::Entity>(parent)
            .filter(comment::Column::RelatedId.eq(related.id))
            .one(db)
            .await?
            .is_some();
        if !on_same_record {
            return Err(AppError::ReferenceNotFound {
                field: "replyTo".into(),
                what: "comment on this record",
            });
        }
    }
    Ok(comment::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        related_module: Set(related.module.as_str().to_owned()),
        related_id: Set(related.id),
        parent_id: Set(reply_to),
        body: Set(body),
        author_id: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// The comments on a record, oldest first.
pub async fn comments(
    db: &DatabaseConnection,
    actor: &Principal,
    related: RelatedRecord,
) -> AppResult<Vec<comment::Model>> {
    actor.require(related.module, Access::Read)?;
    Ok(actor
        .scope()
        .select::<comment::Entity>()
        .filter(comment::Column::RelatedId.eq(related.id))
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?)
}

/// The author or an admin removes a comment; its replies stay.
pub async fn delete_comment(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    let scope = actor.scope();
    let comment = scope
        .by_id::<comment::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    if comment.author_id != actor.user_id && !actor.has_role(Role::Admin) {
        return Err(AppError::Forbidden(
            "only the author or an administrator removes a comment".into(),
        ));
    }
    scope
        .delete::<comment::Entity>()
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
