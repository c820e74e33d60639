//! Tickets: complaints and service requests.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};

use entity::crm::{account, contact};
use entity::support::ticket;

use crate::error::AppError;
use crate::records;
use crate::support::tickets::{self, TicketFields, TicketFilter, TicketOrderBy};

use crate::graphql::crm::accounts::Account;
use crate::graphql::crm::contacts::Contact;
use crate::graphql::loaders::ById;
use crate::graphql::records::{
    id, optional_id, patch, patch_id, record_mutations, record_object, record_queries,
};
use crate::graphql::{ContextExt, parse_id};

/// A complaint or service request.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Ticket {
    pub id: ID,
    /// Values of the tenant's custom fields, by name.
    pub custom_fields: Json<serde_json::Value>,
    /// TT-00001, given by the server.
    pub ticket_no: String,
    pub title: String,
    pub description: Option<String>,
    pub account_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub product: Option<String>,
    /// A value of the `ticketPriority` picklist.
    pub priority: Option<String>,
    /// A value of the `ticketSeverity` picklist.
    pub severity: Option<String>,
    /// A value of the `ticketCategory` picklist.
    pub category: Option<String>,
    /// A value of the `ticketStatus` picklist: Open, In Progress, Wait For Response, Closed.
    pub status: String,
    /// The user working on it.
    pub owner_id: ID,
    pub resolution: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// When it was closed; cleared when it is reopened.
    pub resolved_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: ticket::Model,
}

impl From<ticket::Model> for Ticket {
    fn from(m: ticket::Model) -> Self {
        Self {
            id: id(m.id),
            custom_fields: Json(m.custom_fields.clone()),
            ticket_no: m.ticket_no.clone(),
            title: m.title.clone(),
            description: m.description.clone(),
            account_id: m.account_id.map(id),
            contact_id: m.contact_id.map(id),
            product: m.product.clone(),
            priority: m.priority.clone(),
            severity: m.severity.clone(),
            category: m.category.clone(),
            status: m.status.clone(),
            owner_id: id(m.owner_id),
            resolution: m.resolution.clone(),
            opened_at: m.created_at,
            resolved_at: m.resolved_at,
            version: m.version,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Ticket, id: model.id, owner: model.owner_id, activities {
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
pub struct CreateTicketInput {
    pub title: String,
    pub description: Option<String>,
    pub account_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub product: Option<String>,
    pub priority: Option<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    /// Defaults to Open.
    pub status: Option<String>,
    /// Defaults to the caller.
    pub owner_id: Option<ID>,
    pub resolution: Option<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl CreateTicketInput {
    fn into_fields(self) -> Result<TicketFields, AppError> {
        Ok(TicketFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            title: Some(self.title),
            description: Some(self.description),
            account_id: Some(optional_id("accountId", self.account_id)?),
            contact_id: Some(optional_id("contactId", self.contact_id)?),
            product: Some(self.product),
            priority: Some(self.priority),
            severity: Some(self.severity),
            category: Some(self.category),
            status: self.status,
            owner_id: optional_id("ownerId", self.owner_id)?,
            resolution: Some(self.resolution),
        })
    }
}

/// Only the fields given change; `null` clears a field.
#[derive(InputObject)]
pub struct UpdateTicketInput {
    pub version: i32,
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub account_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub product: MaybeUndefined<String>,
    pub priority: MaybeUndefined<String>,
    pub severity: MaybeUndefined<String>,
    pub category: MaybeUndefined<String>,
    pub status: Option<String>,
    pub owner_id: Option<ID>,
    pub resolution: MaybeUndefined<String>,
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<Json<serde_json::Map<String, serde_json::Value>>>,
}

impl UpdateTicketInput {
    fn into_fields(self) -> Result<TicketFields, AppError> {
        Ok(TicketFields {
            custom_fields: self.custom_fields.map(|j| j.0),
            title: self.title,
            description: patch(self.description),
            account_id: patch_id("accountId", self.account_id)?,
            contact_id: patch_id("contactId", self.contact_id)?,
            product: patch(self.product),
            priority: patch(self.priority),
            severity: patch(self.severity),
            category: patch(self.category),
            status: self.status,
            owner_id: optional_id("ownerId", self.owner_id)?,
            resolution: patch(self.resolution),
        })
    }
}

record_queries!(
    TicketQuery: ticket, tickets -> Ticket,
    ticket::Entity, TicketFilter, TicketOrderBy, "A ticket", "Tickets"
);

#[derive(Default)]
pub struct TicketMutation;

record_mutations!(TicketMutation {
    ticket::Entity => Ticket, "a ticket": delete_ticket, restore_ticket, purge_ticket;
} {
    async fn create_ticket(&self, ctx: &Context<'_>, input: CreateTicketInput) -> Result<Ticket> {
        let principal = ctx.principal()?;
        Ok(
            tickets::create(&ctx.app().db, principal, input.into_fields()?)
                .await?
                .into(),
        )
    }

    /// Setting `status: "Closed"` stamps `resolvedAt`; any other status clears it.
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTicketInput,
    ) -> Result<Ticket> {
        let principal = ctx.principal()?;
        let id = parse_id("id", &id)?;
        let version = input.version;
        let fields = input.into_fields()?;
        Ok(
            records::edit::<ticket::Entity>(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }
});
