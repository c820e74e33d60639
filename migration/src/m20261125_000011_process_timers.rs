//! Durable process timers, and the SLA breach flag on instances.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ProcessTimers {
    Table,
    Id,
    TenantId,
    InstanceId,
    State,
    DueAt,
    Transition,
    SlaBreach,
}

#[derive(DeriveIden)]
enum ProcessInstances {
    Table,
    SlaBreached,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProcessTimers as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(pk_uuid(T::Id))
                    .col(uuid(T::TenantId))
                    .col(uuid(T::InstanceId))
                    .col(string_len(T::State, 100))
                    .col(timestamp_with_time_zone(T::DueAt))
                    .col(string_len_null(T::Transition, 100))
                    .col(boolean(T::SlaBreach))
                    .foreign_key(&mut tenant_fk(T::Table, T::TenantId))
                    .to_owned(),
            )
            .await?;
        // The worker asks every tenant's due timers at once: by time first.
        manager
            .create_index(
                Index::create()
                    .name("ix_process_timers_due")
                    .table(T::Table)
                    .col(T::DueAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_process_timers_tenant_instance")
                    .table(T::Table)
                    .col(T::TenantId)
                    .col(T::InstanceId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessInstances::Table)
                    .add_column(boolean(ProcessInstances::SlaBreached).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessInstances::Table)
                    .drop_column(ProcessInstances::SlaBreached)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ProcessTimers::Table).to_owned())
            .await
    }
}
