//! Scheduled reports: a report's schedule (run as the user who set it), and the snapshots
//! its runs store for later download.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ReportSchedules as S;
        use ReportSnapshots as N;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::TenantId))
                    .col(uuid_uniq(S::ReportId))
                    .col(uuid(S::OwnerId))
                    .col(string_len(S::Frequency, 16))
                    .col(string_len(S::Cron, 120))
                    .col(boolean(S::Active))
                    .col(timestamp_with_time_zone(S::NextRunAt))
                    .col(timestamp_with_time_zone_null(S::LastRunAt))
                    .col(timestamp_with_time_zone_null(S::LockedUntil))
                    .col(integer(S::Version))
                    .col(timestamp_with_time_zone(S::CreatedAt))
                    .col(timestamp_with_time_zone(S::UpdatedAt))
                    .foreign_key(&mut tenant_fk(S::Table, S::TenantId))
                    .foreign_key(&mut report_fk(S::Table, S::ReportId))
                    .to_owned(),
            )
            .await?;
        // The worker's one query across tenants: what is due next.
        manager
            .create_index(
                Index::create()
                    .name("ix_report_schedules_due")
                    .table(S::Table)
                    .col(S::Active)
                    .col(S::NextRunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(N::Table)
                    .col(pk_uuid(N::Id))
                    .col(uuid(N::TenantId))
                    .col(uuid(N::ReportId))
                    .col(uuid_null(N::ScheduleId))
                    .col(uuid(N::TakenBy))
                    .col(string_len(N::Status, 16))
                    .col(text_null(N::Error))
                    .col(big_integer(N::RowCount))
                    .col(string_len(N::Modules, 400))
                    .col(text_null(N::Content))
                    .col(timestamp_with_time_zone(N::CreatedAt))
                    .foreign_key(&mut tenant_fk(N::Table, N::TenantId))
                    .foreign_key(&mut report_fk(N::Table, N::ReportId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_report_snapshots_report")
                    .table(N::Table)
                    .col(N::TenantId)
                    .col(N::ReportId)
                    .col(N::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReportSnapshots::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ReportSchedules::Table).to_owned())
            .await
    }
}

/// A schedule or snapshot goes with its report.
fn report_fk<T: IntoIden + Copy + 'static>(table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Reports::Table, Reports::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum Reports {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReportSchedules {
    Table,
    Id,
    TenantId,
    ReportId,
    OwnerId,
    Frequency,
    Cron,
    Active,
    NextRunAt,
    LastRunAt,
    LockedUntil,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ReportSnapshots {
    Table,
    Id,
    TenantId,
    ReportId,
    ScheduleId,
    TakenBy,
    Status,
    Error,
    RowCount,
    Modules,
    Content,
    CreatedAt,
}
