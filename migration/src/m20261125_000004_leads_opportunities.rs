//! Leads (prospects) and opportunities (deals).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Opportunities as O;
        manager
            .create_table(
                Table::create()
                    .table(O::Table)
                    .col(pk_uuid(O::Id))
                    .col(uuid(O::TenantId))
                    .col(string_len(O::OpportunityNo, 32))
                    .col(string_len(O::Name, 255))
                    .col(uuid_null(O::AccountId))
                    .col(uuid_null(O::ContactId))
                    .col(big_integer_null(O::Amount))
                    .col(string_len(O::Currency, 3))
                    .col(date_null(O::ExpectedCloseDate))
                    .col(string_len(O::SalesStage, 200))
                    .col(integer(O::Probability))
                    .col(string_len_null(O::LeadSource, 200))
                    .col(string_len_null(O::NextStep, 255))
                    .col(uuid(O::OwnerId))
                    .col(text_null(O::Description))
                    .col(integer(O::Version))
                    .col(timestamp_with_time_zone(O::CreatedAt))
                    .col(timestamp_with_time_zone(O::UpdatedAt))
                    .col(timestamp_with_time_zone_null(O::DeletedAt))
                    .foreign_key(&mut tenant_fk(O::Table, O::TenantId))
                    .to_owned(),
            )
            .await?;

        use Leads as L;
        let mut leads = Table::create();
        leads
            .table(L::Table)
            .col(pk_uuid(L::Id))
            .col(uuid(L::TenantId))
            .col(string_len(L::LeadNo, 32))
            .col(string_len_null(L::FirstName, 255))
            .col(string_len(L::LastName, 255))
            .col(string_len(L::Company, 255));
        for column in [
            L::Title,
            L::Email,
            L::Phone,
            L::Mobile,
            L::Website,
            L::LeadSource,
            L::LeadStatus,
            L::Rating,
            L::Industry,
            L::Street,
            L::City,
            L::State,
            L::PostalCode,
            L::Country,
        ] {
            leads.col(string_len_null(column, 255));
        }
        leads
            .col(big_integer_null(L::AnnualRevenue))
            .col(integer_null(L::Employees))
            .col(uuid(L::OwnerId))
            .col(text_null(L::Description))
            .col(timestamp_with_time_zone_null(L::ConvertedAt))
            .col(uuid_null(L::ConvertedAccountId))
            .col(uuid_null(L::ConvertedContactId))
            .col(uuid_null(L::ConvertedOpportunityId))
            .col(integer(L::Version))
            .col(timestamp_with_time_zone(L::CreatedAt))
            .col(timestamp_with_time_zone(L::UpdatedAt))
            .col(timestamp_with_time_zone_null(L::DeletedAt))
            .foreign_key(&mut tenant_fk(L::Table, L::TenantId));
        manager.create_table(leads.to_owned()).await?;

        let indexes = [
            (
                "ux_opportunities_tenant_no",
                O::Table.into_iden(),
                vec![O::TenantId.into_iden(), O::OpportunityNo.into_iden()],
                true,
            ),
            (
                "ix_opportunities_tenant_account",
                O::Table.into_iden(),
                vec![O::TenantId.into_iden(), O::AccountId.into_iden()],
                false,
            ),
            (
                "ix_opportunities_tenant_stage",
                O::Table.into_iden(),
                vec![O::TenantId.into_iden(), O::SalesStage.into_iden()],
                false,
            ),
            (
                "ux_leads_tenant_no",
                L::Table.into_iden(),
                vec![L::TenantId.into_iden(), L::LeadNo.into_iden()],
                true,
            ),
            (
                "ix_leads_tenant_last_name",
                L::Table.into_iden(),
                vec![L::TenantId.into_iden(), L::LastName.into_iden()],
                false,
            ),
            (
                "ix_leads_tenant_status",
                L::Table.into_iden(),
                vec![L::TenantId.into_iden(), L::LeadStatus.into_iden()],
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
            .drop_table(Table::drop().table(Leads::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Opportunities::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Opportunities {
    Table,
    Id,
    TenantId,
    OpportunityNo,
    Name,
    AccountId,
    ContactId,
    Amount,
    Currency,
    ExpectedCloseDate,
    SalesStage,
    Probability,
    LeadSource,
    NextStep,
    OwnerId,
    Description,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    Id,
    TenantId,
    LeadNo,
    FirstName,
    LastName,
    Company,
    Title,
    Email,
    Phone,
    Mobile,
    Website,
    LeadSource,
    LeadStatus,
    Rating,
    Industry,
    AnnualRevenue,
    Employees,
    Street,
    City,
    State,
    PostalCode,
    Country,
    OwnerId,
    Description,
    ConvertedAt,
    ConvertedAccountId,
    ConvertedContactId,
    ConvertedOpportunityId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
