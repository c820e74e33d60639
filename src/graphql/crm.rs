//! Accounts and contacts.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, Result,
    SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use entity::crm::{account, contact};
use entity::platform::user;
use entity::service::ticket;

use crate::crm::Address;
use crate::crm::accounts::{self, AccountFields, AccountFilter, AccountOrder};
use crate::crm::contacts::{self, ContactFields, ContactFilter, ContactOrder};
use crate::error::AppError;
use crate::money;
use crate::pagination::Slice;
use crate::records;
use crate::service::tickets;
use crate::validation::Patch;

use super::filters::{
    CustomFieldFilter, DateRange, DateTimeRange, DecimalRange, IdFilterInput, IntRange,
    OrderDirection, StringFilter,
};
use super::loaders::{
    ById, ChildAccounts, Children, ContactsOfAccount, Grouping, OpportunitiesOfAccount,
    TicketsOfAccount, TicketsOfContact,
};
use super::pagination::{Connected, connection, page_args};
use super::platform::User;
use super::records::HistoryEntry;
use super::{ContextExt, parse_id};

pub(super) fn id(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

pub(super) fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    value.into()
}

pub(super) fn patch_id(field: &str, value: MaybeUndefined<ID>) -> Result<Patch<Uuid>, AppError> {
    patch(value)
        .map(|v| v.map(|id| parse_id(field, &id)).transpose())
        .transpose()
}

pub(super) fn optional_id(field: &str, value: Option<ID>) -> Result<Option<Uuid>, AppError> {
    value.map(|id| parse_id(field, &id)).transpose()
}

pub(super) async fn owner(ctx: &Context<'_>, owner_id: Uuid) -> Result<Option<User>> {
    let loader = ctx.loader::<ById<user::Entity>>()?;
    Ok(loader.load_one(owner_id).await?.map(User::from))
}

pub(super) async fn history(
    ctx: &Context<'_>,
    record_id: Uuid,
    limit: Option<i32>,
    offset: Option<i32>,
) -> Result<Vec<HistoryEntry>> {
    let app = ctx.app();
    let slice = Slice::new(limit, offset, &app.limits)?;
    let entries = records::history(&app.db, ctx.principal()?, record_id, slice).await?;
    Ok(entries.into_iter().map(Into::into).collect())
}

async fn related_tickets<G: Grouping<ticket::Entity>>(
    ctx: &Context<'_>,
    parent: Uuid,
    open: Option<bool>,
) -> Result<Vec<super::service::Ticket>> {
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

// ---------------------------------------------------------------------------------------------
// Accounts

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

#[ComplexObject]
impl Account {
    /// Calendar events about this record, by start.
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<super::calendar::Event>> {
        super::calendar::events_of(ctx, self.model.id).await
    }

    /// Tasks about this record, by due date.
    async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<super::calendar::Task>> {
        super::calendar::tasks_of(ctx, self.model.id).await
    }

    /// Memos about this record, oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<super::news::Note>> {
        super::news::notes_of(ctx, self.model.id).await
    }

    /// The comment thread on this record, oldest first.
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<super::news::Comment>> {
        super::news::comments_of(ctx, self.model.id).await
    }

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
    ) -> Result<Vec<super::service::Ticket>> {
        related_tickets::<TicketsOfAccount>(ctx, self.model.id, open).await
    }

    /// The deals with this account, by expected close date.
    async fn opportunities(&self, ctx: &Context<'_>) -> Result<Vec<super::pipeline::Opportunity>> {
        let loader =
            ctx.loader::<Children<entity::crm::opportunity::Entity, OpportunitiesOfAccount>>()?;
        let deals = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(deals.into_iter().map(Into::into).collect())
    }

    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.model.owner_id).await
    }

    /// Every change of this account, oldest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<HistoryEntry>> {
        history(ctx, self.model.id, limit, offset).await
    }
}

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

#[derive(InputObject, Default)]
pub struct AccountFilterInput {
    pub name: Option<StringFilter>,
    pub account_no: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub account_type: Option<StringFilter>,
    pub billing_city: Option<StringFilter>,
    pub annual_revenue: Option<DecimalRange>,
    pub employees: Option<IntRange>,
    pub owner_id: Option<IdFilterInput>,
    pub parent_id: Option<IdFilterInput>,
    pub created_at: Option<DateTimeRange>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
}

impl AccountFilterInput {
    fn into_domain(self) -> Result<AccountFilter, AppError> {
        Ok(AccountFilter {
            custom_fields: self
                .custom_fields
                .into_iter()
                .flatten()
                .map(Into::into)
                .collect(),
            name: self.name.map(Into::into),
            account_no: self.account_no.map(Into::into),
            industry: self.industry.map(Into::into),
            account_type: self.account_type.map(Into::into),
            billing_city: self.billing_city.map(Into::into),
            annual_revenue: self.annual_revenue.map(Into::into),
            employees: self.employees.map(Into::into),
            owner_id: self
                .owner_id
                .map(|f| f.into_domain("filter.ownerId"))
                .transpose()?,
            parent_id: self
                .parent_id
                .map(|f| f.into_domain("filter.parentId"))
                .transpose()?,
            created_at: self.created_at.map(Into::into),
        })
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    Name,
    AccountNo,
    Industry,
    AnnualRevenue,
    Employees,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject)]
pub struct AccountOrderBy {
    pub field: AccountOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl AccountOrderBy {
    fn into_domain(self) -> (AccountOrder, sea_orm::Order) {
        let field = match self.field {
            AccountOrderField::Name => AccountOrder::Name,
            AccountOrderField::AccountNo => AccountOrder::AccountNo,
            AccountOrderField::Industry => AccountOrder::Industry,
            AccountOrderField::AnnualRevenue => AccountOrder::AnnualRevenue,
            AccountOrderField::Employees => AccountOrder::Employees,
            AccountOrderField::CreatedAt => AccountOrder::CreatedAt,
            AccountOrderField::UpdatedAt => AccountOrder::UpdatedAt,
        };
        (field, self.direction.into())
    }
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Account> {
        let id = parse_id("id", &id)?;
        Ok(accounts::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// Accounts matching every given filter condition.
    #[allow(clippy::too_many_arguments)]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilterInput>,
        order_by: Option<AccountOrderBy>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<Account>> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let filter = filter.unwrap_or_default().into_domain()?;
        let order = order_by.map(AccountOrderBy::into_domain);
        let args = page_args(first, after, last, before);
        let page = accounts::list(&app.db, principal, &filter, order, &args, &app.limits).await?;
        Ok(connection(page, Account::from))
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
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
            accounts::update(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }

    /// Moves an account to the recycle bin.
    async fn delete_account(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::delete::<account::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// Takes an account out of the recycle bin.
    async fn restore_account(&self, ctx: &Context<'_>, id: ID) -> Result<Account> {
        let id = parse_id("id", &id)?;
        Ok(
            records::restore::<account::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }

    /// Removes an account from the recycle bin for good (admins only).
    async fn purge_account(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::purge::<account::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// Contacts

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

#[ComplexObject]
impl Contact {
    /// Calendar events about this record, by start.
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<super::calendar::Event>> {
        super::calendar::events_of(ctx, self.model.id).await
    }

    /// Tasks about this record, by due date.
    async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<super::calendar::Task>> {
        super::calendar::tasks_of(ctx, self.model.id).await
    }

    /// Memos about this record, oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<super::news::Note>> {
        super::news::notes_of(ctx, self.model.id).await
    }

    /// The comment thread on this record, oldest first.
    async fn comments(&self, ctx: &Context<'_>) -> Result<Vec<super::news::Comment>> {
        super::news::comments_of(ctx, self.model.id).await
    }

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
    ) -> Result<Vec<super::service::Ticket>> {
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

    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.model.owner_id).await
    }

    /// Every change of this contact, oldest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<HistoryEntry>> {
        history(ctx, self.model.id, limit, offset).await
    }
}

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

#[derive(InputObject, Default)]
pub struct ContactFilterInput {
    /// On the last name.
    pub name: Option<StringFilter>,
    pub email: Option<StringFilter>,
    pub contact_no: Option<StringFilter>,
    pub lead_source: Option<StringFilter>,
    pub account_id: Option<IdFilterInput>,
    pub owner_id: Option<IdFilterInput>,
    pub birthday: Option<DateRange>,
    pub created_at: Option<DateTimeRange>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<CustomFieldFilter>>,
}

impl ContactFilterInput {
    fn into_domain(self) -> Result<ContactFilter, AppError> {
        Ok(ContactFilter {
            custom_fields: self
                .custom_fields
                .into_iter()
                .flatten()
                .map(Into::into)
                .collect(),
            name: self.name.map(Into::into),
            email: self.email.map(Into::into),
            contact_no: self.contact_no.map(Into::into),
            lead_source: self.lead_source.map(Into::into),
            account_id: self
                .account_id
                .map(|f| f.into_domain("filter.accountId"))
                .transpose()?,
            owner_id: self
                .owner_id
                .map(|f| f.into_domain("filter.ownerId"))
                .transpose()?,
            birthday: self.birthday.map(Into::into),
            created_at: self.created_at.map(Into::into),
        })
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrderField {
    LastName,
    FirstName,
    ContactNo,
    Email,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject)]
pub struct ContactOrderBy {
    pub field: ContactOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl ContactOrderBy {
    fn into_domain(self) -> (ContactOrder, sea_orm::Order) {
        let field = match self.field {
            ContactOrderField::LastName => ContactOrder::LastName,
            ContactOrderField::FirstName => ContactOrder::FirstName,
            ContactOrderField::ContactNo => ContactOrder::ContactNo,
            ContactOrderField::Email => ContactOrder::Email,
            ContactOrderField::CreatedAt => ContactOrder::CreatedAt,
            ContactOrderField::UpdatedAt => ContactOrder::UpdatedAt,
        };
        (field, self.direction.into())
    }
}

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> Result<Contact> {
        let id = parse_id("id", &id)?;
        Ok(contacts::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// Contacts matching every given filter condition.
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        filter: Option<ContactFilterInput>,
        order_by: Option<ContactOrderBy>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<Contact>> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let filter = filter.unwrap_or_default().into_domain()?;
        let order = order_by.map(ContactOrderBy::into_domain);
        let args = page_args(first, after, last, before);
        let page = contacts::list(&app.db, principal, &filter, order, &args, &app.limits).await?;
        Ok(connection(page, Contact::from))
    }
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
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
            contacts::update(&ctx.app().db, principal, id, version, fields)
                .await?
                .into(),
        )
    }

    /// Moves a contact to the recycle bin.
    async fn delete_contact(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::delete::<contact::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// Takes a contact out of the recycle bin.
    async fn restore_contact(&self, ctx: &Context<'_>, id: ID) -> Result<Contact> {
        let id = parse_id("id", &id)?;
        Ok(
            records::restore::<contact::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }

    /// Removes a contact from the recycle bin for good (admins only).
    async fn purge_contact(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::purge::<contact::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }
}
