//! Accounts (organisations) and contacts.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text_columns<T: IntoIden + Copy>(table: &mut TableCreateStatement, columns: &[T]) {
    for column in columns {
        table.col(string_len_null(*column, 255));
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Accounts as A;
        let mut accounts = Table::create();
        accounts
            .table(A::Table)
            .col(pk_uuid(A::Id))
            .col(uuid(A::TenantId))
            .col(string_len(A::AccountNo, 32))
            .col(string_len(A::Name, 255));
        text_columns(
            &mut accounts,
            &[
                A::Industry,
                A::AccountType,
                A::Website,
                A::Phone,
                A::Email,
                A::BillingStreet,
                A::BillingCity,
                A::BillingState,
                A::BillingPostalCode,
                A::BillingCountry,
                A::ShippingStreet,
                A::ShippingCity,
                A::ShippingState,
                A::ShippingPostalCode,
                A::ShippingCountry,
            ],
        );
        accounts
            .col(big_integer_null(A::AnnualRevenue))
            .col(integer_null(A::Employees))
            .col(uuid_null(A::ParentId))
            .col(uuid(A::OwnerId))
            .col(text_null(A::Description))
            .col(integer(A::Version))
            .col(timestamp_with_time_zone(A::CreatedAt))
            .col(timestamp_with_time_zone(A::UpdatedAt))
            .col(timestamp_with_time_zone_null(A::DeletedAt))
            .foreign_key(&mut tenant_fk(A::Table, A::TenantId));
        manager.create_table(accounts.to_owned()).await?;

        use Contacts as C;
        let mut contacts = Table::create();
        contacts
            .table(C::Table)
            .col(pk_uuid(C::Id))
            .col(uuid(C::TenantId))
            .col(string_len(C::ContactNo, 32))
            .col(string_len_null(C::FirstName, 255))
            .col(string_len(C::LastName, 255));
        text_columns(
            &mut contacts,
            &[
                C::Email,
                C::Phone,
                C::Mobile,
                C::Title,
                C::Department,
                C::LeadSource,
                C::MailingStreet,
                C::MailingCity,
                C::MailingState,
                C::MailingPostalCode,
                C::MailingCountry,
            ],
        );
        contacts
            .col(uuid_null(C::AccountId))
            .col(uuid_null(C::ReportsToId))
            .col(date_null(C::Birthday))
            .col(boolean(C::EmailOptOut))
            .col(boolean(C::DoNotCall))
            .col(uuid(C::OwnerId))
            .col(text_null(C::Description))
            .col(integer(C::Version))
            .col(timestamp_with_time_zone(C::CreatedAt))
            .col(timestamp_with_time_zone(C::UpdatedAt))
            .col(timestamp_with_time_zone_null(C::DeletedAt))
            .foreign_key(&mut tenant_fk(C::Table, C::TenantId));
        manager.create_table(contacts.to_owned()).await?;

        // Every index that serves a tenant query starts with tenant_id.
        let indexes = [
            (
                "ux_accounts_tenant_no",
                A::Table.into_iden(),
                vec![A::TenantId.into_iden(), A::AccountNo.into_iden()],
                true,
            ),
            (
                "ix_accounts_tenant_name",
                A::Table.into_iden(),
                vec![A::TenantId.into_iden(), A::Name.into_iden()],
                false,
            ),
            (
                "ix_accounts_tenant_parent",
                A::Table.into_iden(),
                vec![A::TenantId.into_iden(), A::ParentId.into_iden()],
                false,
            ),
            (
                "ux_contacts_tenant_no",
                C::Table.into_iden(),
                vec![C::TenantId.into_iden(), C::ContactNo.into_iden()],
                true,
            ),
            (
                "ix_contacts_tenant_last_name",
                C::Table.into_iden(),
                vec![C::TenantId.into_iden(), C::LastName.into_iden()],
                false,
            ),
            (
                "ix_contacts_tenant_account",
                C::Table.into_iden(),
                vec![C::TenantId.into_iden(), C::AccountId.into_iden()],
                false,
            ),
            (
                "ix_contacts_tenant_email",
                C::Table.into_iden(),
                vec![C::TenantId.into_iden(), C::Email.into_iden()],
                false,
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
            .drop_table(Table::drop().table(Contacts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Accounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    Id,
    TenantId,
    AccountNo,
    Name,
    Industry,
    AccountType,
    Website,
    Phone,
    Email,
    BillingStreet,
    BillingCity,
    BillingState,
    BillingPostalCode,
    BillingCountry,
    ShippingStreet,
    ShippingCity,
    ShippingState,
    ShippingPostalCode,
    ShippingCountry,
    AnnualRevenue,
    Employees,
    ParentId,
    OwnerId,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Contacts {
    Table,
    Id,
    TenantId,
    ContactNo,
    FirstName,
    LastName,
    Email,
    Phone,
    Mobile,
    Title,
    Department,
    AccountId,
    ReportsToId,
    LeadSource,
    MailingStreet,
    MailingCity,
    MailingState,
    MailingPostalCode,
    MailingCountry,
    Birthday,
    EmailOptOut,
    DoNotCall,
    OwnerId,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
