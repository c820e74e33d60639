//! Dashboards: named, shared layouts of report widgets (charts and KPIs).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Dashboards as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(pk_uuid(D::Id))
                    .col(uuid(D::TenantId))
                    .col(string_len(D::Name, 200))
                    .col(json(D::Widgets))
                    .col(string_len(D::Sharing, 16))
                    .col(string_len(D::SharedRoles, 200))
                    .col(uuid(D::OwnerId))
                    .col(integer(D::Version))
                    .col(timestamp_with_time_zone(D::CreatedAt))
                    .col(timestamp_with_time_zone(D::UpdatedAt))
                    .foreign_key(&mut tenant_fk(D::Table, D::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_dashboards_tenant_name")
                    .table(D::Table)
                    .col(D::TenantId)
                    .col(D::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Dashboards::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Dashboards {
    Table,
    Id,
    TenantId,
    Name,
    Widgets,
    Sharing,
    SharedRoles,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
}
