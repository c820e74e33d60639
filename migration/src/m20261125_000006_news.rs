//! Notes (memos and announcements) and comments.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::tenant_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Notes as N;
        manager
            .create_table(
                Table::create()
                    .table(N::Table)
                    .col(pk_uuid(N::Id))
                    .col(uuid(N::TenantId))
                    .col(string_len(N::Title, 255))
                    .col(text(N::Body))
                    .col(string_len_null(N::RelatedModule, 64))
                    .col(uuid_null(N::RelatedId))
                    .col(uuid(N::OwnerId))
                    .col(integer(N::Version))
                    .col(timestamp_with_time_zone(N::CreatedAt))
                    .col(timestamp_with_time_zone(N::UpdatedAt))
                    .col(timestamp_with_time_zone_null(N::DeletedAt))
                    .foreign_key(&mut tenant_fk(N::Table, N::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notes_tenant_related")
                    .table(N::Table)
                    .col(N::TenantId)
                    .col(N::RelatedId)
                    .to_owned(),
            )
            .await?;
        use Comments as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(pk_uuid(C::Id))
                    .col(uuid(C::TenantId))
                    .col(string_len(C::RelatedModule, 64))
                    .col(uuid(C::RelatedId))
                    .col(uuid_null(C::ParentId))
                    .col(text(C::Body))
                    .col(uuid(C::AuthorId))
                    .col(timestamp_with_time_zone(C::CreatedAt))
                    .foreign_key(&mut tenant_fk(C::Table, C::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_comments_tenant_related")
                    .table(C::Table)
                    .col(C::TenantId)
                    .col(C::RelatedId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Comments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Notes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Notes {
    Table,
    Id,
    TenantId,
    Title,
    Body,
    RelatedModule,
    RelatedId,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    TenantId,
    RelatedModule,
    RelatedId,
    ParentId,
    Body,
    AuthorId,
    CreatedAt,
}
