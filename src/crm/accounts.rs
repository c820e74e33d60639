//! Accounts: organisations with a number, industry and type from picklists, addresses,
//! revenue, an owner and a parent (a hierarchy without cycles).

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, DatabaseBackend, DatabaseConnection, Select};
use uuid::Uuid;

use entity::crm::account::{ActiveModel, Column, Entity, Model};

use super::Address;
use crate::auth::Principal;
use crate::custom_fields;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::Module;
use crate::money;
use crate::permissions::Access;
use crate::picklists;
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::sequences;
use crate::tenancy::TenantScope;
use crate::validation::{Patch, text_patch};
use crate::validation::{optional_email, optional_phone, optional_url, required_text};

crate::record!(entity::crm::account, Module::Accounts, |m| m.name.clone(),
    search: [Name, AccountNo, Email, Phone, Website]);

/// Accounts are plain records: no process drives them.
pub static DECLARATION: crate::records::Records<Entity> = crate::records::Records::new()
    .filtered_by::<AccountFilter>()
    .importable();

/// The fields a client sends; on update, only the given ones change.
#[derive(Default)]
pub struct AccountFields {
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub name: Option<String>,
    pub industry: Patch<String>,
    pub account_type: Patch<String>,
    pub website: Patch<String>,
    pub phone: Patch<String>,
    pub email: Patch<String>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
    pub annual_revenue: Patch<Decimal>,
    pub employees: Patch<i32>,
    pub parent_id: Patch<Uuid>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "AccountFilterInput")]
pub struct AccountFilter {
    pub name: Option<StringFilter>,
    pub account_no: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub account_type: Option<StringFilter>,
    pub billing_city: Option<StringFilter>,
    pub annual_revenue: Option<RangeFilter<Decimal>>,
    pub employees: Option<RangeFilter<i32>>,
    pub owner_id: Option<IdFilter>,
    pub parent_id: Option<IdFilter>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<custom_fields::Condition>>,
}

impl ListFilter<Entity> for AccountFilter {
    fn apply(&self, select: Select<Entity>, backend: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::Name, self.name.as_ref());
        select = filters::text(select, Column::AccountNo, self.account_no.as_ref());
        select = filters::text(select, Column::Industry, self.industry.as_ref());
        select = filters::text(select, Column::AccountType, self.account_type.as_ref());
        select = filters::text(select, Column::BillingCity, self.billing_city.as_ref());
        let revenue = self.annual_revenue.as_ref();
        let field = "filter.annualRevenue";
        select = filters::amount(select, Column::AnnualRevenue, revenue, field)?;
        select = filters::range(select, Column::Employees, self.employees.as_ref());
        select = filters::id(
            select,
            Column::OwnerId,
            self.owner_id.as_ref(),
            "filter.ownerId",
        )?;
        select = filters::id(
            select,
            Column::ParentId,
            self.parent_id.as_ref(),
            "filter.parentId",
        )?;
        select = filters::range(select, Column::CreatedAt, self.created_at.as_ref());
        custom_fields::filter(
            select,
            backend,
            Column::CustomFields,
            self.custom_fields.as_ref(),
        )
    }
}

/// What a list of accounts can be sorted by.
// The GraphQL API uses this enum as it is, under the name AccountOrderField.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "AccountOrderField")]
pub enum AccountOrder {
    Name,
    AccountNo,
    Industry,
    AnnualRevenue,
    Employees,
    CreatedAt,
    UpdatedAt,
}

order_by!(AccountOrderBy, AccountOrder);

impl OrderField for AccountOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            AccountOrder::Name => Column::Name,
            AccountOrder::AccountNo => Column::AccountNo,
            AccountOrder::Industry => Column::Industry,
            AccountOrder::AnnualRevenue => Column::AnnualRevenue,
            AccountOrder::Employees => Column::Employees,
            AccountOrder::CreatedAt => Column::CreatedAt,
            AccountOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

impl Fields<Entity> for AccountFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        let id = before.map(|b| b.id);
        let (current, given) = (before.map(|b| &b.custom_fields), fields.custom_fields);
        let module = Module::Accounts;
        custom_fields::edit(db, scope, module, current, given, &mut row.custom_fields).await?;
        if let Some(name) = fields.name {
            row.name = Set(required_text("name", &name, 255)?);
        }
        if let Some(industry) = fields.industry {
            picklists::check(db, scope, "industry", "industry", industry.as_deref()).await?;
            row.industry = Set(industry);
        }
        if let Some(account_type) = fields.account_type {
            picklists::check(
                db,
                scope,
                "accountType",
                "accountType",
                account_type.as_deref(),
            )
            .await?;
            row.account_type = Set(account_type);
        }
        if let Some(website) = fields.website {
            row.website = Set(optional_url("website", website)?);
        }
        if let Some(phone) = fields.phone {
            row.phone = Set(optional_phone("phone", phone)?);
        }
        if let Some(email) = fields.email {
            row.email = Set(optional_email("email", email)?);
        }
        if let Some(address) = fields.billing_address {
            let a = address.validated("billingAddress")?;
            row.billing_street = Set(a.street);
            row.billing_city = Set(a.city);
            row.billing_state = Set(a.state);
            row.billing_postal_code = Set(a.postal_code);
            row.billing_country = Set(a.country);
        }
        if let Some(address) = fields.shipping_address {
            let a = address.validated("shippingAddress")?;
            row.shipping_street = Set(a.street);
            row.shipping_city = Set(a.city);
            row.shipping_state = Set(a.state);
            row.shipping_postal_code = Set(a.postal_code);
            row.shipping_country = Set(a.country);
        }
        if let Some(revenue) = fields.annual_revenue {
            let units = revenue.map(|r| money::non_negative_units("annualRevenue", r));
            row.annual_revenue = Set(units.transpose()?);
        }
        if let Some(employees) = fields.employees {
            if employees.is_some_and(|e| e < 0) {
                return Err(AppError::bad_input("employees", "must not be negative"));
            }
            row.employees = Set(employees);
        }
        if let Some(parent_id) = fields.parent_id {
            if let Some(parent_id) = parent_id {
                check_parent(db, scope, id, parent_id).await?;
            }
            row.parent_id = Set(parent_id);
        }
        if let Some(owner_id) = fields.owner_id {
            row.owner_id = Set(require_owner(db, scope, owner_id).await?);
        }
        if let Some(description) = text_patch("description", fields.description, 10_000)? {
            row.description = Set(description);
        }
        Ok(())
    }
}

/// The parent must exist, and the account must not end up above itself.
async fn check_parent(
    db: &impl Conn,
    scope: &TenantScope,
    account_id: Option<Uuid>,
    parent_id: Uuid,
) -> AppResult<()> {
    let mut ancestor =
        Some(records::require_reference::<Entity>(db, scope, "parentId", parent_id).await?);
    // A hierarchy deeper than this is a data problem, not an organisation chart.
    for _ in 0..100 {
        let Some(current) = ancestor else {
            return Ok(());
        };
        if Some(current.id) == account_id {
            return Err(AppError::bad_input(
                "parentId",
                "an account cannot be its own parent or ancestor",
            ));
        }
        ancestor = match current.parent_id {
            Some(next) => scope.by_id::<Entity>(next).one(db).await?,
            None => None,
        };
    }
    Err(AppError::bad_input(
        "parentId",
        "the account hierarchy is too deep",
    ))
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: AccountFields,
) -> AppResult<Model> {
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = create_in(&txn, actor, fields).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates the record inside the caller's transaction (lead conversion uses it).
pub async fn create_in(
    txn: &impl Conn,
    actor: &Principal,
    fields: AccountFields,
) -> AppResult<Model> {
    actor.require(Module::Accounts, Access::Write)?;
    if fields.name.is_none() {
        return Err(AppError::bad_input("name", "must not be empty"));
    }
    let scope = actor.scope();
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..empty_row()
    };
    fields.apply(txn, actor, None, &mut row).await?;
    row.account_no = Set(sequences::next_number(txn, &scope, "ACC").await?);
    records::insert::<Entity>(txn, actor, row).await
}

/// Every optional column empty, so that an insert names them all.
fn empty_row() -> ActiveModel {
    ActiveModel {
        industry: Set(None),
        account_type: Set(None),
        website: Set(None),
        phone: Set(None),
        email: Set(None),
        billing_street: Set(None),
        billing_city: Set(None),
        billing_state: Set(None),
        billing_postal_code: Set(None),
        billing_country: Set(None),
        shipping_street: Set(None),
        shipping_city: Set(None),
        shipping_state: Set(None),
        shipping_postal_code: Set(None),
        shipping_country: Set(None),
        annual_revenue: Set(None),
        employees: Set(None),
        parent_id: Set(None),
        description: Set(None),
        ..Default::default()
    }
}
