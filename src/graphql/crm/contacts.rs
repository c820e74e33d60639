//! Contacts: the people at accounts.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use entity::crm::{account, contact};

use crate::crm::contacts::{self, ContactFields, ContactFilter, ContactOrderBy};
use crate::error::AppError;
use crate::records;

use crate::graphql::crm::accounts::Account;
use crate::graphql::crm::{AddressValue, related_tickets};
use crate::graphql::loaders::{ById, TicketsOfContact};
use crate::graphql::records::{
    id, optional_id, patch, patch_id, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// A person, usually working at an account.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Contact {
    pub id: ID,
    /// Values of the tenant's custom fields, by name.
    pub custom_fields: Json<serde_json::Value>,
    /// CON-00001, given by the server.
    pub contact_no: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub account_id: Option<ID>,
    pub reports_to_id: Option<ID>,
    /// A value of the `leadSource` picklist.
    pub lead_source: Option<String>,
    pub mailing_address: AddressValue,
    pub birthday: Option<NaiveDate>,
    pub email_opt_out: bool,
    pub do_not_call: bool,
    pub owner_id: ID,
    pub description: Option<String>,
    /// Send it back with `updateContact`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: contact::Model,
}

impl From<contact::Model> for Contact {
    fn from(m: contact::Model) -> Self {
        Self {
            id: id(m.id),
            custom_fields: Json(m.custom_fields.clone()),
            contact_no: m.contact_no.clone(),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            full_name: contacts::full_name(&m),
            email: m.email.clone(),
            phone: m.phone.clone(),
            mobile: m.mobile.clone(),
            title: m.title.clone(),
            department: m.department.clone(),
            account_id: m.account_id.map(id),
            reports_to_id: m.reports_to_id.map(id),
            lead_source: m.lead_source.clone(),
            mailing_address: AddressValue {
                street: m.mailing_street.clone(),
                city: m.mailing_city.clone(),
                state: m.mailing_state.clone(),
                postal_code: m.mailing_postal_code.clone(),
                country: m.mailing_country.clone(),
            },
            birthday: m.birthday,
            email_opt_out: m.email_opt_out,
            do_not_call: m.do_not_call,
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Contact, id: model.id, owner: model.owner_id, activities {
    /// The account the contact works at.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(account_id) = self.model.account_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<account::Entity>>()?;
        Ok(loader.load_one(account_id).await?.map(Account::from))
    }

    /// Tickets this contact raised, oldest first; `open: true` leaves out closed ones.
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        open: Option<bool>,
    ) -> Result<Vec<crate::graphql::support::tickets::Ticket>> {
        related_tickets::<TicketsOfContact>(ctx, self.model.id, open).await
    }

    /// The contact's manager.
    async fn reports_to(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(manager_id) = self.model.reports_to_id else {
            return Ok(None);
        };
        let loader = ctx.loader::<ById<contact::Entity>>()?;
        Ok(loader.load_one(manager_id).await?.map(Contact::from))
    }
});

#[derive(InputObject)]
pub struct CreateContactInput {
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub account_id: Option<ID>,
    pub reports_to_id: Option<ID>,
    pub lead_source: Option<String>,
    pub mailing_address: Option<AddressValue>,
    pub birthday: Option<NaiveDate>,
    pub email_opt_out: Option<bool>,
    pub do_not_call: Option<bool>,
    /// Defaults to the caller.
    pub owner_id: Option<ID>,
    pub description: Option<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

/// Only the fields given change; `null` clears a field.
#[derive(InputObject)]
pub struct UpdateContactInput {
    /// The `version` you last read; a different current version is a CONFLICT.
    pub version: i32,
    pub first_name: MaybeUndefined<String>,
    pub last_name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub mobile: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub department: MaybeUndefined<String>,
    pub account_id: MaybeUndefined<ID>,
    pub reports_to_id: MaybeUndefined<ID>,
    pub lead_source: MaybeUndefined<String>,
    pub mailing_address: Option<AddressValue>,
    pub birthday: MaybeUndefined<NaiveDate>,
    pub email_opt_out: Option<bool>,
    pub do_not_call: Option<bool>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl CreateContactInput {
    fn into_fields(self) -> Result<ContactFields, AppError> {
        Ok(ContactFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            first_name: Some(self.first_name),
            last_name: Some(self.last_name),
            email: Some(self.email),
            phone: Some(self.phone),
            mobile: Some(self.mobile),
            title: Some(self.title),
            department: Some(self.department),
            account_id: Some(optional_id("accountId", self.account_id)?),
            reports_to_id: Some(optional_id("reportsToId", self.reports_to_id)?),
            lead_source: Some(self.lead_source),
            mailing_address: self.mailing_address.map(Into::into),
            birthday: Some(self.birthday),
            email_opt_out: self.email_opt_out,
            do_not_call: self.do_not_call,
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: Some(self.description),
        })
    }
}

impl UpdateContactInput {
    fn into_fields(self) -> Result<ContactFields, AppError> {
        Ok(ContactFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            first_name: patch(self.first_name),
            last_name: self.last_name,
            email: patch(self.email),
            phone: patch(self.phone),
            mobile: patch(self.mobile),
            title: patch(self.title),
            department: patch(self.department),
            account_id: patch_id("accountId", self.account_id)?,
            reports_to_id: patch_id("reportsToId", self.reports_to_id)?,
            lead_source: patch(self.lead_source),
            mailing_address: self.mailing_address.map(Into::into),
            birthday: patch(self.birthday),
            email_opt_out: self.email_opt_out,
            do_not_call: self.do_not_call,
            owner_id: optional_id("ownerId", self.owner_id)?,
            description: patch(self.description),
        })
    }
}

record_queries!(
    ContactQuery: contact, contacts -> Contact,
    contact::Entity, ContactFilter, ContactOrderBy, "A contact", "Contacts"
);

#[derive(Default)]
pub struct ContactMutation;

record_mutations!(ContactMutation {
    contact::Entity => Contact, "a contact": delete_contact, restore_contact, purge_contact;
} {
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: CreateContactInput,
    ) -> Result<Contact> {
        let principal = ctx.principal()?;
        Ok(
            contacts::create(&ctx.app().db, principal, input.into_fields()?)
                .await?
                .into(),
        )
    }

    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateContactInput,
    ) -> Result<Contact> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let version = input.version;
        let fields = input.into_fields()?;
        Ok(
            records::edit::<contact::Entity>(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }
});
