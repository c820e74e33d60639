//! Customer data and the sales pipeline: accounts, contacts, leads, opportunities.

pub mod accounts;
pub mod contacts;
pub mod leads;
pub mod opportunities;

use async_graphql::{Context, InputObject, Result, SimpleObject};
use uuid::Uuid;

use entity::support::ticket;

use crate::crm::Address;
use crate::support::tickets;

use crate::graphql::ContextExt;
use crate::graphql::loaders::{Children, Grouping};

pub(crate) async fn related_tickets<G: Grouping<ticket::Entity>>(
    ctx: &Context<'_>,
    parent: Uuid,
    open: Option<bool>,
) -> Result<Vec<crate::graphql::support::tickets::Ticket>> {
    let loader = ctx.loader::<Children<ticket::Entity, G>>()?;
    let tickets = loader.load_one(parent).await?.unwrap_or_default();
    Ok(tickets
        .into_iter()
        .filter(|t| open.is_none_or(|open| open == (t.status != tickets::CLOSED)))
        .map(Into::into)
        .collect())
}

/// A postal address.
#[derive(SimpleObject, InputObject, Clone, Default)]
#[graphql(input_name = "AddressInput")]
pub struct AddressValue {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl From<AddressValue> for Address {
    fn from(a: AddressValue) -> Self {
        Address {
            street: a.street,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}
