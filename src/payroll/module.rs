//! Payroll as the platform sees it: one module of two kinds of record, employees (searchable,
//! with a recycle bin) and pay runs, which the built-in `payroll-run` process drives.

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseExecutor};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::payroll::{employee, pay_run};

use crate::auth::Principal;
use crate::config::Limits;
use crate::error::{AppError, AppResult};
use crate::export::{self, CsvStream};
use crate::modules::{Declaration, Module, StatusField, Subject};
use crate::money;
use crate::pagination::{Page, PageArgs};
use crate::payroll::employees::EmployeeFilter;
use crate::records::{self, Recycled};
use crate::reports::sources::{Computed, FieldKind, Formula, Source, source_of};
use crate::search::{self, Hit};
use crate::tenancy::TenantScope;

pub struct PayrollModule;

/// The payroll module's declaration (see [`crate::registry`]).
pub static DECLARATION: PayrollModule = PayrollModule;

/// A pay run as process guards see it (`record.totalNet`).
pub fn pay_run_json(run: &pay_run::Model) -> Value {
    json!({
        "id": run.id.to_string(),
        "runNo": run.run_no,
        "frequency": run.frequency,
        "periodStart": run.period_start.to_string(),
        "periodEnd": run.period_end.to_string(),
        "payDate": run.pay_date.to_string(),
        "costCentre": run.cost_centre,
        "status": run.status,
        "employeeCount": run.employee_count,
        "totalGross": money::to_number(run.total_gross),
        "totalNet": money::to_number(run.total_net),
        "totalPph21": money::to_number(run.total_pph21),
        "totalEmployerCost": money::to_number(run.total_employer_cost),
    })
}

impl Declaration for PayrollModule {
    fn module(&self) -> Module {
        Module::Payroll
    }

    /// Reports read employees (`payroll`), pay runs and payslips; a payslip counts while its
    /// run exists (an employer's cost is `gross + bpjsEmployer`).
    fn report_sources(&self) -> Vec<Source> {
        vec![
            source_of::<employee::Entity>("payroll", Module::Payroll, &[]),
            source_of::<pay_run::Entity>("payRuns", Module::Payroll, &[]),
            source_of::<entity::payroll::payslip::Entity>(
                "payslips",
                Module::Payroll,
                &[Computed {
                    name: "employerCost",
                    label: "Employer cost",
                    kind: FieldKind::Decimal,
                    sql: Formula::Sql("({t}.gross + {t}.bpjs_employer)"),
                }],
            )
            .part_of("payRunId", "payRuns"),
        ]
    }

    fn load_json<'a>(
        &'a self,
        db: &'a DatabaseExecutor<'a>,
        scope: &'a TenantScope,
        id: Uuid,
    ) -> BoxFuture<'a, AppResult<Option<Value>>> {
        Box::pin(async move {
            match scope.by_id::<pay_run::Entity>(id).one(db).await? {
                Some(run) => Ok(Some(pay_run_json(&run))),
                None => records::find_json::<employee::Entity>(db, scope, id).await,
            }
        })
    }

    /// Employees; pay runs are found by their period.
    fn search<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        text: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, AppResult<Vec<Hit>>> {
        Box::pin(search::search_in::<employee::Entity>(
            db, actor, text, limit,
        ))
    }

    /// Deleted employees; pay runs are cancelled, never deleted.
    fn recycle_bin<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        args: &'a PageArgs,
        limits: &'a Limits,
    ) -> BoxFuture<'a, AppResult<Page<Recycled>>> {
        Box::pin(records::recycle_bin::<employee::Entity>(
            db, actor, args, limits,
        ))
    }

    fn subject(&self) -> Option<&dyn Subject> {
        Some(&PayRunProcess)
    }

    /// Employees (pay runs have their own files: bank transfers, tax summary).
    fn export_csv<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        filter: Option<&'a Value>,
    ) -> BoxFuture<'a, AppResult<CsvStream>> {
        let by = export::json_filter::<employee::Entity, EmployeeFilter>;
        Box::pin(export::records_csv::<employee::Entity>(
            db,
            actor,
            Some(by),
            filter,
        ))
    }
}

/// How the `payroll-run` process drives a pay run. The pay run mutations change the status
/// (with the work each step needs: calculating, checking the approver) and then advance the
/// process, whose roles and guards may still refuse; firing a pay run's transition directly
/// would skip that work, so it is refused.
pub struct PayRunProcess;

impl Subject for PayRunProcess {
    fn status(&self) -> StatusField {
        StatusField {
            picklist: "payRunStatus",
            field: "status",
        }
    }

    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            let run = actor
                .scope()
                .by_id::<pay_run::Entity>(id)
                .one(txn)
                .await?
                .ok_or(AppError::NotFound("pay run"))?;
            if run.status == state {
                return Ok(());
            }
            Err(AppError::bad_input(
                "transition",
                format!(
                    "{} moves by calculatePayRun, approvePayRun, markPayRunPaid and \
                     cancelPayRun, which do the work each step needs",
                    run.run_no
                ),
            ))
        })
    }
}
