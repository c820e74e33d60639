//! Process definitions, instances and their steps.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ProcessDefinitions {
    Table,
    Id,
    TenantId,
    Key,
    Version,
    Name,
    Body,
    PublishedBy,
    PublishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProcessInstances {
    Table,
    Id,
    TenantId,
    DefinitionId,
    DefinitionKey,
    DefinitionVersion,
    RecordModule,
    RecordId,
    State,
    Status,
    Variables,
    Version,
    StartedBy,
    StartedAt,
    UpdatedAt,
    EndedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProcessSteps {
    Table,
    Id,
    TenantId,
    InstanceId,
    Transition,
    FromState,
    ToState,
    ActorId,
    Input,
    Variables,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProcessDefinitions as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(pk_uuid(D::Id))
                    .col(uuid(D::TenantId))
                    .col(string_len(D::Key, 64))
                    .col(integer(D::Version))
                    .col(string_len(D::Name, 200))
                    .col(json(D::Body))
                    .col(uuid(D::PublishedBy))
                    .col(timestamp_with_time_zone(D::PublishedAt))
                    .foreign_key(&mut tenant_fk(D::Table, D::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_process_definitions_tenant_key_version")
                    .table(D::Table)
                    .col(D::TenantId)
                    .col(D::Key)
                    .col(D::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        use ProcessInstances as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(pk_uuid(I::Id))
                    .col(uuid(I::TenantId))
                    .col(uuid(I::DefinitionId))
                    .col(string_len(I::DefinitionKey, 64))
                    .col(integer(I::DefinitionVersion))
                    .col(string_len_null(I::RecordModule, 64))
                    .col(uuid_null(I::RecordId))
                    .col(string_len(I::State, 100))
                    .col(string_len(I::Status, 16))
                    .col(json(I::Variables))
                    .col(integer(I::Version))
                    .col(uuid(I::StartedBy))
                    .col(timestamp_with_time_zone(I::StartedAt))
                    .col(timestamp_with_time_zone(I::UpdatedAt))
                    .col(timestamp_with_time_zone_null(I::EndedAt))
                    .foreign_key(&mut tenant_fk(I::Table, I::TenantId))
                    .to_owned(),
            )
            .await?;
        use ProcessSteps as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::TenantId))
                    .col(uuid(S::InstanceId))
                    .col(string_len(S::Transition, 100))
                    .col(string_len_null(S::FromState, 100))
                    .col(string_len(S::ToState, 100))
                    .col(uuid(S::ActorId))
                    .col(json(S::Input))
                    .col(json(S::Variables))
                    .col(timestamp_with_time_zone(S::At))
                    .foreign_key(&mut tenant_fk(S::Table, S::TenantId))
                    .to_owned(),
            )
            .await?;
        for (name, table, columns) in [
            (
                "ix_process_instances_tenant_definition",
                I::Table.into_iden(),
                vec![
                    I::TenantId.into_iden(),
                    I::DefinitionKey.into_iden(),
                    I::State.into_iden(),
                ],
            ),
            (
                "ix_process_instances_tenant_record",
                I::Table.into_iden(),
                vec![I::TenantId.into_iden(), I::RecordId.into_iden()],
            ),
            (
                "ix_process_steps_tenant_instance",
                S::Table.into_iden(),
                vec![
                    S::TenantId.into_iden(),
                    S::InstanceId.into_iden(),
                    S::At.into_iden(),
                ],
            ),
        ] {
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
            .drop_table(Table::drop().table(ProcessSteps::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ProcessInstances::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ProcessDefinitions::Table).to_owned())
            .await
    }
}
