//! Accounts: the organisations the company deals with.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use entity::crm::{account, contact};

use crate::crm::accounts::{self, AccountFields, AccountFilter, AccountOrderBy};
use crate::error::AppError;
use crate::money;
use crate::records;

use crate::graphql::crm::contacts::Contact;
use crate::graphql::crm::{AddressValue, related_tickets};
use crate::graphql::loaders::{
    ById, ChildAccounts, Children, ContactsOfAccount, OpportunitiesOfAccount, TicketsOfAccount,
};
use crate::graphql::records::{
    id, optional_id, patch, patch_id, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// An organisation: customer, prospect, partner, competitor…
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Account {
    pub id: ID,
    /// Values of the tenant's custom fields, by name.
    pub custom_fields: Json<serde_json::Value>,
    /// ACC-00001, given by the server.
    pub account_no: String,
    pub name: String,
    /// A value of the `industry` picklist.
    pub industry: Option<String>,
    /// A value of the `accountType` picklist.
    pub account_type: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub billing_address: AddressValue,
    pub shipping_address: AddressValue,
    pub annual_revenue: Option<Decimal>,
    pub employees: Option<i32>,
    pub parent_id: Option<ID>,
    pub owner_id: ID,
    pub description: Option<String>,
    /// Send it back with `updateAccount`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: account::Model,
}

impl From<account::Model> for Account {
    fn from(m: account::Model) -> Self {
        Self {
            id: id(m.id),
            custom_fields: Json(m.custom_fields.clone()),
            account_no: m.account_no.clone(),
            name: m.name.clone(),
            industry: m.industry.clone(),
            account_type: m.account_type.clone(),
            website: m.website.clone(),
            phone: m.phone.clone(),
            email: m.email.clone(),
            billing_address: AddressValue {
                street: m.billing_street.clone(),
                city: m.billing_city.clone(),
                state: m.billing_state.clone(),
                postal_code: m.billing_postal_code.clone(),
                country: m.billing_country.clone(),
            },
            shipping_address: AddressValue {
                street: m.shipping_street.clone(),
                city: m.shipping_city.clone(),
                state: m.shipping_state.clone(),
                postal_code: m.shipping_postal_code.clone(),
                country: m.shipping_country.clone(),
            },
            annual_revenue: m.annual_revenue.map(money::from_units),
            employees: m.employees,
            parent_id: m.parent_id.map(id),
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Account, id: model.id, owner: model.owner_id, activities {
    /// The account this one belongs to.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(parent_id) = self.model.parent_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<account::Entity>>()?;
        Ok(loader.load_one(parent_id).await?.map(Account::from))
    }

    /// Accounts that have this one as parent.
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Account>> {
        let loader = ctx.loader::<Children<account::Entity, ChildAccounts>>()?;
        let children = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(children.into_iter().map(Account::from).collect())
    }

    /// The people at this account.
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        let loader = ctx.loader::<Children<contact::Entity, ContactsOfAccount>>()?;
        let contacts = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(contacts.into_iter().map(Contact::from).collect())
    }

    /// Tickets about this account, oldest first; `open: true` leaves out closed ones.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        open: Option<bool>,
    ) -> Result<Vec<crate::graphql::support::tickets::Ticket>> {
        related_tickets::<TicketsOfAccount>(ctx, self.model.id, open).await
    }

    /// The deals with this account, by expected close date.
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::crm::opportunities::Opportunity>> {
        let loader =
            ctx.loader::<Children<entity::crm::opportunity::Entity, OpportunitiesOfAccount>>()?;
        let deals = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(deals.into_iter().map(Into::into).collect())
    }
});

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub name: String,
    pub industry: Option<String>,
    pub account_type: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub billing_address: Option<AddressValue>,
    pub shipping_address: Option<AddressValue>,
    pub annual_revenue: Option<Decimal>,
    pub employees: Option<i32>,
    pub parent_id: Option<ID>,
    /// Defaults to the caller.
    pub owner_id: Option<ID>,
    pub description: Option<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

/// Only the fields given change; `null` clears a field.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// The `version` you last read; a different current version is a CONFLICT.
    pub version: i32,
    pub name: Option<String>,
    pub industry: MaybeUndefined<String>,
    pub account_type: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub billing_address: Option<AddressValue>,
    pub shipping_address: Option<AddressValue>,
    pub annual_revenue: MaybeUndefined<Decimal>,
    pub employees: MaybeUndefined<i32>,
    pub parent_id: MaybeUndefined<ID>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl CreateAccountInput {
    fn into_fields(self) -> Result<AccountFields, AppError> {
        Ok(AccountFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            name: Some(self.name),
            industry: Some(self.industry),
            account_type: Some(self.account_type),
            website: Some(self.website),
            phone: Some(self.phone),
            email: Some(self.email),
            billing_address: self.billing_address.map(Into::into),
            shipping_address: self.shipping_address.map(Into::into),
            annual_revenue: Some(self.annual_revenue),
            employees: Some(self.employees),
            parent_id: Some(optional_id("parentId", self.parent_id)?),
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: Some(self.description),
        })
    }
}

impl UpdateAccountInput {
    fn into_fields(self) -> Result<AccountFields, AppError> {
        Ok(AccountFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            name: self.name,
            industry: patch(self.industry),
            account_type: patch(self.account_type),
            website: patch(self.website),
            phone: patch(self.phone),
            email: patch(self.email),
            billing_address: self.billing_address.map(Into::into),
            shipping_address: self.shipping_address.map(Into::into),
            annual_revenue: patch(self.annual_revenue),
            employees: patch(self.employees),
            parent_id: patch_id("parentId", self.parent_id)?,
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: patch(self.description),
        })
    }
}

record_queries!(
    AccountQuery: account, accounts -> Account,
    account::Entity, AccountFilter, AccountOrderBy, "An account", "Accounts"
);

#[derive(Default)]
pub struct AccountMutation;

record_mutations!(AccountMutation {
    account::Entity => Account, "an account": delete_account, restore_account, purge_account;
} {
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountInput,
    ) -> Result<Account> {
        let principal = ctx.principal()?;
        Ok(
            accounts::create(&ctx.app().db, principal, input.into_fields()?)
                .await?
                .into(),
        )
    }

    async fn update_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAccountInput,
    ) -> Result<Account> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let version = input.version;
        let fields = input.into_fields()?;
        Ok(
            records::edit::<account::Entity>(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }
});
