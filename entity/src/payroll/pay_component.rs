use sea_orm::entity::prelude::*;

/// Something a payslip pays, deducts or shows, by code (ALLOWANCE, BONUS, LOAN).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pay_components")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub code: String,
    pub name: String,
    /// EARNING, DEDUCTION, EMPLOYER_CONTRIBUTION or STATISTICAL.
    pub kind: String,
    /// A fixed amount (1/10 000 units), or…
    pub amount: Option<i64>,
    /// …a formula (CEL syntax, decimal arithmetic).
    pub formula: Option<String>,
    pub condition: Option<String>,
    pub taxable: bool,
    pub bpjs_base: bool,
    pub prorated: bool,
    /// NEAREST, DOWN or UP.
    pub rounding: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
