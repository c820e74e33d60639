//! Report versions: every saved definition of a report is kept, like process definitions'
//! versions, and each snapshot names the version it ran. Existing reports get their current
//! definition as their first kept version.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ReportVersions as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(uuid(V::ReportId))
                    .col(integer(V::Version))
                    .col(uuid(V::TenantId))
                    .col(string_len(V::Name, 200))
                    .col(json(V::Definition))
                    .col(uuid(V::SavedBy))
                    .col(timestamp_with_time_zone(V::SavedAt))
                    .primary_key(Index::create().col(V::ReportId).col(V::Version))
                    .foreign_key(&mut tenant_fk(V::Table, V::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(V::Table, V::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let current = Query::select()
            .columns([
                Reports::Id,
                Reports::Version,
                Reports::TenantId,
                Reports::Name,
                Reports::Definition,
                Reports::OwnerId,
                Reports::UpdatedAt,
            ])
            .from(Reports::Table)
            .to_owned();
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(V::Table)
                    .columns([
                        V::ReportId,
                        V::Version,
                        V::TenantId,
                        V::Name,
                        V::Definition,
                        V::SavedBy,
                        V::SavedAt,
                    ])
                    .select_from(current)
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ReportSnapshots::Table)
                    .add_column(integer(ReportSnapshots::ReportVersion).default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ReportSnapshots::Table)
                    .drop_column(ReportSnapshots::ReportVersion)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ReportVersions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Reports {
    Table,
    Id,
    Version,
    TenantId,
    Name,
    Definition,
    OwnerId,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReportSnapshots {
    Table,
    ReportVersion,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReportVersions {
    Table,
    ReportId,
    Version,
    TenantId,
    Name,
    Definition,
    SavedBy,
    SavedAt,
}
