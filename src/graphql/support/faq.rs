//! The FAQ: questions with their answers.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::support::faq;

use crate::records;
use crate::support::faq::{self as faqs, FaqFields, FaqFilter, FaqOrderBy};

use crate::graphql::records::{
    id, optional_id, patch, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// A question customers ask, with its answer.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Faq {
    pub id: ID,
    /// FAQ-00001, given by the server.
    pub faq_no: String,
    pub question: String,
    pub answer: String,
    /// A value of the `faqCategory` picklist.
    pub category: Option<String>,
    /// A value of the `faqStatus` picklist: Draft, Published, Obsolete.
    pub status: String,
    pub owner_id: ID,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: faq::Model,
}

impl From<faq::Model> for Faq {
    fn from(m: faq::Model) -> Self {
        Self {
            id: id(m.id),
            faq_no: m.faq_no.clone(),
            question: m.question.clone(),
            answer: m.answer.clone(),
            category: m.category.clone(),
            status: m.status.clone(),
            owner_id: id(m.owner_id),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Faq, id: model.id, owner: model.owner_id {});

#[derive(InputObject)]
pub struct CreateFaqInput {
    pub question: String,
    pub answer: String,
    pub category: Option<String>,
    /// Defaults to Draft.
    pub status: Option<String>,
    pub owner_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateFaqInput {
    pub version: i32,
    pub question: Option<String>,
    pub answer: Option<String>,
    pub category: MaybeUndefined<String>,
    pub status: Option<String>,
    pub owner_id: Option<ID>,
}

record_queries!(
    FaqQuery: faq, faqs -> Faq,
    faq::Entity, FaqFilter, FaqOrderBy, "An FAQ entry", "FAQ entries"
);

#[derive(Default)]
pub struct FaqMutation;

record_mutations!(FaqMutation {
    faq::Entity => Faq, "an FAQ entry": delete_faq, restore_faq, purge_faq;
} {
    async fn create_faq(&self, ctx: &Context<'_>, input: CreateFaqInput) -> Result<Faq> {
        let principal = ctx.principal()?;
        let fields = FaqFields {
            question: Some(input.question),
            answer: Some(input.answer),
            category: Some(input.category),
            status: input.status,
            owner_id: optional_id("ownerId", input.owner_id)?,
        };
        Ok(faqs::create(&ctx.app().db, principal, fields).await?.into())
    }

    async fn update_faq(&self, ctx: &Context<'_>, id: ID, input: UpdateFaqInput) -> Result<Faq> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let fields = FaqFields {
            question: input.question,
            answer: input.answer,
            category: patch(input.category),
            status: input.status,
            owner_id: optional_id("ownerId", input.owner_id)?,
        };
        Ok(
            records::edit::<faq::Entity>(&ctx.app().db, principal, id, input.version, fields)
                .await?
                .into(),
        )
    }
});
