//! The product catalogue and the stock ledger.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Products {
    Table,
    Id,
    TenantId,
    Code,
    Name,
    Category,
    Manufacturer,
    UnitPrice,
    CostPrice,
    UsageUnit,
    QuantityInStock,
    ReorderLevel,
    Active,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum StockMovements {
    Table,
    Id,
    TenantId,
    ProductId,
    Quantity,
    Cause,
    Reason,
    ActorId,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Products as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(pk_uuid(P::Id))
                    .col(uuid(P::TenantId))
                    .col(string_len(P::Code, 64))
                    .col(string_len(P::Name, 255))
                    .col(string_len_null(P::Category, 200))
                    .col(string_len_null(P::Manufacturer, 200))
                    .col(big_integer(P::UnitPrice))
                    .col(big_integer_null(P::CostPrice))
                    .col(string_len_null(P::UsageUnit, 64))
                    .col(big_integer(P::QuantityInStock))
                    .col(big_integer(P::ReorderLevel))
                    .col(boolean(P::Active))
                    .col(text_null(P::Description))
                    .col(integer(P::Version))
                    .col(timestamp_with_time_zone(P::CreatedAt))
                    .col(timestamp_with_time_zone(P::UpdatedAt))
                    .col(timestamp_with_time_zone_null(P::DeletedAt))
                    .foreign_key(&mut tenant_fk(P::Table, P::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_products_tenant_code")
                    .table(P::Table)
                    .col(P::TenantId)
                    .col(P::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        use StockMovements as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::TenantId))
                    .col(uuid(S::ProductId))
                    .col(big_integer(S::Quantity))
                    .col(string_len(S::Cause, 32))
                    .col(string_len_null(S::Reason, 500))
                    .col(uuid(S::ActorId))
                    .col(timestamp_with_time_zone(S::At))
                    .foreign_key(&mut tenant_fk(S::Table, S::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_stock_movements_tenant_product")
                    .table(S::Table)
                    .col(S::TenantId)
                    .col(S::ProductId)
                    .col(S::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StockMovements::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await
    }
}
