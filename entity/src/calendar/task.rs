use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A to-do with a due date, assigned to a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "tasks")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject: String,
    pub due_date: Option<Date>,
    pub priority: Option<String>,
    pub status: String,
    pub related_module: Option<String>,
    pub related_id: Option<Uuid>,
    /// The assignee.
    pub owner_id: Uuid,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
