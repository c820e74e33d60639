use sea_orm::entity::prelude::*;

/// A field a tenant's admin added to a module at run time. Values live in the records'
/// `custom_fields` JSON object under `name`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub module: String,
    /// The key in `customFields`, e.g. `npwpNumber`.
    pub name: String,
    pub label: String,
    /// `text`, `number`, `decimal`, `date`, `boolean` or `picklist`.
    pub kind: String,
    /// The allowed values of a picklist field (JSON array of strings).
    pub options: Json,
    pub required: bool,
    pub position: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
