//! Import jobs: a CSV import runs as a job whose progress and result clients can follow.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ImportJobs as J;
        manager
            .create_table(
                Table::create()
                    .table(J::Table)
                    .col(pk_uuid(J::Id))
                    .col(uuid(J::TenantId))
                    .col(string_len(J::Module, 64))
                    .col(string_len(J::Status, 16))
                    .col(boolean(J::DryRun))
                    .col(big_integer(J::Rows))
                    .col(big_integer(J::Created))
                    .col(big_integer(J::Updated))
                    .col(big_integer(J::Skipped))
                    .col(big_integer(J::Failed))
                    .col(json_null(J::Report))
                    .col(string_len_null(J::Error, 500))
                    .col(uuid(J::CreatedBy))
                    .col(timestamp_with_time_zone(J::StartedAt))
                    .col(timestamp_with_time_zone_null(J::FinishedAt))
                    .foreign_key(&mut tenant_fk(J::Table, J::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_jobs_tenant_started")
                    .table(J::Table)
                    .col(J::TenantId)
                    .col(J::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportJobs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ImportJobs {
    Table,
    Id,
    TenantId,
    Module,
    Status,
    DryRun,
    Rows,
    Created,
    Updated,
    Skipped,
    Failed,
    Report,
    Error,
    CreatedBy,
    StartedAt,
    FinishedAt,
}
