//! Payroll: employees, pay components, salary structures and assignments, additional pay,
//! rule sets, pay runs and payslips. Amounts are integers in 1/10 000 units, like every amount.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::{create_indexes, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Employees as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(pk_uuid(E::Id))
                    .col(uuid(E::TenantId))
                    .col(string_len(E::EmployeeNo, 32))
                    .col(string_len(E::Name, 200))
                    .col(string_len_null(E::Email, 254))
                    .col(uuid_null(E::UserId))
                    .col(uuid_null(E::ContactId))
                    .col(date(E::HireDate))
                    .col(date_null(E::TerminationDate))
                    .col(string_len(E::EmploymentType, 32))
                    .col(string_len(E::PayFrequency, 16))
                    .col(string_len(E::TaxStatus, 8))
                    .col(string_len_null(E::TaxId, 32))
                    .col(string_len_null(E::BankHolder, 200))
                    .col(string_len_null(E::BankName, 100))
                    .col(string_len_null(E::BankAccount, 64))
                    .col(string_len_null(E::CostCentre, 100))
                    .col(integer(E::JkkClass))
                    .col(uuid(E::OwnerId))
                    .col(integer(E::Version))
                    .col(timestamp_with_time_zone(E::CreatedAt))
                    .col(timestamp_with_time_zone(E::UpdatedAt))
                    .col(timestamp_with_time_zone_null(E::DeletedAt))
                    .foreign_key(&mut tenant_fk(E::Table, E::TenantId))
                    .to_owned(),
            )
            .await?;
        use PayComponents as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(pk_uuid(C::Id))
                    .col(uuid(C::TenantId))
                    .col(string_len(C::Code, 32))
                    .col(string_len(C::Name, 200))
                    .col(string_len(C::Kind, 32))
                    .col(big_integer_null(C::Amount))
                    .col(text_null(C::Formula))
                    .col(text_null(C::Condition))
                    .col(boolean(C::Taxable))
                    .col(boolean(C::BpjsBase))
                    .col(boolean(C::Prorated))
                    .col(string_len(C::Rounding, 16))
                    .col(integer(C::Version))
                    .col(timestamp_with_time_zone(C::CreatedAt))
                    .col(timestamp_with_time_zone(C::UpdatedAt))
                    .foreign_key(&mut tenant_fk(C::Table, C::TenantId))
                    .to_owned(),
            )
            .await?;
        use SalaryStructures as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::TenantId))
                    .col(string_len(S::Code, 32))
                    .col(string_len(S::Name, 200))
                    .col(date(S::EffectiveFrom))
                    .col(json(S::Components))
                    .col(uuid(S::CreatedBy))
                    .col(timestamp_with_time_zone(S::CreatedAt))
                    .foreign_key(&mut tenant_fk(S::Table, S::TenantId))
                    .to_owned(),
            )
            .await?;
        use SalaryAssignments as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(pk_uuid(A::Id))
                    .col(uuid(A::TenantId))
                    .col(uuid(A::EmployeeId))
                    .col(string_len(A::StructureCode, 32))
                    .col(big_integer(A::BasePay))
                    .col(date(A::EffectiveFrom))
                    .col(uuid(A::CreatedBy))
                    .col(timestamp_with_time_zone(A::CreatedAt))
                    .foreign_key(&mut tenant_fk(A::Table, A::TenantId))
                    .to_owned(),
            )
            .await?;
        use AdditionalPays as X;
        manager
            .create_table(
                Table::create()
                    .table(X::Table)
                    .col(pk_uuid(X::Id))
                    .col(uuid(X::TenantId))
                    .col(uuid(X::EmployeeId))
                    .col(string_len(X::ComponentCode, 32))
                    .col(big_integer(X::Amount))
                    .col(date(X::StartsOn))
                    .col(date(X::EndsOn))
                    .col(text_null(X::Description))
                    .col(uuid(X::CreatedBy))
                    .col(timestamp_with_time_zone(X::CreatedAt))
                    .foreign_key(&mut tenant_fk(X::Table, X::TenantId))
                    .to_owned(),
            )
            .await?;
        use PayrollRuleSets as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(pk_uuid(R::Id))
                    .col(uuid(R::TenantId))
                    .col(date(R::EffectiveFrom))
                    .col(json(R::Rules))
                    .col(uuid(R::UpdatedBy))
                    .col(timestamp_with_time_zone(R::UpdatedAt))
                    .foreign_key(&mut tenant_fk(R::Table, R::TenantId))
                    .to_owned(),
            )
            .await?;
        use PayRuns as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(pk_uuid(P::Id))
                    .col(uuid(P::TenantId))
                    .col(string_len(P::RunNo, 32))
                    .col(string_len(P::Frequency, 16))
                    .col(date(P::PeriodStart))
                    .col(date(P::PeriodEnd))
                    .col(date(P::PayDate))
                    .col(string_len_null(P::CostCentre, 100))
                    .col(string_len_null(P::EmploymentType, 32))
                    .col(uuid_null(P::CorrectionOf))
                    .col(string_len(P::Status, 16))
                    .col(integer(P::EmployeeCount))
                    .col(big_integer(P::TotalGross))
                    .col(big_integer(P::TotalNet))
                    .col(big_integer(P::TotalPph21))
                    .col(big_integer(P::TotalEmployerCost))
                    .col(uuid_null(P::CalculatedBy))
                    .col(timestamp_with_time_zone_null(P::CalculatedAt))
                    .col(uuid_null(P::ApprovedBy))
                    .col(timestamp_with_time_zone_null(P::ApprovedAt))
                    .col(timestamp_with_time_zone_null(P::PaidAt))
                    .col(uuid(P::CreatedBy))
                    .col(integer(P::Version))
                    .col(timestamp_with_time_zone(P::CreatedAt))
                    .col(timestamp_with_time_zone(P::UpdatedAt))
                    .foreign_key(&mut tenant_fk(P::Table, P::TenantId))
                    .to_owned(),
            )
            .await?;
        use Payslips as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(pk_uuid(L::Id))
                    .col(uuid(L::TenantId))
                    .col(uuid(L::PayRunId))
                    .col(uuid(L::EmployeeId))
                    .col(date(L::PeriodEnd))
                    .col(string_len(L::TaxMethod, 16))
                    .col(json(L::Lines))
                    .col(big_integer(L::DaysWorked))
                    .col(big_integer(L::Gross))
                    .col(big_integer(L::TaxableGross))
                    .col(big_integer(L::BpjsEmployee))
                    .col(big_integer(L::BpjsEmployer))
                    .col(big_integer(L::Deductible))
                    .col(big_integer(L::Pph21))
                    .col(big_integer(L::Net))
                    .col(json(L::YearToDate))
                    .col(timestamp_with_time_zone(L::CreatedAt))
                    .foreign_key(&mut tenant_fk(L::Table, L::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(boolean(Tenants::PayrollSeparateApprover).default(false))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            (
                "ux_employees_tenant_no",
                E::Table.into_iden(),
                vec![E::TenantId.into_iden(), E::EmployeeNo.into_iden()],
                true,
            ),
            (
                "ix_employees_tenant_name",
                E::Table.into_iden(),
                vec![E::TenantId.into_iden(), E::Name.into_iden()],
                false,
            ),
            (
                "ix_employees_tenant_user",
                E::Table.into_iden(),
                vec![E::TenantId.into_iden(), E::UserId.into_iden()],
                false,
            ),
            (
                "ux_pay_components_tenant_code",
                C::Table.into_iden(),
                vec![C::TenantId.into_iden(), C::Code.into_iden()],
                true,
            ),
            (
                "ux_salary_structures_version",
                S::Table.into_iden(),
                vec![
                    S::TenantId.into_iden(),
                    S::Code.into_iden(),
                    S::EffectiveFrom.into_iden(),
                ],
                true,
            ),
            (
                "ux_salary_assignments_from",
                A::Table.into_iden(),
                vec![
                    A::TenantId.into_iden(),
                    A::EmployeeId.into_iden(),
                    A::EffectiveFrom.into_iden(),
                ],
                true,
            ),
            (
                "ix_additional_pays_employee",
                X::Table.into_iden(),
                vec![
                    X::TenantId.into_iden(),
                    X::EmployeeId.into_iden(),
                    X::StartsOn.into_iden(),
                ],
                false,
            ),
            (
                "ux_payroll_rule_sets_from",
                R::Table.into_iden(),
                vec![R::TenantId.into_iden(), R::EffectiveFrom.into_iden()],
                true,
            ),
            (
                "ux_pay_runs_tenant_no",
                P::Table.into_iden(),
                vec![P::TenantId.into_iden(), P::RunNo.into_iden()],
                true,
            ),
            (
                "ix_pay_runs_tenant_period",
                P::Table.into_iden(),
                vec![P::TenantId.into_iden(), P::PeriodStart.into_iden()],
                false,
            ),
            (
                "ux_payslips_run_employee",
                L::Table.into_iden(),
                vec![
                    L::TenantId.into_iden(),
                    L::PayRunId.into_iden(),
                    L::EmployeeId.into_iden(),
                ],
                true,
            ),
            (
                "ix_payslips_employee_period",
                L::Table.into_iden(),
                vec![
                    L::TenantId.into_iden(),
                    L::EmployeeId.into_iden(),
                    L::PeriodEnd.into_iden(),
                ],
                false,
            ),
        ];
        create_indexes(manager, indexes).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::PayrollSeparateApprover)
                    .to_owned(),
            )
            .await?;
        for table in [
            Payslips::Table.into_iden(),
            PayRuns::Table.into_iden(),
            PayrollRuleSets::Table.into_iden(),
            AdditionalPays::Table.into_iden(),
            SalaryAssignments::Table.into_iden(),
            SalaryStructures::Table.into_iden(),
            PayComponents::Table.into_iden(),
            Employees::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    PayrollSeparateApprover,
}

#[derive(DeriveIden, Clone, Copy)]
enum Employees {
    Table,
    Id,
    TenantId,
    EmployeeNo,
    Name,
    Email,
    UserId,
    ContactId,
    HireDate,
    TerminationDate,
    EmploymentType,
    PayFrequency,
    TaxStatus,
    TaxId,
    BankHolder,
    BankName,
    BankAccount,
    CostCentre,
    JkkClass,
    OwnerId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PayComponents {
    Table,
    Id,
    TenantId,
    Code,
    Name,
    Kind,
    Amount,
    Formula,
    Condition,
    Taxable,
    BpjsBase,
    Prorated,
    Rounding,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SalaryStructures {
    Table,
    Id,
    TenantId,
    Code,
    Name,
    EffectiveFrom,
    Components,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SalaryAssignments {
    Table,
    Id,
    TenantId,
    EmployeeId,
    StructureCode,
    BasePay,
    EffectiveFrom,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdditionalPays {
    Table,
    Id,
    TenantId,
    EmployeeId,
    ComponentCode,
    Amount,
    StartsOn,
    EndsOn,
    Description,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PayrollRuleSets {
    Table,
    Id,
    TenantId,
    EffectiveFrom,
    Rules,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PayRuns {
    Table,
    Id,
    TenantId,
    RunNo,
    Frequency,
    PeriodStart,
    PeriodEnd,
    PayDate,
    CostCentre,
    EmploymentType,
    CorrectionOf,
    Status,
    EmployeeCount,
    TotalGross,
    TotalNet,
    TotalPph21,
    TotalEmployerCost,
    CalculatedBy,
    CalculatedAt,
    ApprovedBy,
    ApprovedAt,
    PaidAt,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Payslips {
    Table,
    Id,
    TenantId,
    PayRunId,
    EmployeeId,
    PeriodEnd,
    TaxMethod,
    Lines,
    DaysWorked,
    Gross,
    TaxableGross,
    BpjsEmployee,
    BpjsEmployer,
    Deductible,
    Pph21,
    Net,
    YearToDate,
    CreatedAt,
}
