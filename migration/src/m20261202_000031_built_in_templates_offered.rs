//! Which built-in process templates each tenant has been offered, so that a start finds the
//! tenants an upgrade's new templates must reach by comparing one column, not by counting
//! every tenant's definitions. Tenants that have all the templates of this release were
//! offered them; the others (none, unless rows were removed by hand) are served at the start.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The built-in templates when this column came, sorted, as they are recorded.
const OFFERED: &[&str] = &[
    "lead-qualification",
    "opportunity-pipeline",
    "order-to-cash-invoice",
    "order-to-cash-order",
    "order-to-cash-quote",
    "payroll-run",
    "procure-to-pay",
    "ticket-lifecycle",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(text_null(Tenants::BuiltInTemplates))
                    .to_owned(),
            )
            .await?;
        let present = Query::select()
            .expr(Func::count_distinct(Expr::col((
                Definitions::Table,
                Definitions::Key,
            ))))
            .from(Definitions::Table)
            .and_where(
                Expr::col((Definitions::Table, Definitions::TenantId))
                    .equals((Tenants::Table, Tenants::Id)),
            )
            .and_where(Expr::col((Definitions::Table, Definitions::Key)).is_in(OFFERED.to_vec()))
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(Tenants::Table)
                    .value(Tenants::BuiltInTemplates, OFFERED.join(","))
                    .and_where(
                        Expr::SubQuery(None, Box::new(present.into_sub_query_statement()))
                            .eq(OFFERED.len() as i64),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::BuiltInTemplates)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    BuiltInTemplates,
}

#[derive(DeriveIden)]
enum Definitions {
    #[sea_orm(iden = "process_definitions")]
    Table,
    TenantId,
    Key,
}
