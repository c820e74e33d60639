//! A pay run's files: the bank transfer file and the tax summary, as CSV.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder};
use uuid::Uuid;

use entity::payroll::{employee, pay_run, payslip};

use super::runs::{self, APPROVED, PAID};
use super::setup;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::export::{Cell, csv_row};
use crate::money;

/// The run's payslips with their employees, by employee number.
async fn slips(
    db: &DatabaseConnection,
    actor: &Principal,
    run: &pay_run::Model,
) -> AppResult<Vec<(payslip::Model, employee::Model)>> {
    let scope = actor.scope();
    let mut slips: HashMap<Uuid, payslip::Model> = scope
        .select::<payslip::Entity>()
        .filter(payslip::Column::PayRunId.eq(run.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.employee_id, s))
        .collect();
    // Deleted employees still get paid what an approved run says: read them all.
    let employees = scope
        .select::<employee::Entity>()
        .filter(employee::Column::Id.is_in(slips.keys().copied()))
        .order_by_asc(employee::Column::EmployeeNo)
        .all(db)
        .await?;
    Ok(employees
        .into_iter()
        .filter_map(|e| Some((slips.remove(&e.id)?, e)))
        .collect())
}

/// One row per employee: who, which account, how much (the net pay) and the transfer's
/// reference. Only for approved or paid runs: a bank must never get an unapproved amount.
pub async fn bank_transfers(
    db: &DatabaseConnection,
    actor: &Principal,
    run_id: Uuid,
) -> AppResult<(pay_run::Model, String)> {
    let run = runs::get(db, actor, run_id).await?;
    if run.status != APPROVED && run.status != PAID {
        return Err(AppError::bad_input(
            "id",
            format!(
                "{} is {}: approve it before paying it",
                run.run_no, run.status
            ),
        ));
    }
    let mut csv = csv_row(
        &[
            "employee_no",
            "name",
            "bank_holder",
            "bank",
            "account",
            "amount",
            "reference",
        ]
        .map(Cell::Text),
    );
    for (slip, employee) in slips(db, actor, &run).await? {
        let reference = format!("{} {}", run.run_no, employee.employee_no);
        csv.push_str(&csv_row(&[
            Cell::Text(employee.employee_no.clone()),
            Cell::Text(employee.name.clone()),
            Cell::Text(employee.bank_holder.clone().unwrap_or(employee.name)),
            Cell::Text(employee.bank_name.unwrap_or_default()),
            Cell::Text(employee.bank_account.unwrap_or_default()),
            Cell::Number(money::from_units(slip.net).to_string()),
            Cell::Text(reference),
        ]));
    }
    Ok((run, csv))
}

/// One row per employee: tax id and status, TER category, the PPh 21 gross, what was
/// withheld and how, and the BPJS shares.
pub async fn tax_summary(
    db: &DatabaseConnection,
    actor: &Principal,
    run_id: Uuid,
) -> AppResult<(pay_run::Model, String)> {
    let run = runs::get(db, actor, run_id).await?;
    let rules = setup::rules_on(db, &actor.scope(), run.period_end).await?;
    let mut csv = csv_row(
        &[
            "employee_no",
            "name",
            "tax_id",
            "tax_status",
            "ter_category",
            "taxable_gross",
            "pph21",
            "tax_method",
            "bpjs_employee",
            "bpjs_employer",
            "ytd_taxable_gross",
            "ytd_pph21",
        ]
        .map(Cell::Text),
    );
    for (slip, employee) in slips(db, actor, &run).await? {
        let ytd = runs::year_to_date(&slip);
        let amount = |units: i64| Cell::Number(money::from_units(units).to_string());
        csv.push_str(&csv_row(&[
            Cell::Text(employee.employee_no),
            Cell::Text(employee.name),
            Cell::Text(employee.tax_id.unwrap_or_default()),
            Cell::Text(employee.tax_status.clone()),
            Cell::Text(
                rules
                    .ter_category(&employee.tax_status)
                    .unwrap_or("")
                    .to_owned(),
            ),
            amount(slip.taxable_gross),
            amount(slip.pph21),
            Cell::Text(slip.tax_method.clone()),
            amount(slip.bpjs_employee),
            amount(slip.bpjs_employer),
            Cell::Number(ytd.taxable_gross.to_string()),
            Cell::Number(ytd.pph21.to_string()),
        ]));
    }
    Ok((run, csv))
}
