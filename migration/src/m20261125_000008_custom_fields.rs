//! Custom fields: definitions per tenant and module, values in a JSON column on each record.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CustomFields {
    Table,
    Id,
    TenantId,
    Module,
    Name,
    Label,
    Kind,
    Options,
    Required,
    Position,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Records {
    Accounts,
    Contacts,
    Leads,
    Opportunities,
    Tickets,
    #[sea_orm(iden = "custom_fields")]
    Values,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CustomFields as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(pk_uuid(F::Id))
                    .col(uuid(F::TenantId))
                    .col(string_len(F::Module, 64))
                    .col(string_len(F::Name, 64))
                    .col(string_len(F::Label, 200))
                    .col(string_len(F::Kind, 16))
                    .col(json(F::Options))
                    .col(boolean(F::Required))
                    .col(integer(F::Position))
                    .col(boolean(F::Active))
                    .col(timestamp_with_time_zone(F::CreatedAt))
                    .foreign_key(&mut tenant_fk(F::Table, F::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_custom_fields_tenant_module_name")
                    .table(F::Table)
                    .col(F::TenantId)
                    .col(F::Module)
                    .col(F::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for table in [
            Records::Accounts,
            Records::Contacts,
            Records::Leads,
            Records::Opportunities,
            Records::Tickets,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(json(Records::Values).default("{}"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Records::Accounts,
            Records::Contacts,
            Records::Leads,
            Records::Opportunities,
            Records::Tickets,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Records::Values)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CustomFields::Table).to_owned())
            .await
    }
}
