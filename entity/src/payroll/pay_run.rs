use sea_orm::entity::prelude::*;

/// The pay of a period for the employees it covers: Draft, Calculated, Approved, Paid or
/// Cancelled. Totals are 1/10 000 units.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pay_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// PAY-00001, per tenant.
    pub run_no: String,
    /// MONTHLY or WEEKLY: the employees paid at this frequency.
    pub frequency: String,
    pub period_start: Date,
    pub period_end: Date,
    pub pay_date: Date,
    /// Only employees of this cost centre, when set.
    pub cost_centre: Option<String>,
    /// Only employees of this employment type, when set.
    pub employment_type: Option<String>,
    /// The approved run whose period this one corrects: it pays only the differences.
    pub correction_of: Option<Uuid>,
    pub status: String,
    pub employee_count: i32,
    pub total_gross: i64,
    pub total_net: i64,
    pub total_pph21: i64,
    pub total_employer_cost: i64,
    pub calculated_by: Option<Uuid>,
    pub calculated_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
