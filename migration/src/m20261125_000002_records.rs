//! What every business module shares: picklists, record history, number sequences and
//! role permissions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PicklistValues::Table)
                    .col(pk_uuid(PicklistValues::Id))
                    .col(uuid(PicklistValues::TenantId))
                    .col(string_len(PicklistValues::Picklist, 64))
                    .col(string_len(PicklistValues::Value, 200))
                    .col(integer(PicklistValues::Position))
                    .col(boolean(PicklistValues::Active))
                    .foreign_key(&mut tenant_fk(
                        PicklistValues::Table,
                        PicklistValues::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_picklist_values_tenant_picklist_value")
                    .table(PicklistValues::Table)
                    .col(PicklistValues::TenantId)
                    .col(PicklistValues::Picklist)
                    .col(PicklistValues::Value)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecordHistory::Table)
                    .col(pk_uuid(RecordHistory::Id))
                    .col(uuid(RecordHistory::TenantId))
                    .col(string_len(RecordHistory::Module, 64))
                    .col(uuid(RecordHistory::RecordId))
                    .col(string_len(RecordHistory::Action, 16))
                    .col(uuid(RecordHistory::ActorId))
                    .col(timestamp_with_time_zone(RecordHistory::At))
                    .col(json(RecordHistory::Changes))
                    .foreign_key(&mut tenant_fk(
                        RecordHistory::Table,
                        RecordHistory::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_record_history_tenant_record")
                    .table(RecordHistory::Table)
                    .col(RecordHistory::TenantId)
                    .col(RecordHistory::RecordId)
                    .col(RecordHistory::At)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sequences::Table)
                    .col(uuid(Sequences::TenantId))
                    .col(string_len(Sequences::Name, 64))
                    .col(big_integer(Sequences::LastValue))
                    .primary_key(
                        Index::create()
                            .col(Sequences::TenantId)
                            .col(Sequences::Name),
                    )
                    .foreign_key(&mut tenant_fk(Sequences::Table, Sequences::TenantId))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RolePermissions::Table)
                    .col(uuid(RolePermissions::TenantId))
                    .col(string_len(RolePermissions::Role, 32))
                    .col(string_len(RolePermissions::Module, 64))
                    .col(boolean(RolePermissions::CanRead))
                    .col(boolean(RolePermissions::CanWrite))
                    .primary_key(
                        Index::create()
                            .col(RolePermissions::TenantId)
                            .col(RolePermissions::Role)
                            .col(RolePermissions::Module),
                    )
                    .foreign_key(&mut tenant_fk(
                        RolePermissions::Table,
                        RolePermissions::TenantId,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RolePermissions::Table.into_iden(),
            Sequences::Table.into_iden(),
            RecordHistory::Table.into_iden(),
            PicklistValues::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Rows of a tenant go when the tenant goes.
/// Creates indexes given as (name, table, columns, unique).
pub async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: impl IntoIterator<Item = (&str, DynIden, Vec<DynIden>, bool)>,
) -> Result<(), DbErr> {
    for (name, table, columns, unique) in indexes {
        let mut index = Index::create();
        index.name(name).table(table);
        for column in columns {
            index.col(column);
        }
        if unique {
            index.unique();
        }
        manager.create_index(index.to_owned()).await?;
    }
    Ok(())
}

pub fn tenant_fk<T: IntoIden + Copy + 'static>(table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum PicklistValues {
    Table,
    Id,
    TenantId,
    Picklist,
    Value,
    Position,
    Active,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecordHistory {
    Table,
    Id,
    TenantId,
    Module,
    RecordId,
    Action,
    ActorId,
    At,
    Changes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sequences {
    Table,
    TenantId,
    Name,
    LastValue,
}

#[derive(DeriveIden, Clone, Copy)]
enum RolePermissions {
    Table,
    TenantId,
    Role,
    Module,
    CanRead,
    CanWrite,
}
