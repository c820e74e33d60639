//! Definitions bound to a module: its records start an instance and mirror its state.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProcessDefinitions {
    Table,
    BoundModule,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessDefinitions::Table)
                    .add_column(string_len_null(ProcessDefinitions::BoundModule, 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ProcessDefinitions::Table)
                    .drop_column(ProcessDefinitions::BoundModule)
                    .to_owned(),
            )
            .await
    }
}
