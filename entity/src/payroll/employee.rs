use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A person the tenant pays.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "employees")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// EMP-00001, per tenant.
    pub employee_no: String,
    pub name: String,
    pub email: Option<String>,
    /// The user who may read this employee's payslips.
    pub user_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub hire_date: Date,
    pub termination_date: Option<Date>,
    /// PERMANENT, NON_PERMANENT_MONTHLY or DAILY.
    pub employment_type: String,
    /// MONTHLY or WEEKLY.
    pub pay_frequency: String,
    /// PTKP status: TK/0…TK/3, K/0…K/3, K/I/0…K/I/3.
    pub tax_status: String,
    /// NPWP or NIK.
    pub tax_id: Option<String>,
    pub bank_holder: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub cost_centre: Option<String>,
    /// JKK risk group 1 (very low) to 5 (very high).
    pub jkk_class: i32,
    pub owner_id: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
