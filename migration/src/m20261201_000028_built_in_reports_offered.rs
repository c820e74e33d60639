//! Which built-in reports each tenant has been offered, so that an upgrade's new built-ins reach
//! every tenant while the ones a tenant deleted stay deleted. Tenants that have built-ins were
//! offered the eleven of the first release of reports.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The built-in reports of the first release, as they were offered.
const FIRST_RELEASE: &str = "leads-by-source-and-status,overdue-invoices-aging,\
payroll-cost-by-month,pipeline-by-stage,process-sla-breaches,purchase-spend-by-vendor,\
sales-by-account,sales-by-product,stock-value-by-product,tickets-by-status-and-priority,\
won-revenue-by-month";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(text_null(Tenants::BuiltInReports))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Tenants::Table)
                    .value(Tenants::BuiltInReports, FIRST_RELEASE)
                    .and_where(Expr::exists(
                        Query::select()
                            .expr(Expr::val(1))
                            .from(Reports::Table)
                            .and_where(
                                Expr::col((Reports::Table, Reports::TenantId))
                                    .equals((Tenants::Table, Tenants::Id)),
                            )
                            .and_where(Expr::col((Reports::Table, Reports::BuiltIn)).is_not_null())
                            .to_owned(),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::BuiltInReports)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    BuiltInReports,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    TenantId,
    BuiltIn,
}
