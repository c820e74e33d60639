//! Events with invitees and recurrence, and tasks.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Events as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(pk_uuid(E::Id))
                    .col(uuid(E::TenantId))
                    .col(string_len(E::Subject, 255))
                    .col(string_len(E::EventType, 200))
                    .col(timestamp_with_time_zone(E::StartAt))
                    .col(timestamp_with_time_zone(E::EndAt))
                    .col(boolean(E::AllDay))
                    .col(string_len_null(E::Location, 255))
                    .col(string_len(E::Status, 200))
                    .col(string_len_null(E::RelatedModule, 64))
                    .col(uuid_null(E::RelatedId))
                    .col(integer_null(E::ReminderMinutes))
                    .col(string_len_null(E::Recurrence, 500))
                    .col(uuid(E::OwnerId))
                    .col(text_null(E::Description))
                    .col(integer(E::Version))
                    .col(timestamp_with_time_zone(E::CreatedAt))
                    .col(timestamp_with_time_zone(E::UpdatedAt))
                    .col(timestamp_with_time_zone_null(E::DeletedAt))
                    .foreign_key(&mut tenant_fk(E::Table, E::TenantId))
                    .to_owned(),
            )
            .await?;
        use EventInvitees as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(pk_uuid(I::Id))
                    .col(uuid(I::TenantId))
                    .col(uuid(I::EventId))
                    .col(uuid_null(I::UserId))
                    .col(uuid_null(I::ContactId))
                    .foreign_key(&mut tenant_fk(I::Table, I::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(I::Table, I::EventId)
                            .to(E::Table, E::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        use Tasks as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(pk_uuid(T::Id))
                    .col(uuid(T::TenantId))
                    .col(string_len(T::Subject, 255))
                    .col(date_null(T::DueDate))
                    .col(string_len_null(T::Priority, 200))
                    .col(string_len(T::Status, 200))
                    .col(string_len_null(T::RelatedModule, 64))
                    .col(uuid_null(T::RelatedId))
                    .col(uuid(T::OwnerId))
                    .col(text_null(T::Description))
                    .col(integer(T::Version))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(timestamp_with_time_zone(T::UpdatedAt))
                    .col(timestamp_with_time_zone_null(T::DeletedAt))
                    .foreign_key(&mut tenant_fk(T::Table, T::TenantId))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "ix_events_tenant_start",
                E::Table.into_iden(),
                vec![E::TenantId.into_iden(), E::StartAt.into_iden()],
            ),
            (
                "ix_events_tenant_related",
                E::Table.into_iden(),
                vec![E::TenantId.into_iden(), E::RelatedId.into_iden()],
            ),
            (
                "ix_event_invitees_tenant_event",
                I::Table.into_iden(),
                vec![I::TenantId.into_iden(), I::EventId.into_iden()],
            ),
            (
                "ix_tasks_tenant_due",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::DueDate.into_iden()],
            ),
            (
                "ix_tasks_tenant_related",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::RelatedId.into_iden()],
            ),
        ];
        for (name, table, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EventInvitees::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Id,
    TenantId,
    Subject,
    EventType,
    StartAt,
    EndAt,
    AllDay,
    Location,
    Status,
    RelatedModule,
    RelatedId,
    ReminderMinutes,
    Recurrence,
    OwnerId,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventInvitees {
    Table,
    Id,
    TenantId,
    EventId,
    UserId,
    ContactId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Id,
    TenantId,
    Subject,
    DueDate,
    Priority,
    Status,
    RelatedModule,
    RelatedId,
    OwnerId,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
