//! The FAQ: questions with their answers, drafted, published and retired.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseBackend, DatabaseConnection, Select};
use uuid::Uuid;

use entity::support::faq::{ActiveModel, Column, Entity, Model};

use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::Module;
use crate::permissions::Access;
use crate::picklists;
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::sequences;
use crate::validation::Patch;
use crate::validation::required_text;

crate::record!(entity::support::faq, Module::Faq, |m| m.question.clone(),
    search: [Question, FaqNo]);

/// FAQ entries are plain records: no process drives them.
pub static DECLARATION: crate::records::Records<entity::support::faq::Entity> =
    crate::records::Records::new().filtered_by::<FaqFilter>();

pub const DRAFT: &str = "Draft";

#[derive(Default)]
pub struct FaqFields {
    pub question: Option<String>,
    pub answer: Option<String>,
    pub category: Patch<String>,
    pub status: Option<String>,
    pub owner_id: Option<Uuid>,
}

#[derive(InputObject, Default)]
#[graphql(name = "FaqFilterInput")]
pub struct FaqFilter {
    pub question: Option<StringFilter>,
    pub category: Option<StringFilter>,
    pub status: Option<StringFilter>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
}

impl ListFilter<Entity> for FaqFilter {
    fn apply(&self, select: Select<Entity>, _: DatabaseBackend) -> AppResult<Select<Entity>> {
        let select = filters::text(select, Column::Question, self.question.as_ref());
        let select = filters::text(select, Column::Category, self.category.as_ref());
        let select = filters::text(select, Column::Status, self.status.as_ref());
        Ok(filters::range(
            select,
            Column::CreatedAt,
            self.created_at.as_ref(),
        ))
    }
}

/// What a list of FAQ entries can be sorted by.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "FaqOrderField")]
pub enum FaqOrder {
    FaqNo,
    Question,
    CreatedAt,
    UpdatedAt,
}

order_by!(FaqOrderBy, FaqOrder);

impl OrderField for FaqOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            FaqOrder::FaqNo => Column::FaqNo,
            FaqOrder::Question => Column::Question,
            FaqOrder::CreatedAt => Column::CreatedAt,
            FaqOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

impl Fields<Entity> for FaqFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        _: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        if let Some(question) = fields.question {
            row.question = Set(required_text("question", &question, 2_000)?);
        }
        if let Some(answer) = fields.answer {
            row.answer = Set(required_text("answer", &answer, 20_000)?);
        }
        if let Some(category) = fields.category {
            picklists::check(db, scope, "faqCategory", "category", category.as_deref()).await?;
            row.category = Set(category);
        }
        if let Some(status) = fields.status {
            picklists::check(db, scope, "faqStatus", "status", Some(&status)).await?;
            row.status = Set(status);
        }
        if let Some(owner_id) = fields.owner_id {
            row.owner_id = Set(require_owner(db, scope, owner_id).await?);
        }
        Ok(())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    mut fields: FaqFields,
) -> AppResult<Model> {
    actor.require(Module::Faq, Access::Write)?;
    if fields.question.is_none() || fields.answer.is_none() {
        let field = if fields.question.is_none() {
            "question"
        } else {
            "answer"
        };
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    fields.status.get_or_insert_with(|| DRAFT.to_owned());
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        category: Set(None),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(&txn, actor, None, &mut row).await?;
    row.faq_no = Set(sequences::next_number(&txn, &scope, "FAQ").await?);
    let created = records::insert::<Entity>(&txn, actor, row).await?;
    txn.commit().await?;
    Ok(created)
}
