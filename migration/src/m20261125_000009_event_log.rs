//! The durable event log behind subscriptions.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum EventLog {
    Table,
    TenantId,
    Sequence,
    Id,
    Module,
    RecordId,
    Action,
    ActorId,
    At,
    ChangedFields,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use EventLog as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(uuid(L::TenantId))
                    .col(big_integer(L::Sequence))
                    .col(uuid(L::Id))
                    .col(string_len(L::Module, 64))
                    .col(uuid(L::RecordId))
                    .col(string_len(L::Action, 16))
                    .col(uuid(L::ActorId))
                    .col(timestamp_with_time_zone(L::At))
                    .col(json(L::ChangedFields))
                    // Reading "everything after N" of one tenant is the hot path.
                    .primary_key(Index::create().col(L::TenantId).col(L::Sequence))
                    .foreign_key(&mut tenant_fk(L::Table, L::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_event_log_tenant_record")
                    .table(L::Table)
                    .col(L::TenantId)
                    .col(L::RecordId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventLog::Table).to_owned())
            .await
    }
}
