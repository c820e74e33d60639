//! Opportunities: deals moving through sales stages.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use entity::crm::{account, contact, opportunity};

use crate::crm::opportunities::{self, OpportunityFields, OpportunityFilter, OpportunityOrderBy};
use crate::error::AppError;
use crate::money;
use crate::records;

use crate::graphql::crm::accounts::Account;
use crate::graphql::crm::contacts::Contact;
use crate::graphql::loaders::ById;
use crate::graphql::records::{
    id, optional_id, patch, patch_id, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// A deal in the pipeline (Vtiger's "potential").
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Opportunity {
    pub id: ID,
    /// Values of the tenant's custom fields, by name.
    pub custom_fields: Json<serde_json::Value>,
    /// POT-00001, given by the server.
    pub opportunity_no: String,
    pub name: String,
    pub account_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub amount: Option<Decimal>,
    /// ISO 4217 code.
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    /// A value of the `salesStage` picklist.
    pub sales_stage: String,
    /// Percent; follows the stage's default unless set.
    pub probability: i32,
    pub lead_source: Option<String>,
    pub next_step: Option<String>,
    pub owner_id: ID,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: opportunity::Model,
}

impl From<opportunity::Model> for Opportunity {
    fn from(m: opportunity::Model) -> Self {
        Self {
            id: id(m.id),
            custom_fields: Json(m.custom_fields.clone()),
            opportunity_no: m.opportunity_no.clone(),
            name: m.name.clone(),
            account_id: m.account_id.map(id),
            contact_id: m.contact_id.map(id),
            amount: m.amount.map(money::from_units),
            currency: m.currency.clone(),
            expected_close_date: m.expected_close_date,
            sales_stage: m.sales_stage.clone(),
            probability: m.probability,
            lead_source: m.lead_source.clone(),
            next_step: m.next_step.clone(),
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Opportunity, id: model.id, owner: model.owner_id, activities {
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(account_id) = self.model.account_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<account::Entity>>()?;
        Ok(loader.load_one(account_id).await?.map(Account::from))
    }

    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(contact_id) = self.model.contact_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<contact::Entity>>()?;
        Ok(loader.load_one(contact_id).await?.map(Contact::from))
    }
});

#[derive(InputObject)]
pub struct CreateOpportunityInput {
    pub name: String,
    pub account_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub amount: Option<Decimal>,
    /// Defaults to USD.
    pub currency: Option<String>,
    pub expected_close_date: Option<NaiveDate>,
    /// Defaults to Prospecting.
    pub sales_stage: Option<String>,
    /// Defaults to the stage's probability.
    pub probability: Option<i32>,
    pub lead_source: Option<String>,
    pub next_step: Option<String>,
    pub owner_id: Option<ID>,
    pub description: Option<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl CreateOpportunityInput {
    pub(crate) fn into_fields(self) -> Result<OpportunityFields, AppError> {
        Ok(OpportunityFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            name: Some(self.name),
            account_id: Some(optional_id("accountId", self.account_id)?),
            contact_id: Some(optional_id("contactId", self.contact_id)?),
            amount: Some(self.amount),
            currency: self.currency,
            expected_close_date: Some(self.expected_close_date),
            sales_stage: self.sales_stage,
            probability: self.probability,
            lead_source: Some(self.lead_source),
            next_step: Some(self.next_step),
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: Some(self.description),
        })
    }
}

/// Only the fields given change; `null` clears a field.
#[derive(InputObject)]
pub struct UpdateOpportunityInput {
    pub version: i32,
    pub name: Option<String>,
    pub account_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub amount: MaybeUndefined<Decimal>,
    pub currency: Option<String>,
    pub expected_close_date: MaybeUndefined<NaiveDate>,
    /// Changing the stage resets the probability to the stage's default unless one is given.
    pub sales_stage: Option<String>,
    pub probability: Option<i32>,
    pub lead_source: MaybeUndefined<String>,
    pub next_step: MaybeUndefined<String>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl UpdateOpportunityInput {
    fn into_fields(self) -> Result<OpportunityFields, AppError> {
        Ok(OpportunityFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            name: self.name,
            account_id: patch_id("accountId", self.account_id)?,
            contact_id: patch_id("contactId", self.contact_id)?,
            amount: patch(self.amount),
            currency: self.currency,
            expected_close_date: patch(self.expected_close_date),
            sales_stage: self.sales_stage,
            probability: self.probability,
            lead_source: patch(self.lead_source),
            next_step: patch(self.next_step),
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: patch(self.description),
        })
    }
}

record_queries!(
    OpportunityQuery: opportunity, opportunities -> Opportunity,
    opportunity::Entity, OpportunityFilter, OpportunityOrderBy, "An opportunity", "Opportunities"
);

#[derive(Default)]
pub struct OpportunityMutation;

record_mutations!(OpportunityMutation {
    opportunity::Entity => Opportunity, "an opportunity": delete_opportunity, restore_opportunity, purge_opportunity;
} {
    async fn create_opportunity(
        &self,
        ctx: &Context<'_>,
        input: CreateOpportunityInput,
    ) -> Result<Opportunity> {
        let principal = ctx.principal()?;
        Ok(
            opportunities::create(&ctx.app().db, principal, input.into_fields()?)
                .await?
                .into(),
        )
    }

    async fn update_opportunity(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOpportunityInput,
    ) -> Result<Opportunity> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let version = input.version;
        let fields = input.into_fields()?;
        Ok(
            records::edit::<opportunity::Entity>(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }
});
