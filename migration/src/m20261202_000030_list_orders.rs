//! Lists page by keyset (the sort value and id of the last row seen): each list's default
//! order gets an index led by tenant_id, so that a page is a range scan at any depth.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Index name, table, the sort column (the id after it breaks ties).
const ORDERS: &[(&str, &str, &str)] = &[
    (
        "ix_process_instances_tenant_started",
        "process_instances",
        "started_at",
    ),
    ("ix_quotes_tenant_created", "quotes", "created_at"),
    (
        "ix_sales_orders_tenant_created",
        "sales_orders",
        "created_at",
    ),
    ("ix_invoices_tenant_created", "invoices", "created_at"),
    (
        "ix_purchase_orders_tenant_created",
        "purchase_orders",
        "created_at",
    ),
    ("ix_payslips_tenant_period", "payslips", "period_end"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for &(name, table, column) in ORDERS {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Alias::new(table))
                        .col(Alias::new("tenant_id"))
                        .col(Alias::new(column))
                        .col(Alias::new("id"))
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for &(name, table, _) in ORDERS {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
