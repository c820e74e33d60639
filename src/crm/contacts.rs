//! Contacts: people, usually at an account, with a reporting line and communication
//! preferences.

use async_graphql::InputObject;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseBackend, DatabaseConnection, Select};
use uuid::Uuid;

use entity::crm::account;
use entity::crm::contact::{ActiveModel, Column, Entity, Model};

use super::Address;
use crate::auth::Principal;
use crate::custom_fields;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::Module;
use crate::permissions::Access;
use crate::picklists;
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::sequences;
use crate::validation::{Patch, text_patch};
use crate::validation::{optional_email, optional_phone, required_text};

crate::record!(entity::crm::contact, Module::Contacts, |m| full_name(m),
    search: [LastName, FirstName, ContactNo, Email, Phone, Mobile]);

/// Contacts are plain records: no process drives them.
pub static DECLARATION: crate::records::Records<Entity> = crate::records::Records::new()
    .filtered_by::<ContactFilter>()
    .importable();

pub fn full_name(contact: &Model) -> String {
    match &contact.first_name {
        Some(first) => format!("{first} {}", contact.last_name),
        None => contact.last_name.clone(),
    }
}

/// The fields a client sends; on update, only the given ones change.
#[derive(Default)]
pub struct ContactFields {
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub first_name: Patch<String>,
    pub last_name: Option<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub mobile: Patch<String>,
    pub title: Patch<String>,
    pub department: Patch<String>,
    pub account_id: Patch<Uuid>,
    pub reports_to_id: Patch<Uuid>,
    pub lead_source: Patch<String>,
    pub mailing_address: Option<Address>,
    pub birthday: Patch<NaiveDate>,
    pub email_opt_out: Option<bool>,
    pub do_not_call: Option<bool>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "ContactFilterInput")]
pub struct ContactFilter {
    /// On the last name.
    pub name: Option<StringFilter>,
    pub email: Option<StringFilter>,
    pub contact_no: Option<StringFilter>,
    pub lead_source: Option<StringFilter>,
    pub account_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub birthday: Option<RangeFilter<NaiveDate>>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<custom_fields::Condition>>,
}

impl ListFilter<Entity> for ContactFilter {
    fn apply(&self, select: Select<Entity>, backend: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::LastName, self.name.as_ref());
        select = filters::text(select, Column::Email, self.email.as_ref());
        select = filters::text(select, Column::ContactNo, self.contact_no.as_ref());
        select = filters::text(select, Column::LeadSource, self.lead_source.as_ref());
        let account_id = self.account_id.as_ref();
        select = filters::id(select, Column::AccountId, account_id, "filter.accountId")?;
        select = filters::id(
            select,
            Column::OwnerId,
            self.owner_id.as_ref(),
            "filter.ownerId",
        )?;
        select = filters::range(select, Column::Birthday, self.birthday.as_ref());
        select = filters::range(select, Column::CreatedAt, self.created_at.as_ref());
        custom_fields::filter(
            select,
            backend,
            Column::CustomFields,
            self.custom_fields.as_ref(),
        )
    }
}

/// What a list of contacts can be sorted by.
// The GraphQL API uses this enum as it is, under the name ContactOrderField.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ContactOrderField")]
pub enum ContactOrder {
    LastName,
    FirstName,
    ContactNo,
    Email,
    CreatedAt,
    UpdatedAt,
}

order_by!(ContactOrderBy, ContactOrder);

impl OrderField for ContactOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            ContactOrder::LastName => Column::LastName,
            ContactOrder::FirstName => Column::FirstName,
            ContactOrder::ContactNo => Column::ContactNo,
            ContactOrder::Email => Column::Email,
            ContactOrder::CreatedAt => Column::CreatedAt,
            ContactOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

impl Fields<Entity> for ContactFields {
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
        let module = Module::Contacts;
        custom_fields::edit(db, scope, module, current, given, &mut row.custom_fields).await?;
        if let Some(first_name) = text_patch("firstName", fields.first_name, 255)? {
            row.first_name = Set(first_name);
        }
        if let Some(last_name) = fields.last_name {
            row.last_name = Set(required_text("lastName", &last_name, 255)?);
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
        if let Some(title) = text_patch("title", fields.title, 255)? {
            row.title = Set(title);
        }
        if let Some(department) = text_patch("department", fields.department, 255)? {
            row.department = Set(department);
        }
        if let Some(account_id) = fields.account_id {
            if let Some(account_id) = account_id {
                records::require_reference::<account::Entity>(db, scope, "accountId", account_id)
                    .await?;
            }
            row.account_id = Set(account_id);
        }
        if let Some(reports_to_id) = fields.reports_to_id {
            if let Some(manager) = reports_to_id {
                if Some(manager) == id {
                    return Err(AppError::bad_input(
                        "reportsToId",
                        "a contact cannot report to itself",
                    ));
                }
                records::require_reference::<Entity>(db, scope, "reportsToId", manager).await?;
            }
            row.reports_to_id = Set(reports_to_id);
        }
        if let Some(lead_source) = fields.lead_source {
            picklists::check(
                db,
                scope,
                "leadSource",
                "leadSource",
                lead_source.as_deref(),
            )
            .await?;
            row.lead_source = Set(lead_source);
        }
        if let Some(address) = fields.mailing_address {
            let a = address.validated("mailingAddress")?;
            row.mailing_street = Set(a.street);
            row.mailing_city = Set(a.city);
            row.mailing_state = Set(a.state);
            row.mailing_postal_code = Set(a.postal_code);
            row.mailing_country = Set(a.country);
        }
        if let Some(birthday) = fields.birthday {
            if birthday.is_some_and(|b| b > Utc::now().date_naive()) {
                return Err(AppError::bad_input("birthday", "must not be in the future"));
            }
            row.birthday = Set(birthday);
        }
        if let Some(opt_out) = fields.email_opt_out {
            row.email_opt_out = Set(opt_out);
        }
        if let Some(do_not_call) = fields.do_not_call {
            row.do_not_call = Set(do_not_call);
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
    fields: ContactFields,
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
    fields: ContactFields,
) -> AppResult<Model> {
    actor.require(Module::Contacts, Access::Write)?;
    if fields.last_name.is_none() {
        return Err(AppError::bad_input("lastName", "must not be empty"));
    }
    let scope = actor.scope();
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        first_name: Set(None),
        email: Set(None),
        phone: Set(None),
        mobile: Set(None),
        title: Set(None),
        department: Set(None),
        account_id: Set(None),
        reports_to_id: Set(None),
        lead_source: Set(None),
        mailing_street: Set(None),
        mailing_city: Set(None),
        mailing_state: Set(None),
        mailing_postal_code: Set(None),
        mailing_country: Set(None),
        birthday: Set(None),
        email_opt_out: Set(false),
        do_not_call: Set(false),
        owner_id: Set(actor.user_id),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(txn, actor, None, &mut row).await?;
    row.contact_no = Set(sequences::next_number(txn, &scope, "CON").await?);
    records::insert::<Entity>(txn, actor, row).await
}
