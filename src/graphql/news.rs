//! Notes, announcements and comments.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use entity::news::{comment, note};

use crate::error::AppError;
use crate::modules::Module;
use crate::news::{self, RelatedRecord};

use super::loaders::{Children, CommentsOfRecord, NotesOfRecord};
use super::pagination::{Connected, connection, page_args};
use super::platform::User;
use super::{ContextExt, parse_id};
use crate::graphql::records::{id, owner, record_mutations, record_object};

fn related(module: Module, id: &ID, field: &str) -> Result<RelatedRecord, AppError> {
    Ok(RelatedRecord {
        module,
        id: parse_id(field, id)?,
    })
}

/// A memo on a record, or an announcement to the whole tenant.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Note {
    pub id: ID,
    pub title: String,
    pub body: String,
    /// The module of the record it is about; null for announcements.
    pub related_module: Option<Module>,
    pub related_id: Option<ID>,
    pub owner_id: ID,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: note::Model,
}

impl From<note::Model> for Note {
    fn from(m: note::Model) -> Self {
        Self {
            id: id(m.id),
            title: m.title.clone(),
            body: m.body.clone(),
            related_module: m.related_module.as_deref().and_then(Module::parse),
            related_id: m.related_id.map(id),
            owner_id: id(m.owner_id),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Note, id: model.id, owner: model.owner_id {});

/// A comment on a record.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Comment {
    pub id: ID,
    pub body: String,
    /// The comment this one answers.
    pub reply_to: Option<ID>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    author_id: Uuid,
}

impl From<comment::Model> for Comment {
    fn from(m: comment::Model) -> Self {
        Self {
            id: id(m.id),
            body: m.body,
            reply_to: m.parent_id.map(id),
            created_at: m.created_at,
            author_id: m.author_id,
        }
    }
}

#[ComplexObject]
impl Comment {
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.author_id).await
    }
}

/// `record.notes`, batched: needs read access to notes (the record itself is readable).
pub(crate) async fn notes_of(ctx: &Context<'_>, record_id: Uuid) -> Result<Vec<Note>> {
    let loader = ctx.loader::<Children<note::Entity, NotesOfRecord>>()?;
    let notes = loader.load_one(record_id).await?.unwrap_or_default();
    Ok(notes.into_iter().map(Into::into).collect())
}

/// `record.comments`, batched, oldest first.
pub(crate) async fn comments_of(ctx: &Context<'_>, record_id: Uuid) -> Result<Vec<Comment>> {
    let loader = ctx.loader::<Children<comment::Entity, CommentsOfRecord>>()?;
    let comments = loader.load_one(record_id).await?.unwrap_or_default();
    Ok(comments.into_iter().map(Into::into).collect())
}

#[derive(InputObject)]
pub struct CreateNoteInput {
    pub title: String,
    pub body: String,
    /// With `relatedId`, the record the note is about; leave both out for an announcement
    /// (managers and admins).
    pub related_module: Option<Module>,
    pub related_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateNoteInput {
    pub version: i32,
    pub title: Option<String>,
    pub body: Option<String>,
}

#[derive(Default)]
pub struct NewsQuery;

#[Object]
impl NewsQuery {
    async fn note(&self, ctx: &Context<'_>, id: ID) -> Result<Note> {
        let id = parse_id("id", &id)?;
        Ok(news::get(&ctx.app().db, ctx.principal()?, id).await?.into())
    }

    /// Notes on one record, newest first.
    async fn notes(
        &self,
        ctx: &Context<'_>,
        related_module: Module,
        related_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Note>> {
        let app = ctx.app();
        let related = related(related_module, &related_id, "relatedId")?;
        let args = page_args(first, after, None, None);
        let page = news::list(&app.db, ctx.principal()?, Some(related), &args, &app.limits).await?;
        Ok(connection(page, Note::from))
    }

    /// Tenant-wide announcements, newest first.
    async fn announcements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Note>> {
        let app = ctx.app();
        let args = page_args(first, after, None, None);
        let page = news::list(&app.db, ctx.principal()?, None, &args, &app.limits).await?;
        Ok(connection(page, Note::from))
    }

    /// The comment thread of a record, oldest first.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        module: Module,
        record_id: ID,
    ) -> Result<Vec<Comment>> {
        let related = related(module, &record_id, "recordId")?;
        let comments = news::comments(&ctx.app().db, ctx.principal()?, related).await?;
        Ok(comments.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct NewsMutation;

record_mutations!(NewsMutation {
    note::Entity => Note, "a note": delete_note, restore_note, purge_note;
} {
    async fn create_note(&self, ctx: &Context<'_>, input: CreateNoteInput) -> Result<Note> {
        let related = match (input.related_module, input.related_id) {
            (Some(module), Some(id)) => Some(related(module, &id, "relatedId")?),
            (None, None) => None,
            _ => {
                return Err(AppError::bad_input(
                    "relatedId",
                    "give both relatedModule and relatedId, or neither",
                )
                .into());
            }
        };
        let note = news::create(
            &ctx.app().db,
            ctx.principal()?,
            &input.title,
            &input.body,
            related,
        )
        .await?;
        Ok(note.into())
    }

    /// The author or an admin edits a note.
    async fn update_note(&self, ctx: &Context<'_>, id: ID, input: UpdateNoteInput) -> Result<Note> {
        let id = parse_id("id", &id)?;
        let note = news::update(
            &ctx.app().db,
            ctx.principal()?,
            id,
            input.version,
            input.title,
            input.body,
        )
        .await?;
        Ok(note.into())
    }

    /// Comments on a record; `replyTo` answers another comment on the same record.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        module: Module,
        record_id: ID,
        body: String,
        reply_to: Option<ID>,
    ) -> Result<Comment> {
        let related = related(module, &record_id, "recordId")?;
        let reply_to = reply_to.map(|id| parse_id("replyTo", &id)).transpose()?;
        let comment =
            news::add_comment(&ctx.app().db, ctx.principal()?, related, &body, reply_to).await?;
        Ok(comment.into())
    }

    /// The author or an admin removes a comment.
    async fn delete_comment(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        news::delete_comment(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }
});
