use sea_orm::entity::prelude::*;

/// A report's rows as they were when it ran, kept for download (see
/// `bpaas::reports::snapshots`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub report_id: Uuid,
    /// The version of the report it ran.
    pub report_version: i32,
    /// The schedule that took it; none when taken by hand.
    pub schedule_id: Option<Uuid>,
    /// Whose rights it was computed with.
    pub taken_by: Uuid,
    /// `ready` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    pub row_count: i64,
    /// Comma-separated modules it read: a viewer must still be allowed to read them all.
    pub modules: String,
    /// The rows as CSV (RFC 4180, header row), when ready.
    pub content: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
