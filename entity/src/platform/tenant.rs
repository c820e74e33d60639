use sea_orm::entity::prelude::*;

/// A company using bpaas. Tenants are created by operators, never through the API.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub created_at: DateTimeUtc,
    /// ISO 4217 code of the currency amounts are kept in unless a document says otherwise.
    pub base_currency: String,
    /// Whether issuing an invoice may take more stock than there is.
    pub allow_negative_stock: bool,
    /// Purchase orders above this grand total (1/10 000 units) need a manager's approval.
    pub purchase_approval_limit: Option<i64>,
    /// Whether a pay run must be approved by someone other than who calculated it.
    pub payroll_separate_approver: bool,
    /// IANA time zone (`Asia/Jakarta`) that reports reckon dates and periods in.
    pub time_zone: String,
    /// Set while the operator has disabled the tenant: no sign-in, token or key of its works.
    pub disabled_at: Option<DateTimeUtc>,
    /// The built-in reports it has been offered, comma-separated keys: a deleted one is not
    /// offered again, a new one is.
    pub built_in_reports: Option<String>,
    /// The built-in process templates it has been offered, sorted comma-separated keys.
    pub built_in_templates: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::user::Entity")]
    Users,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
