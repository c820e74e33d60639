//! Tickets and the FAQ.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Tickets as T;
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(pk_uuid(T::Id))
                    .col(uuid(T::TenantId))
                    .col(string_len(T::TicketNo, 32))
                    .col(string_len(T::Title, 255))
                    .col(text_null(T::Description))
                    .col(uuid_null(T::AccountId))
                    .col(uuid_null(T::ContactId))
                    .col(string_len_null(T::Product, 255))
                    .col(string_len_null(T::Priority, 200))
                    .col(string_len_null(T::Severity, 200))
                    .col(string_len_null(T::Category, 200))
                    .col(string_len(T::Status, 200))
                    .col(uuid(T::OwnerId))
                    .col(text_null(T::Resolution))
                    .col(timestamp_with_time_zone_null(T::ResolvedAt))
                    .col(integer(T::Version))
                    .col(timestamp_with_time_zone(T::CreatedAt))
                    .col(timestamp_with_time_zone(T::UpdatedAt))
                    .col(timestamp_with_time_zone_null(T::DeletedAt))
                    .foreign_key(&mut tenant_fk(T::Table, T::TenantId))
                    .to_owned(),
            )
            .await?;
        use Faqs as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(pk_uuid(F::Id))
                    .col(uuid(F::TenantId))
                    .col(string_len(F::FaqNo, 32))
                    .col(text(F::Question))
                    .col(text(F::Answer))
                    .col(string_len_null(F::Category, 200))
                    .col(string_len(F::Status, 200))
                    .col(uuid(F::OwnerId))
                    .col(integer(F::Version))
                    .col(timestamp_with_time_zone(F::CreatedAt))
                    .col(timestamp_with_time_zone(F::UpdatedAt))
                    .col(timestamp_with_time_zone_null(F::DeletedAt))
                    .foreign_key(&mut tenant_fk(F::Table, F::TenantId))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "ux_tickets_tenant_no",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::TicketNo.into_iden()],
                true,
            ),
            (
                "ix_tickets_tenant_status",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::Status.into_iden()],
                false,
            ),
            (
                "ix_tickets_tenant_contact",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::ContactId.into_iden()],
                false,
            ),
            (
                "ix_tickets_tenant_account",
                T::Table.into_iden(),
                vec![T::TenantId.into_iden(), T::AccountId.into_iden()],
                false,
            ),
            (
                "ux_faqs_tenant_no",
                F::Table.into_iden(),
                vec![F::TenantId.into_iden(), F::FaqNo.into_iden()],
                true,
            ),
        ];
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

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Faqs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tickets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tickets {
    Table,
    Id,
    TenantId,
    TicketNo,
    Title,
    Description,
    AccountId,
    ContactId,
    Product,
    Priority,
    Severity,
    Category,
    Status,
    OwnerId,
    Resolution,
    ResolvedAt,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Faqs {
    Table,
    Id,
    TenantId,
    FaqNo,
    Question,
    Answer,
    Category,
    Status,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
