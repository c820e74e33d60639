//! Leads: prospects to qualify, and their conversion.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use entity::crm::{account, contact, lead, opportunity};

use crate::crm::leads::{self, Conversion, LeadFields, LeadFilter, LeadOrderBy};
use crate::error::AppError;
use crate::money;
use crate::records;

use crate::graphql::crm::AddressValue;
use crate::graphql::crm::accounts::Account;
use crate::graphql::crm::contacts::Contact;
use crate::graphql::crm::opportunities::{CreateOpportunityInput, Opportunity};
use crate::graphql::loaders::ById;
use crate::graphql::records::{
    id, optional_id, patch, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// A prospect to qualify.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Lead {
    pub id: ID,
    /// Values of the tenant's custom fields, by name.
    pub custom_fields: Json<serde_json::Value>,
    /// LEA-00001, given by the server.
    pub lead_no: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub company: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub website: Option<String>,
    pub lead_source: Option<String>,
    /// A value of the `leadStatus` picklist.
    pub lead_status: Option<String>,
    /// A value of the `rating` picklist.
    pub rating: Option<String>,
    pub industry: Option<String>,
    pub annual_revenue: Option<Decimal>,
    pub employees: Option<i32>,
    pub address: AddressValue,
    pub owner_id: ID,
    pub description: Option<String>,
    pub converted: bool,
    pub converted_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: lead::Model,
}

impl From<lead::Model> for Lead {
    fn from(m: lead::Model) -> Self {
        Self {
            id: id(m.id),
            custom_fields: Json(m.custom_fields.clone()),
            lead_no: m.lead_no.clone(),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            company: m.company.clone(),
            title: m.title.clone(),
            email: m.email.clone(),
            phone: m.phone.clone(),
            mobile: m.mobile.clone(),
            website: m.website.clone(),
            lead_source: m.lead_source.clone(),
            lead_status: m.lead_status.clone(),
            rating: m.rating.clone(),
            industry: m.industry.clone(),
            annual_revenue: m.annual_revenue.map(money::from_units),
            employees: m.employees,
            address: AddressValue {
                street: m.street.clone(),
                city: m.city.clone(),
                state: m.state.clone(),
                postal_code: m.postal_code.clone(),
                country: m.country.clone(),
            },
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            converted: m.converted_at.is_some(),
            converted_at: m.converted_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Lead, id: model.id, owner: model.owner_id, activities {
    /// What the lead became, once converted.
    async fn converted_account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(account_id) = self.model.converted_account_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<account::Entity>>()?;
        Ok(loader.load_one(account_id).await?.map(Account::from))
    }

    async fn converted_contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(contact_id) = self.model.converted_contact_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<contact::Entity>>()?;
        Ok(loader.load_one(contact_id).await?.map(Contact::from))
    }

    async fn converted_opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        let Some(opportunity_id) = self.model.converted_opportunity_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<opportunity::Entity>>()?;
        Ok(loader
            .load_one(opportunity_id)
            .await?
            .map(Opportunity::from))
    }
});

#[derive(InputObject)]
pub struct CreateLeadInput {
    pub first_name: Option<String>,
    pub last_name: String,
    pub company: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub website: Option<String>,
    pub lead_source: Option<String>,
    pub lead_status: Option<String>,
    pub rating: Option<String>,
    pub industry: Option<String>,
    pub annual_revenue: Option<Decimal>,
    pub employees: Option<i32>,
    pub address: Option<AddressValue>,
    pub owner_id: Option<ID>,
    pub description: Option<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl CreateLeadInput {
    fn into_fields(self) -> Result<LeadFields, AppError> {
        Ok(LeadFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            first_name: Some(self.first_name),
            last_name: Some(self.last_name),
            company: Some(self.company),
            title: Some(self.title),
            email: Some(self.email),
            phone: Some(self.phone),
            mobile: Some(self.mobile),
            website: Some(self.website),
            lead_source: Some(self.lead_source),
            lead_status: Some(self.lead_status),
            rating: Some(self.rating),
            industry: Some(self.industry),
            annual_revenue: Some(self.annual_revenue),
            employees: Some(self.employees),
            address: self.address.map(Into::into),
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: Some(self.description),
        })
    }
}

/// Only the fields given change; `null` clears a field.
#[derive(InputObject)]
pub struct UpdateLeadInput {
    pub version: i32,
    pub first_name: MaybeUndefined<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub title: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub mobile: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub lead_source: MaybeUndefined<String>,
    pub lead_status: MaybeUndefined<String>,
    pub rating: MaybeUndefined<String>,
    pub industry: MaybeUndefined<String>,
    pub annual_revenue: MaybeUndefined<Decimal>,
    pub employees: MaybeUndefined<i32>,
    pub address: Option<AddressValue>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl UpdateLeadInput {
    fn into_fields(self) -> Result<LeadFields, AppError> {
        Ok(LeadFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            first_name: patch(self.first_name),
            last_name: self.last_name,
            company: self.company,
            title: patch(self.title),
            email: patch(self.email),
            phone: patch(self.phone),
            mobile: patch(self.mobile),
            website: patch(self.website),
            lead_source: patch(self.lead_source),
            lead_status: patch(self.lead_status),
            rating: patch(self.rating),
            industry: patch(self.industry),
            annual_revenue: patch(self.annual_revenue),
            employees: patch(self.employees),
            address: self.address.map(Into::into),
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: patch(self.description),
        })
    }
}

#[derive(InputObject)]
pub struct ConvertLeadInput {
    /// The `version` of the lead you last read.
    pub version: i32,
    /// Link the new contact to this account instead of creating one from the lead's company.
    pub account_id: Option<ID>,
    /// Also open an opportunity for the new account and contact.
    pub opportunity: Option<CreateOpportunityInput>,
}

#[derive(SimpleObject)]
pub struct ConvertLeadPayload {
    pub lead: Lead,
    pub account: Account,
    pub contact: Contact,
    pub opportunity: Option<Opportunity>,
}

record_queries!(
    LeadQuery: lead, leads -> Lead,
    lead::Entity, LeadFilter, LeadOrderBy, "A lead", "Leads"
);

#[derive(Default)]
pub struct LeadMutation;

record_mutations!(LeadMutation {
    lead::Entity => Lead, "a lead": delete_lead, restore_lead, purge_lead;
} {
    async fn create_lead(&self, ctx: &Context<'_>, input: CreateLeadInput) -> Result<Lead> {
        let principal = ctx.principal()?;
        Ok(
            leads::create(&ctx.app().db, principal, input.into_fields()?)
                .await?
                .into(),
        )
    }

    /// A converted lead cannot be changed (CONFLICT).
    async fn update_lead(&self, ctx: &Context<'_>, id: ID, input: UpdateLeadInput) -> Result<Lead> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let version = input.version;
        let fields = input.into_fields()?;
        Ok(records::edit::<lead::Entity>(&ctx.app().db, principal, id, version, fields)
            .await?
            .into())
    }

    /// Turns a lead into an account (or links one), a contact and optionally an opportunity,
    /// all at once or not at all.
    async fn convert_lead(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ConvertLeadInput,
    ) -> Result<ConvertLeadPayload> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let conversion = Conversion {
            account_id: optional_id("accountId", input.account_id)?,
            opportunity: input
                .opportunity
                .map(CreateOpportunityInput::into_fields)
                .transpose()?,
        };
        let converted =
            leads::convert(&ctx.app().db, principal, id, input.version, conversion).await?;
        Ok(ConvertLeadPayload {
            lead: converted.lead.into(),
            account: converted.account.into(),
            contact: converted.contact.into(),
            opportunity: converted.opportunity.map(Into::into),
        })
    }
});
