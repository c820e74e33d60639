use sea_orm::entity::prelude::*;

/// From a date, an employee is paid by a structure with a base pay. Earlier assignments stay
/// as the employee's pay history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "salary_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub employee_id: Uuid,
    pub structure_code: String,
    /// Per pay period, or per day for daily workers (1/10 000 units).
    pub base_pay: i64,
    pub effective_from: Date,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
