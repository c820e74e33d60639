use sea_orm::entity::prelude::*;

/// One employee's pay in one pay run. Amounts are 1/10 000 units; `lines` holds each
/// component with what it was computed from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payslips")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub pay_run_id: Uuid,
    pub employee_id: Uuid,
    pub period_end: Date,
    /// TER_MONTHLY, TER_DAILY or ANNUAL.
    pub tax_method: String,
    pub lines: Json,
    pub days_worked: i64,
    pub gross: i64,
    pub taxable_gross: i64,
    pub bpjs_employee: i64,
    pub bpjs_employer: i64,
    pub deductible: i64,
    pub pph21: i64,
    pub net: i64,
    /// The tax year so far, this payslip included.
    pub year_to_date: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
