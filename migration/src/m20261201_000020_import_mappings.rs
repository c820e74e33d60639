//! Saved import mappings: how a tenant's files' columns map to a module's fields, by name.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ImportMappings as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(pk_uuid(M::Id))
                    .col(uuid(M::TenantId))
                    .col(string_len(M::Module, 64))
                    .col(string_len(M::Name, 200))
                    .col(json(M::Mapping))
                    .col(uuid(M::UpdatedBy))
                    .col(timestamp_with_time_zone(M::UpdatedAt))
                    .foreign_key(&mut tenant_fk(M::Table, M::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_import_mappings_tenant_module_name")
                    .table(M::Table)
                    .col(M::TenantId)
                    .col(M::Module)
                    .col(M::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportMappings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ImportMappings {
    Table,
    Id,
    TenantId,
    Module,
    Name,
    Mapping,
    UpdatedBy,
    UpdatedAt,
}
