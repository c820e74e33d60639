use sea_orm::entity::prelude::*;

/// A CSV import: `running` with its counts so far, then `done` with its report, or `failed`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub module: String,
    pub status: String,
    pub dry_run: bool,
    /// Rows read so far.
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    /// The full report (columns, problems) once done.
    pub report: Option<Json>,
    /// Why the job stopped, when it failed.
    pub error: Option<String>,
    pub created_by: Uuid,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
