//! Reports: tenant-defined analytical reports (see `bpaas::reports`), and the tenant's time
//! zone, which date buckets and relative periods ("this month") are reckoned in.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Reports as R;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(string_len(Tenants::TimeZone, 64).default("UTC"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(pk_uuid(R::Id))
                    .col(uuid(R::TenantId))
                    .col(string_len_null(R::BuiltIn, 64))
                    .col(string_len(R::Name, 200))
                    .col(text_null(R::Description))
                    .col(json(R::Definition))
                    .col(string_len(R::Sharing, 16))
                    .col(string_len(R::SharedRoles, 200))
                    .col(uuid(R::OwnerId))
                    .col(integer(R::Version))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .col(timestamp_with_time_zone(R::UpdatedAt))
                    .foreign_key(&mut tenant_fk(R::Table, R::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reports_tenant_name")
                    .table(R::Table)
                    .col(R::TenantId)
                    .col(R::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reports::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::TimeZone)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    TimeZone,
}

#[derive(DeriveIden, Clone, Copy)]
enum Reports {
    Table,
    Id,
    TenantId,
    BuiltIn,
    Name,
    Description,
    Definition,
    Sharing,
    SharedRoles,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
}
