//! Employees: who the tenant pays, how (type, frequency, bank account) and how they are taxed.

use async_graphql::InputObject;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseBackend, DatabaseConnection, Select};
use uuid::Uuid;

use entity::crm::contact;
use entity::payroll::employee::{ActiveModel, Column, Entity, Model};
use entity::platform::user;

use super::calc::{EmploymentType, PayFrequency};
use super::stored;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::Module;
use crate::permissions::Access;
use crate::records::{self, Fields, require_owner};
use crate::sequences;
use crate::validation::{Patch, optional_email, required_text, text_patch};

crate::record!(entity::payroll::employee, Module::Payroll, |m| m.name.clone(),
    search: [Name, EmployeeNo, Email]);

/// The PTKP statuses an employee may have.
pub const TAX_STATUSES: [&str; 12] = [
    "TK/0", "TK/1", "TK/2", "TK/3", "K/0", "K/1", "K/2", "K/3", "K/I/0", "K/I/1", "K/I/2", "K/I/3",
];

/// The fields a client sends; on update, only the given ones change.
#[derive(Default)]
pub struct EmployeeFields {
    pub name: Option<String>,
    pub email: Patch<String>,
    pub user_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub hire_date: Option<NaiveDate>,
    pub termination_date: Patch<NaiveDate>,
    pub employment_type: Option<EmploymentType>,
    pub pay_frequency: Option<PayFrequency>,
    pub tax_status: Option<String>,
    pub tax_id: Patch<String>,
    pub bank_holder: Patch<String>,
    pub bank_name: Patch<String>,
    pub bank_account: Patch<String>,
    pub cost_centre: Patch<String>,
    pub jkk_class: Option<i32>,
    pub owner_id: Option<Uuid>,
}

#[derive(InputObject, Default)]
#[graphql(name = "EmployeeFilterInput")]
pub struct EmployeeFilter {
    pub name: Option<StringFilter>,
    pub cost_centre: Option<StringFilter>,
    pub employment_type: Option<StringFilter>,
    pub pay_frequency: Option<StringFilter>,
    pub hire_date: Option<RangeFilter<NaiveDate>>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
}

impl ListFilter<Entity> for EmployeeFilter {
    fn apply(&self, select: Select<Entity>, _: DatabaseBackend) -> AppResult<Select<Entity>> {
        let select = filters::text(select, Column::Name, self.name.as_ref());
        let select = filters::text(select, Column::CostCentre, self.cost_centre.as_ref());
        let select = filters::text(
            select,
            Column::EmploymentType,
            self.employment_type.as_ref(),
        );
        let select = filters::text(select, Column::PayFrequency, self.pay_frequency.as_ref());
        let select = filters::range(select, Column::HireDate, self.hire_date.as_ref());
        Ok(filters::range(
            select,
            Column::CreatedAt,
            self.created_at.as_ref(),
        ))
    }
}

/// What a list of employees can be sorted by.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "EmployeeOrderField")]
pub enum EmployeeOrder {
    EmployeeNo,
    Name,
    HireDate,
    CreatedAt,
}

order_by!(EmployeeOrderBy, EmployeeOrder);

impl OrderField for EmployeeOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            EmployeeOrder::EmployeeNo => Column::EmployeeNo,
            EmployeeOrder::Name => Column::Name,
            EmployeeOrder::HireDate => Column::HireDate,
            EmployeeOrder::CreatedAt => Column::CreatedAt,
        }
    }
}

impl Fields<Entity> for EmployeeFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        if let Some(name) = fields.name {
            row.name = Set(required_text("name", &name, 200)?);
        }
        if let Some(email) = fields.email {
            row.email = Set(optional_email("email", email)?);
        }
        if let Some(user_id) = fields.user_id {
            if let Some(id) = user_id {
                scope
                    .by_id::<user::Entity>(id)
                    .one(db)
                    .await?
                    .ok_or_else(|| AppError::ReferenceNotFound {
                        field: "userId".into(),
                        what: "user",
                    })?;
            }
            row.user_id = Set(user_id);
        }
        if let Some(contact_id) = fields.contact_id {
            if let Some(id) = contact_id {
                records::require_reference::<contact::Entity>(db, scope, "contactId", id).await?;
            }
            row.contact_id = Set(contact_id);
        }
        let hire_date = fields.hire_date.or(before.map(|b| b.hire_date));
        let termination_date = match fields.termination_date {
            Some(given) => given,
            None => before.and_then(|b| b.termination_date),
        };
        if let (Some(hire), Some(termination)) = (hire_date, termination_date)
            && termination < hire
        {
            return Err(AppError::bad_input(
                "terminationDate",
                "must not be before the hire date",
            ));
        }
        if let Some(hire_date) = fields.hire_date {
            row.hire_date = Set(hire_date);
        }
        if let Some(termination_date) = fields.termination_date {
            row.termination_date = Set(termination_date);
        }
        if let Some(employment_type) = fields.employment_type {
            row.employment_type = Set(stored(employment_type));
        }
        if let Some(pay_frequency) = fields.pay_frequency {
            row.pay_frequency = Set(stored(pay_frequency));
        }
        if let Some(status) = fields.tax_status {
            if !TAX_STATUSES.contains(&status.as_str()) {
                return Err(AppError::bad_input(
                    "taxStatus",
                    format!("one of {}", TAX_STATUSES.join(", ")),
                ));
            }
            row.tax_status = Set(status);
        }
        if let Some(tax_id) = fields.tax_id {
            row.tax_id = Set(tax_id_of(tax_id)?);
        }
        if let Some(holder) = text_patch("bankHolder", fields.bank_holder, 200)? {
            row.bank_holder = Set(holder);
        }
        if let Some(bank) = text_patch("bankName", fields.bank_name, 100)? {
            row.bank_name = Set(bank);
        }
        if let Some(account) = text_patch("bankAccount", fields.bank_account, 64)? {
            row.bank_account = Set(account);
        }
        if let Some(centre) = text_patch("costCentre", fields.cost_centre, 100)? {
            row.cost_centre = Set(centre);
        }
        if let Some(class) = fields.jkk_class {
            if !(1..=5).contains(&class) {
                return Err(AppError::bad_input(
                    "jkkClass",
                    "a JKK risk group from 1 to 5",
                ));
            }
            row.jkk_class = Set(class);
        }
        if let Some(owner_id) = fields.owner_id {
            row.owner_id = Set(require_owner(db, scope, owner_id).await?);
        }
        Ok(())
    }
}

/// An NPWP (15 or 16 digits) or NIK (16 digits); dots and dashes as printed are allowed.
fn tax_id_of(value: Option<String>) -> AppResult<Option<String>> {
    let Some(text) = value else { return Ok(None) };
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | ' '))
        .collect();
    if !(15..=16).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::bad_input(
            "taxId",
            "an NPWP or NIK of 15 or 16 digits",
        ));
    }
    Ok(Some(digits))
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: EmployeeFields,
) -> AppResult<Model> {
    actor.require(Module::Payroll, Access::Write)?;
    for (missing, field) in [
        (fields.name.is_none(), "name"),
        (fields.hire_date.is_none(), "hireDate"),
        (fields.tax_status.is_none(), "taxStatus"),
    ] {
        if missing {
            return Err(AppError::bad_input(field, "is required"));
        }
    }
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        email: Set(None),
        user_id: Set(None),
        contact_id: Set(None),
        termination_date: Set(None),
        employment_type: Set(stored(EmploymentType::Permanent)),
        pay_frequency: Set(stored(PayFrequency::Monthly)),
        tax_id: Set(None),
        bank_holder: Set(None),
        bank_name: Set(None),
        bank_account: Set(None),
        cost_centre: Set(None),
        jkk_class: Set(1),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(&txn, actor, None, &mut row).await?;
    row.employee_no = Set(sequences::next_number(&txn, &scope, "EMP").await?);
    let created = records::insert::<Entity>(&txn, actor, row).await?;
    txn.commit().await?;
    Ok(created)
}
