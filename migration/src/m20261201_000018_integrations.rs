//! Integrations: API keys, webhook subscriptions with their delivery log, and stored results
//! of idempotent mutations.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::{create_indexes, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ApiKeys as K;
        manager
            .create_table(
                Table::create()
                    .table(K::Table)
                    .col(pk_uuid(K::Id))
                    .col(uuid(K::TenantId))
                    .col(uuid(K::UserId))
                    .col(string_len(K::Name, 200))
                    .col(string_len(K::Prefix, 32))
                    .col(string_len(K::SecretHash, 64))
                    .col(string_len(K::Roles, 200))
                    .col(boolean(K::Personal))
                    .col(timestamp_with_time_zone_null(K::ExpiresAt))
                    .col(timestamp_with_time_zone_null(K::LastUsedAt))
                    .col(timestamp_with_time_zone_null(K::RevokedAt))
                    .col(timestamp_with_time_zone(K::CreatedAt))
                    .foreign_key(&mut tenant_fk(K::Table, K::TenantId))
                    .to_owned(),
            )
            .await?;
        use Webhooks as W;
        manager
            .create_table(
                Table::create()
                    .table(W::Table)
                    .col(pk_uuid(W::Id))
                    .col(uuid(W::TenantId))
                    .col(string_len(W::Name, 200))
                    .col(string_len(W::Url, 2000))
                    .col(json(W::EventTypes))
                    .col(string_len(W::Secret, 100))
                    .col(boolean(W::Active))
                    .col(string_len_null(W::DisabledReason, 500))
                    .col(big_integer(W::Cursor))
                    .col(integer(W::Failures))
                    .col(timestamp_with_time_zone_null(W::FailingSince))
                    .col(timestamp_with_time_zone(W::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(W::LockedUntil))
                    .col(integer(W::Version))
                    .col(uuid(W::CreatedBy))
                    .col(timestamp_with_time_zone(W::CreatedAt))
                    .col(timestamp_with_time_zone(W::UpdatedAt))
                    .foreign_key(&mut tenant_fk(W::Table, W::TenantId))
                    .to_owned(),
            )
            .await?;
        use WebhookDeliveries as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(pk_uuid(D::Id))
                    .col(uuid(D::TenantId))
                    .col(uuid(D::WebhookId))
                    .col(uuid(D::EventId))
                    .col(big_integer_null(D::Sequence))
                    .col(string_len(D::EventType, 100))
                    .col(integer(D::Attempt))
                    .col(integer_null(D::StatusCode))
                    .col(integer(D::LatencyMs))
                    .col(boolean(D::Succeeded))
                    .col(string_len_null(D::Error, 500))
                    .col(string_len_null(D::ResponseExcerpt, 500))
                    .col(timestamp_with_time_zone(D::At))
                    .foreign_key(&mut tenant_fk(D::Table, D::TenantId))
                    .foreign_key(
                        &mut ForeignKey::create()
                            .from(D::Table, D::WebhookId)
                            .to(W::Table, W::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        use IdempotencyKeys as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(uuid(I::TenantId))
                    .col(string_len(I::Key, 255))
                    .col(string_len(I::RequestHash, 64))
                    .col(text_null(I::Response))
                    .col(timestamp_with_time_zone(I::CreatedAt))
                    .primary_key(Index::create().col(I::TenantId).col(I::Key))
                    .foreign_key(&mut tenant_fk(I::Table, I::TenantId))
                    .to_owned(),
            )
            .await?;
        create_indexes(
            manager,
            [
                (
                    "ux_api_keys_secret_hash",
                    K::Table.into_iden(),
                    vec![K::SecretHash.into_iden()],
                    true,
                ),
                (
                    "ix_api_keys_tenant_user",
                    K::Table.into_iden(),
                    vec![K::TenantId.into_iden(), K::UserId.into_iden()],
                    false,
                ),
                (
                    "ix_webhooks_due",
                    W::Table.into_iden(),
                    vec![W::Active.into_iden(), W::NextAttemptAt.into_iden()],
                    false,
                ),
                (
                    "ix_webhook_deliveries_webhook_at",
                    D::Table.into_iden(),
                    vec![
                        D::TenantId.into_iden(),
                        D::WebhookId.into_iden(),
                        D::At.into_iden(),
                    ],
                    false,
                ),
                (
                    "ix_idempotency_keys_created_at",
                    I::Table.into_iden(),
                    vec![I::CreatedAt.into_iden()],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
            ApiKeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    UserId,
    Name,
    Prefix,
    SecretHash,
    Roles,
    Personal,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Webhooks {
    Table,
    Id,
    TenantId,
    Name,
    Url,
    EventTypes,
    Secret,
    Active,
    DisabledReason,
    Cursor,
    Failures,
    FailingSince,
    NextAttemptAt,
    LockedUntil,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    WebhookId,
    EventId,
    Sequence,
    EventType,
    Attempt,
    StatusCode,
    LatencyMs,
    Succeeded,
    Error,
    ResponseExcerpt,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    TenantId,
    Key,
    RequestHash,
    Response,
    CreatedAt,
}
