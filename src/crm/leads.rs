//! Leads: prospects to qualify. Converting a lead, in one transaction, creates (or links) an
//! account, creates a contact and optionally an opportunity, and marks the lead converted; a
//! converted lead can be neither converted nor edited again.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection, DatabaseExecutor,
    QueryFilter, Select,
};
use uuid::Uuid;

use entity::crm::lead::{ActiveModel, Column, Entity, Model};
use entity::crm::{account, contact, opportunity};

use super::Address;
use super::accounts::{self, AccountFields};
use super::contacts::{self, ContactFields};
use super::opportunities::{self, OpportunityFields};
use crate::auth::Principal;
use crate::custom_fields;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::{Module, StatusField, Subject};
use crate::money;
use crate::permissions::Access;
use crate::picklists;
use crate::process::binding::{self, starts_in};
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::sequences;
use crate::validation::{Patch, text_patch};
use crate::validation::{optional_email, optional_phone, optional_url, required_text};

crate::record!(entity::crm::lead, Module::Leads, |m| format!("{} ({})", m.last_name, m.company),
    search: [LastName, FirstName, Company, LeadNo, Email, Phone]);

#[derive(Default)]
pub struct LeadFields {
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub first_name: Patch<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub title: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub mobile: Patch<String>,
    pub website: Patch<String>,
    pub lead_source: Patch<String>,
    pub lead_status: Patch<String>,
    pub rating: Patch<String>,
    pub industry: Patch<String>,
    pub annual_revenue: Patch<Decimal>,
    pub employees: Patch<i32>,
    pub address: Option<Address>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "LeadFilterInput")]
pub struct LeadFilter {
    /// On the last name.
    pub name: Option<StringFilter>,
    pub company: Option<StringFilter>,
    pub email: Option<StringFilter>,
    pub lead_status: Option<StringFilter>,
    pub lead_source: Option<StringFilter>,
    pub rating: Option<StringFilter>,
    pub owner_id: Option<IdFilter>,
    /// `true`: converted leads only; `false`: open leads only.
    pub converted: Option<bool>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<custom_fields::Condition>>,
}

impl ListFilter<Entity> for LeadFilter {
    fn apply(&self, select: Select<Entity>, backend: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::LastName, self.name.as_ref());
        select = filters::text(select, Column::Company, self.company.as_ref());
        select = filters::text(select, Column::Email, self.email.as_ref());
        select = filters::text(select, Column::LeadStatus, self.lead_status.as_ref());
        select = filters::text(select, Column::LeadSource, self.lead_source.as_ref());
        select = filters::text(select, Column::Rating, self.rating.as_ref());
        select = filters::id(
            select,
            Column::OwnerId,
            self.owner_id.as_ref(),
            "filter.ownerId",
        )?;
        select = match self.converted {
            Some(true) => select.filter(Column::ConvertedContactId.is_not_null()),
            Some(false) => select.filter(Column::ConvertedContactId.is_null()),
            None => select,
        };
        select = filters::range(select, Column::CreatedAt, self.created_at.as_ref());
        custom_fields::filter(
            select,
            backend,
            Column::CustomFields,
            self.custom_fields.as_ref(),
        )
    }
}

/// What a list of leads can be sorted by.
// The GraphQL API uses this enum as it is, under the name LeadOrderField.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "LeadOrderField")]
pub enum LeadOrder {
    LastName,
    Company,
    LeadNo,
    LeadStatus,
    CreatedAt,
    UpdatedAt,
}

order_by!(LeadOrderBy, LeadOrder);

impl OrderField for LeadOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            LeadOrder::LastName => Column::LastName,
            LeadOrder::Company => Column::Company,
            LeadOrder::LeadNo => Column::LeadNo,
            LeadOrder::LeadStatus => Column::LeadStatus,
            LeadOrder::CreatedAt => Column::CreatedAt,
            LeadOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

impl Fields<Entity> for LeadFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        if let Some(before) = before {
            if fields.lead_status.is_some() {
                let id = before.id;
                binding::refuse_direct_change(db, actor, Module::Leads, id, "leadStatus").await?;
            }
            refuse_if_converted(before)?;
        }
        let (current, given) = (before.map(|b| &b.custom_fields), fields.custom_fields);
        let module = Module::Leads;
        custom_fields::edit(db, scope, module, current, given, &mut row.custom_fields).await?;
        if let Some(first_name) = text_patch("firstName", fields.first_name, 255)? {
            row.first_name = Set(first_name);
        }
        if let Some(last_name) = fields.last_name {
            row.last_name = Set(required_text("lastName", &last_name, 255)?);
        }
        if let Some(company) = fields.company {
            row.company = Set(required_text("company", &company, 255)?);
        }
        if let Some(title) = text_patch("title", fields.title, 255)? {
            row.title = Set(title);
        }
        if let Some(email) = fields.email {
            row.email = Set(optional_email("email", email)?);
        }
        if let Some(phone) = fields.phone {
            row.phone = Set(optional_phone("phone", phone)?);
        }
        if let Some(mobile) = fields.mobile {
            row.mobile = Set(optional_phone("mobile", mobile)?);
        }
        if let Some(website) = fields.website {
            row.website = Set(optional_url("website", website)?);
        }
        for (picklist, field, value, column) in [
            (
                "leadSource",
                "leadSource",
                fields.lead_source,
                &mut row.lead_source,
            ),
            (
                "leadStatus",
                "leadStatus",
                fields.lead_status,
                &mut row.lead_status,
            ),
            ("rating", "rating", fields.rating, &mut row.rating),
            ("industry", "industry", fields.industry, &mut row.industry),
        ] {
            if let Some(value) = value {
                picklists::check(db, scope, picklist, field, value.as_deref()).await?;
                *column = Set(value);
            }
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
        if let Some(address) = fields.address {
            let a = address.validated("address")?;
            row.street = Set(a.street);
            row.city = Set(a.city);
            row.state = Set(a.state);
            row.postal_code = Set(a.postal_code);
            row.country = Set(a.country);
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

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: LeadFields,
) -> AppResult<Model> {
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = create_in(&txn, actor, fields).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates the lead inside the caller's transaction (imports use it); a bound process starts.
pub async fn create_in(
    txn: &impl Conn,
    actor: &Principal,
    mut fields: LeadFields,
) -> AppResult<Model> {
    actor.require(Module::Leads, Access::Write)?;
    if fields.last_name.is_none() {
        return Err(AppError::bad_input("lastName", "must not be empty"));
    }
    if fields.company.is_none() {
        return Err(AppError::bad_input("company", "must not be empty"));
    }
    let scope = actor.scope();
    if let Some(initial) = binding::bound_initial_state(txn, &scope, Module::Leads).await? {
        if fields
            .lead_status
            .as_ref()
            .and_then(Option::as_ref)
            .is_some_and(|s| *s != initial)
        {
            return Err(starts_in("leadStatus", &initial));
        }
        fields.lead_status = Some(Some(initial));
    }
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        first_name: Set(None),
        title: Set(None),
        email: Set(None),
        phone: Set(None),
        mobile: Set(None),
        website: Set(None),
        lead_source: Set(None),
        lead_status: Set(None),
        rating: Set(None),
        industry: Set(None),
        annual_revenue: Set(None),
        employees: Set(None),
        street: Set(None),
        city: Set(None),
        state: Set(None),
        postal_code: Set(None),
        country: Set(None),
        owner_id: Set(actor.user_id),
        description: Set(None),
        converted_at: Set(None),
        converted_account_id: Set(None),
        converted_contact_id: Set(None),
        converted_opportunity_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(txn, actor, None, &mut row).await?;
    row.lead_no = Set(sequences::next_number(txn, &scope, "LEA").await?);
    let created = records::insert::<Entity>(txn, actor, row).await?;
    binding::start_for_record(txn, actor, Module::Leads, created.id).await?;
    Ok(created)
}

fn refuse_if_converted(lead: &Model) -> AppResult<()> {
    if lead.converted_at.is_some() {
        return Err(AppError::Conflict(
            "the lead is converted; work with its account, contact and opportunity instead".into(),
        ));
    }
    Ok(())
}

/// How to convert a lead.
#[derive(Default)]
pub struct Conversion {
    /// Link the contact to this existing account instead of creating one from the company.
    pub account_id: Option<Uuid>,
    /// Also open an opportunity with these fields (account, contact and owner are filled in).
    pub opportunity: Option<OpportunityFields>,
}

pub struct Converted {
    pub lead: Model,
    pub account: account::Model,
    pub contact: contact::Model,
    pub opportunity: Option<opportunity::Model>,
}

/// Converts a lead, all or nothing.
pub async fn convert(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    conversion: Conversion,
) -> AppResult<Converted> {
    actor.require(Module::Leads, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let lead = records::get::<Entity>(&txn, &scope, id).await?;
    refuse_if_converted(&lead)?;
    if lead.version != version {
        return Err(records::stale(Module::Leads));
    }
    let address = Address {
        street: lead.street.clone(),
        city: lead.city.clone(),
        state: lead.state.clone(),
        postal_code: lead.postal_code.clone(),
        country: lead.country.clone(),
    };
    let account = match conversion.account_id {
        Some(account_id) => {
            records::require_reference::<account::Entity>(&txn, &scope, "accountId", account_id)
                .await?
        }
        None => {
            let fields = AccountFields {
                name: Some(lead.company.clone()),
                industry: Some(lead.industry.clone()),
                website: Some(lead.website.clone()),
                phone: Some(lead.phone.clone()),
                billing_address: Some(address.clone()),
                annual_revenue: Some(lead.annual_revenue.map(money::from_units)),
                employees: Some(lead.employees),
                owner_id: Some(lead.owner_id),
                ..Default::default()
            };
            accounts::create_in(&txn, actor, fields).await?
        }
    };
    let contact_fields = ContactFields {
        first_name: Some(lead.first_name.clone()),
        last_name: Some(lead.last_name.clone()),
        email: Some(lead.email.clone()),
        phone: Some(lead.phone.clone()),
        mobile: Some(lead.mobile.clone()),
        title: Some(lead.title.clone()),
        account_id: Some(Some(account.id)),
        lead_source: Some(lead.lead_source.clone()),
        mailing_address: Some(address),
        owner_id: Some(lead.owner_id),
        ..Default::default()
    };
    let contact = contacts::create_in(&txn, actor, contact_fields).await?;
    let opportunity = match conversion.opportunity {
        Some(mut fields) => {
            // The opportunity belongs to the converted account and the new contact. A reference
            // given anyway is checked like any other (another tenant's is NOT_FOUND), never
            // silently replaced.
            if let Some(Some(given)) = fields.account_id {
                records::require_reference::<account::Entity>(
                    &txn,
                    &scope,
                    "opportunity.accountId",
                    given,
                )
                .await?;
                if given != account.id {
                    return Err(AppError::bad_input(
                        "opportunity.accountId",
                        "must be the converted account (give accountId beside opportunity)",
                    ));
                }
            }
            if let Some(Some(given)) = fields.contact_id {
                records::require_reference::<contact::Entity>(
                    &txn,
                    &scope,
                    "opportunity.contactId",
                    given,
                )
                .await?;
                return Err(AppError::bad_input(
                    "opportunity.contactId",
                    "the opportunity gets the contact the conversion creates",
                ));
            }
            fields.account_id = Some(Some(account.id));
            fields.contact_id = Some(Some(contact.id));
            if fields.lead_source.as_ref().is_none_or(Option::is_none) {
                fields.lead_source = Some(lead.lead_source.clone());
            }
            fields.owner_id.get_or_insert(lead.owner_id);
            Some(opportunities::create_in(&txn, actor, fields).await?)
        }
        None => None,
    };
    let changes = ActiveModel {
        converted_at: Set(Some(Utc::now())),
        converted_account_id: Set(Some(account.id)),
        converted_contact_id: Set(Some(contact.id)),
        converted_opportunity_id: Set(opportunity.as_ref().map(|o| o.id)),
        ..Default::default()
    };
    let lead = records::update::<Entity>(&txn, actor, lead, version, changes).await?;
    // The lead's own process (lead qualification) has done its job.
    binding::complete_for_record(&txn, actor, Module::Leads, id).await?;
    txn.commit().await?;
    Ok(Converted {
        lead,
        account,
        contact,
        opportunity,
    })
}

/// Sets one field from a process action (`setField`), inside the caller's transaction, with
/// the same validation as an update. The status is the process's own, so it is not settable.
pub async fn set_field_in(
    txn: &impl Conn,
    actor: &Principal,
    id: Uuid,
    field: &str,
    value: &serde_json::Value,
) -> AppResult<()> {
    let text = || value.as_str().map(str::to_owned);
    let mut fields = LeadFields::default();
    match field {
        "title" => fields.title = Some(text()),
        "company" => fields.company = text(),
        "rating" => fields.rating = Some(text()),
        "industry" => fields.industry = Some(text()),
        "leadSource" => fields.lead_source = Some(text()),
        "description" => fields.description = Some(text()),
        _ => {
            return Err(AppError::bad_input(
                "transition",
                format!("setField: '{field}' cannot be set by a process"),
            ));
        }
    }
    let before = records::get::<Entity>(txn, &actor.scope(), id).await?;
    let version = before.version;
    records::edit_in(txn, actor, before, version, fields).await?;
    Ok(())
}

/// Leads are records a bound process may drive.
pub static DECLARATION: records::Records<Entity> = records::Records::driven_by(&LeadProcess)
    .filtered_by::<LeadFilter>()
    .importable();

/// How a bound process drives a lead: its state is the lead status.
pub struct LeadProcess;

impl Subject for LeadProcess {
    fn status(&self) -> StatusField {
        StatusField {
            picklist: "leadStatus",
            field: "leadStatus",
        }
    }

    fn settable_fields(&self) -> &'static [&'static str] {
        &[
            "title",
            "company",
            "rating",
            "industry",
            "leadSource",
            "description",
        ]
    }

    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            let changes = ActiveModel {
                lead_status: Set(Some(state.to_owned())),
                ..Default::default()
            };
            records::change::<Entity>(txn, actor, id, changes)
                .await
                .map(drop)
        })
    }

    fn set_field<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        field: &'a str,
        value: &'a serde_json::Value,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(set_field_in(txn, actor, id, field, value))
    }
}
