use sea_orm::entity::prelude::*;

/// A named, saved mapping of a file's column headers to a module's fields, for imports.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub module: String,
    /// Unique per tenant and module.
    pub name: String,
    /// `{"Column header": "field"}`.
    pub mapping: Json,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
