//! Pay runs: a period's pay for the employees it covers, calculated into payslips in one
//! transaction, then approved (by a manager or admin), paid, or cancelled.
//!
//! Draft -> Calculated (again, until approved) -> Approved -> Paid; Draft, Calculated and
//! Approved may be Cancelled. Paid is final, and an approved run's payslips never change: a
//! correction is a new run.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use entity::payroll::{
    additional_pay, employee, pay_component, pay_run, payslip, salary_assignment, salary_structure,
};
use entity::platform::tenant;

use super::calc::{
    self, Component, Employee, EmploymentType, Kind, PayFrequency, Period, YearToDate,
};
use super::formula::Val;
use super::setup::{self, component_of, in_force, structure_components};
use super::{loaded, stored};
use crate::auth::{Principal, Role};
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::money;
use crate::pagination::{self, Page, PageArgs};
use crate::permissions::Access;
use crate::process::binding;
use crate::records;
use crate::sequences;
use crate::tenancy::TenantScope;
use crate::validation::{optional_text, parse_id};

pub const DRAFT: &str = "Draft";
pub const CALCULATED: &str = "Calculated";
pub const APPROVED: &str = "Approved";
pub const PAID: &str = "Paid";
pub const CANCELLED: &str = "Cancelled";

/// Runs whose payslips count: they are final or about to be paid.
const BINDING: [&str; 2] = [APPROVED, PAID];

/// Payslips are written this many rows to a statement (SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;

#[derive(async_graphql::InputObject)]
#[graphql(name = "CreatePayRunInput")]
pub struct NewPayRun {
    pub frequency: PayFrequency,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub pay_date: NaiveDate,
    /// Only employees of this cost centre.
    pub cost_centre: Option<String>,
    /// Only employees of this employment type.
    pub employment_type: Option<EmploymentType>,
    /// An approved or paid run of the same period to correct: this run then pays only the
    /// differences between the period's pay as calculated now and what was paid (its filters
    /// are the corrected run's).
    pub correction_of: Option<async_graphql::ID>,
}

fn not_found() -> AppError {
    AppError::NotFound("pay run")
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    new: NewPayRun,
) -> AppResult<pay_run::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    if new.period_end < new.period_start {
        return Err(AppError::bad_input(
            "periodEnd",
            "must not be before periodStart",
        ));
    }
    let longest = match new.frequency {
        PayFrequency::Monthly => 31,
        PayFrequency::Weekly => 7,
    };
    if (new.period_end - new.period_start).num_days() >= longest {
        return Err(AppError::bad_input(
            "periodEnd",
            format!(
                "a {} period is at most {longest} days",
                stored(new.frequency).to_lowercase()
            ),
        ));
    }
    let mut cost_centre = optional_text("costCentre", new.cost_centre, 100)?;
    let mut employment_type = new.employment_type.map(stored);
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let correction_of = match &new.correction_of {
        Some(id) => {
            let corrected = corrected_run(&txn, &scope, parse_id("correctionOf", id)?).await?;
            let same_period = corrected.frequency == stored(new.frequency)
                && corrected.period_start == new.period_start
                && corrected.period_end == new.period_end;
            if !same_period {
                return Err(AppError::bad_input(
                    "correctionOf",
                    format!(
                        "a correction covers the period of {}: {} to {}",
                        corrected.run_no, corrected.period_start, corrected.period_end
                    ),
                ));
            }
            cost_centre = corrected.cost_centre;
            employment_type = corrected.employment_type;
            Some(corrected.id)
        }
        None => None,
    };
    let now = Utc::now();
    let run = pay_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        run_no: Set(sequences::next_number(&txn, &scope, "PAY").await?),
        frequency: Set(stored(new.frequency)),
        period_start: Set(new.period_start),
        period_end: Set(new.period_end),
        pay_date: Set(new.pay_date),
        cost_centre: Set(cost_centre),
        employment_type: Set(employment_type),
        correction_of: Set(correction_of),
        status: Set(DRAFT.to_owned()),
        employee_count: Set(0),
        total_gross: Set(0),
        total_net: Set(0),
        total_pph21: Set(0),
        total_employer_cost: Set(0),
        calculated_by: Set(None),
        calculated_at: Set(None),
        approved_by: Set(None),
        approved_at: Set(None),
        paid_at: Set(None),
        created_by: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let employees = covered(&txn, &scope, &run).await?;
    let chain = paid_in_chain(&txn, &scope, &run).await?;
    refuse_overlap(&txn, &scope, &run, &chain, &employees).await?;
    binding::start_for_record(&txn, actor, Module::Payroll, run.id).await?;
    records::append_event(&txn, actor, Module::Payroll, run.id, "created", &["status"]).await?;
    txn.commit().await?;
    Ok(run)
}

/// The live employees a run pays: its frequency and filters, employed in its period.
async fn covered(
    db: &impl Conn,
    scope: &TenantScope,
    run: &pay_run::Model,
) -> AppResult<Vec<employee::Model>> {
    use employee::Column as C;
    let mut select = records::live::<employee::Entity>(scope)
        .filter(C::PayFrequency.eq(&run.frequency))
        .filter(C::HireDate.lte(run.period_end))
        .filter(
            Condition::any()
                .add(C::TerminationDate.is_null())
                .add(C::TerminationDate.gte(run.period_start)),
        );
    if let Some(centre) = &run.cost_centre {
        select = select.filter(C::CostCentre.eq(centre));
    }
    if let Some(kind) = &run.employment_type {
        select = select.filter(C::EmploymentType.eq(kind));
    }
    Ok(select.order_by_asc(C::EmployeeNo).all(db).await?)
}

/// The run a correction corrects: approved or paid; a correction of a correction corrects the
/// same original.
async fn corrected_run(db: &impl Conn, scope: &TenantScope, id: Uuid) -> AppResult<pay_run::Model> {
    let missing = || AppError::ReferenceNotFound {
        field: "correctionOf".into(),
        what: "pay run",
    };
    let run = scope
        .by_id::<pay_run::Entity>(id)
        .one(db)
        .await?
        .ok_or_else(missing)?;
    if !BINDING.contains(&run.status.as_str()) {
        return Err(AppError::bad_input(
            "correctionOf",
            format!(
                "{} is {}: only approved or paid runs are corrected",
                run.run_no, run.status
            ),
        ));
    }
    match run.correction_of {
        Some(original) => scope
            .by_id::<pay_run::Entity>(original)
            .one(db)
            .await?
            .ok_or_else(missing),
        None => Ok(run),
    }
}

/// The approved and paid runs of a correction's chain (the original and its corrections),
/// this run excepted.
async fn paid_in_chain(
    db: &impl Conn,
    scope: &TenantScope,
    run: &pay_run::Model,
) -> AppResult<Vec<pay_run::Model>> {
    let Some(original) = run.correction_of else {
        return Ok(Vec::new());
    };
    Ok(scope
        .select::<pay_run::Entity>()
        .filter(pay_run::Column::Status.is_in(BINDING))
        .filter(
            Condition::any()
                .add(pay_run::Column::Id.eq(original))
                .add(pay_run::Column::CorrectionOf.eq(original)),
        )
        .filter(pay_run::Column::Id.ne(run.id))
        .all(db)
        .await?)
}

/// Refuses a run that would pay an employee again for days an approved run already paid
/// (a correction's own `chain` excepted: it pays the differences).
async fn refuse_overlap(
    db: &impl Conn,
    scope: &TenantScope,
    run: &pay_run::Model,
    chain: &[pay_run::Model],
    employees: &[employee::Model],
) -> AppResult<()> {
    let overlapping = scope
        .select::<pay_run::Entity>()
        .filter(pay_run::Column::Status.is_in(BINDING))
        .filter(pay_run::Column::PeriodStart.lte(run.period_end))
        .filter(pay_run::Column::PeriodEnd.gte(run.period_start))
        .filter(pay_run::Column::Id.ne(run.id))
        .all(db)
        .await?;
    let overlapping: Vec<pay_run::Model> = overlapping
        .into_iter()
        .filter(|r| !chain.iter().any(|c| c.id == r.id))
        .collect();
    if overlapping.is_empty() {
        return Ok(());
    }
    let paid: Vec<(Uuid, Uuid)> = scope
        .select::<payslip::Entity>()
        .filter(payslip::Column::PayRunId.is_in(overlapping.iter().map(|r| r.id)))
        .select_only()
        .columns([payslip::Column::EmployeeId, payslip::Column::PayRunId])
        .into_tuple()
        .all(db)
        .await?;
    let covered: HashMap<Uuid, &employee::Model> = employees.iter().map(|e| (e.id, e)).collect();
    for (employee_id, run_id) in paid {
        if let Some(employee) = covered.get(&employee_id) {
            let other = overlapping.iter().find(|r| r.id == run_id);
            return Err(AppError::bad_input(
                "periodStart",
                format!(
                    "{} is already paid for an overlapping period by {}",
                    employee.employee_no,
                    other.map_or("another run", |r| r.run_no.as_str())
                ),
            ));
        }
    }
    Ok(())
}

/// A run of the caller's tenant at `version`, in a state `allowed`.
async fn current(
    txn: &impl Conn,
    scope: &TenantScope,
    id: Uuid,
    version: i32,
    allowed: &[&str],
    action: &str,
) -> AppResult<pay_run::Model> {
    let run = scope
        .by_id::<pay_run::Entity>(id)
        .one(txn)
        .await?
        .ok_or_else(not_found)?;
    if run.version != version {
        return Err(AppError::Conflict(
            "the pay run was changed by someone else: read it again".into(),
        ));
    }
    if !allowed.contains(&run.status.as_str()) {
        return Err(AppError::bad_input(
            "id",
            format!(
                "{} is {}: only a {} run can be {action}",
                run.run_no,
                run.status,
                allowed.join(" or ")
            ),
        ));
    }
    Ok(run)
}

/// Days worked from attendance, for the employees whose days differ from their employment.
pub struct Attendance {
    pub employee_id: Uuid,
    pub days_worked: Decimal,
}

/// What the calculation needs that is the same for every employee of a run.
struct Setup {
    rules: super::rules::RuleSet,
    /// Each structure's components in evaluation order, by structure code.
    structures: HashMap<String, Vec<Component>>,
    assignments: HashMap<Uuid, salary_assignment::Model>,
    additional: HashMap<Uuid, Vec<(Component, Decimal)>>,
    year_to_date: HashMap<Uuid, YearToDate>,
    settings: HashMap<String, Val>,
}

async fn load_setup(
    txn: &impl Conn,
    scope: &TenantScope,
    run: &pay_run::Model,
) -> AppResult<Setup> {
    let day = run.period_end;
    let rules = setup::rules_on(txn, scope, day).await?;
    let components: HashMap<String, Component> = scope
        .select::<pay_component::Entity>()
        .all(txn)
        .await?
        .iter()
        .map(|c| Ok((c.code.clone(), component_of(c)?)))
        .collect::<AppResult<_>>()?;

    let versions = scope
        .select::<salary_structure::Entity>()
        .filter(salary_structure::Column::EffectiveFrom.lte(day))
        .all(txn)
        .await?;
    let mut structures = HashMap::new();
    for (code, version) in in_force(&versions, day, |v| (v.code.clone(), v.effective_from)) {
        let codes = structure_components(version);
        let listed: Vec<&str> = codes.iter().map(String::as_str).collect();
        let order = calc::evaluation_order(&listed, |c| {
            components.get(c).map(Component::reads).unwrap_or_default()
        })
        .map_err(|cycle| AppError::internal(format!("structure {code} has a cycle {cycle}")))?;
        let ordered = order
            .into_iter()
            .filter_map(|c| components.get(c).cloned())
            .collect();
        structures.insert(code, ordered);
    }

    let assigned = scope
        .select::<salary_assignment::Entity>()
        .filter(salary_assignment::Column::EffectiveFrom.lte(day))
        .all(txn)
        .await?;
    let assignments = in_force(&assigned, day, |a| {
        (a.employee_id.to_string(), a.effective_from)
    })
    .into_iter()
    .filter_map(|(id, a)| Some((Uuid::parse_str(&id).ok()?, a.clone())))
    .collect();

    let mut additional: HashMap<Uuid, Vec<(Component, Decimal)>> = HashMap::new();
    let pays = scope
        .select::<additional_pay::Entity>()
        .filter(additional_pay::Column::StartsOn.lte(run.period_end))
        .filter(additional_pay::Column::EndsOn.gte(run.period_start))
        .order_by_asc(additional_pay::Column::CreatedAt)
        .all(txn)
        .await?;
    for pay in pays {
        if let Some(component) = components.get(&pay.component_code) {
            additional
                .entry(pay.employee_id)
                .or_default()
                .push((component.clone(), money::from_units(pay.amount)));
        }
    }

    // The tax year so far: approved and paid runs of the same year before this period.
    let year_start = NaiveDate::from_ymd_opt(run.period_end.year(), 1, 1).unwrap_or(day);
    let earlier = scope
        .select::<pay_run::Entity>()
        .filter(pay_run::Column::Status.is_in(BINDING))
        .filter(pay_run::Column::PeriodEnd.gte(year_start))
        .filter(pay_run::Column::PeriodEnd.lt(run.period_start))
        .all(txn)
        .await?;
    let monthly: HashSet<Uuid> = earlier
        .iter()
        .filter(|r| r.frequency == stored(PayFrequency::Monthly) && r.correction_of.is_none())
        .map(|r| r.id)
        .collect();
    let mut year_to_date: HashMap<Uuid, YearToDate> = HashMap::new();
    if !earlier.is_empty() {
        // Only the totals: a December run reads eleven months of payslips.
        use payslip::Column as C;
        let totals: Vec<(Uuid, Uuid, i64, i64, i64, i64)> = scope
            .select::<payslip::Entity>()
            .filter(C::PayRunId.is_in(earlier.iter().map(|r| r.id)))
            .select_only()
            .columns([
                C::EmployeeId,
                C::PayRunId,
                C::Gross,
                C::TaxableGross,
                C::Pph21,
                C::Deductible,
            ])
            .into_tuple()
            .all(txn)
            .await?;
        for (employee, run, gross, taxable_gross, pph21, deductible) in totals {
            let slip = YearToDate {
                gross: money::from_units(gross),
                taxable_gross: money::from_units(taxable_gross),
                pph21: money::from_units(pph21),
                deductible: money::from_units(deductible),
                months: 0,
            };
            let ytd = year_to_date.entry(employee).or_default();
            add_to(ytd, &slip, monthly.contains(&run))
                .ok_or_else(|| AppError::internal("year-to-date totals overflow"))?;
        }
    }

    let settings = rules
        .values
        .iter()
        .map(|(name, value)| (name.clone(), Val::Num(*value)))
        .collect();
    Ok(Setup {
        rules,
        structures,
        assignments,
        additional,
        year_to_date,
        settings,
    })
}

fn add_to(ytd: &mut YearToDate, slip: &YearToDate, monthly: bool) -> Option<()> {
    ytd.gross = ytd.gross.checked_add(slip.gross)?;
    ytd.taxable_gross = ytd.taxable_gross.checked_add(slip.taxable_gross)?;
    ytd.pph21 = ytd.pph21.checked_add(slip.pph21)?;
    ytd.deductible = ytd.deductible.checked_add(slip.deductible)?;
    if monthly {
        ytd.months = ytd.months.saturating_add(1);
    }
    Some(())
}

fn employee_of(model: &employee::Model) -> AppResult<Employee> {
    let facts = HashMap::from([
        (
            "employmentType".to_owned(),
            Val::Text(model.employment_type.clone()),
        ),
        (
            "payFrequency".to_owned(),
            Val::Text(model.pay_frequency.clone()),
        ),
        ("taxStatus".to_owned(), Val::Text(model.tax_status.clone())),
        (
            "jkkClass".to_owned(),
            Val::Num(Decimal::from(model.jkk_class)),
        ),
        (
            "costCentre".to_owned(),
            Val::Text(model.cost_centre.clone().unwrap_or_default()),
        ),
    ]);
    Ok(Employee {
        employment_type: loaded(&model.employment_type)?,
        tax_status: model.tax_status.clone(),
        jkk_class: u8::try_from(model.jkk_class).unwrap_or(1),
        hire_date: model.hire_date,
        termination_date: model.termination_date,
        facts,
    })
}

/// Calculates (or recalculates) every payslip of a Draft or Calculated run, in one
/// transaction: either all payslips are written or none.
pub async fn calculate(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    attendance: Vec<Attendance>,
) -> AppResult<pay_run::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let run = current(
        &txn,
        &scope,
        id,
        version,
        &[DRAFT, CALCULATED],
        "calculated",
    )
    .await?;
    let employees = covered(&txn, &scope, &run).await?;
    let chain = paid_in_chain(&txn, &scope, &run).await?;
    refuse_overlap(&txn, &scope, &run, &chain, &employees).await?;
    let days_in_period = Decimal::from((run.period_end - run.period_start).num_days() + 1);
    let paid_here: HashSet<Uuid> = employees.iter().map(|e| e.id).collect();
    let mut days_worked = HashMap::new();
    for (i, entry) in attendance.iter().enumerate() {
        if !paid_here.contains(&entry.employee_id) {
            return Err(AppError::bad_input(
                format!("attendance[{i}].employeeId"),
                "is not an employee this run pays",
            ));
        }
        if entry.days_worked < Decimal::ZERO || entry.days_worked > days_in_period {
            return Err(AppError::bad_input(
                format!("attendance[{i}].daysWorked"),
                format!("from 0 to the {days_in_period} days of the period"),
            ));
        }
        days_worked.insert(entry.employee_id, entry.days_worked);
    }
    let setup = load_setup(&txn, &scope, &run).await?;
    // A correction pays what changed since the runs it corrects paid.
    let correcting = run.correction_of.is_some();
    let mut paid_before: HashMap<Uuid, Vec<payslip::Model>> = HashMap::new();
    if !chain.is_empty() {
        let slips = scope
            .select::<payslip::Entity>()
            .filter(payslip::Column::PayRunId.is_in(chain.iter().map(|r| r.id)))
            .all(&txn)
            .await?;
        for slip in slips {
            paid_before.entry(slip.employee_id).or_default().push(slip);
        }
    }
    let period = Period {
        start: run.period_start,
        end: run.period_end,
        frequency: loaded(&run.frequency)?,
    };

    let now = Utc::now();
    let mut rows = Vec::with_capacity(employees.len());
    let (mut gross, mut net, mut pph21, mut employer_cost) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for employee in &employees {
        let who = &employee.employee_no;
        let assignment = setup.assignments.get(&employee.id).ok_or_else(|| {
            AppError::bad_input(
                "id",
                format!(
                    "{who} has no salary structure assigned on {}",
                    run.period_end
                ),
            )
        })?;
        let components = setup
            .structures
            .get(&assignment.structure_code)
            .ok_or_else(|| {
                AppError::bad_input(
                    "id",
                    format!(
                        "{who}'s structure {} has no version in force on {}",
                        assignment.structure_code, run.period_end
                    ),
                )
            })?;
        let ytd = setup
            .year_to_date
            .get(&employee.id)
            .cloned()
            .unwrap_or_default();
        let facts = employee_of(employee)?;
        let slip = calc::calculate(&calc::Input {
            rules: &setup.rules,
            employee: &facts,
            period,
            base_pay: money::from_units(assignment.base_pay),
            components,
            additional: setup
                .additional
                .get(&employee.id)
                .map_or(&[], Vec::as_slice),
            days_worked: days_worked.get(&employee.id).copied(),
            settings: &setup.settings,
            year_to_date: &ytd,
        })
        .map_err(|(field, message)| AppError::bad_input(field, format!("{who}: {message}")))?;

        let mut after = ytd;
        let this = YearToDate {
            gross: slip.gross,
            taxable_gross: slip.taxable_gross,
            pph21: slip.pph21,
            deductible: slip.deductible,
            months: 0,
        };
        let overflow = || AppError::bad_input("id", format!("{who}: amounts out of range"));
        add_to(&mut after, &this, period.frequency == PayFrequency::Monthly)
            .ok_or_else(overflow)?;
        let slip = if correcting {
            let paid = paid_before.get(&employee.id).map_or(&[][..], Vec::as_slice);
            match difference(slip, paid).ok_or_else(overflow)? {
                Some(difference) => difference,
                None => continue,
            }
        } else {
            slip
        };
        let contributions = slip
            .lines
            .iter()
            .filter(|l| l.kind == Kind::EmployerContribution)
            .try_fold(Decimal::ZERO, |sum, l| sum.checked_add(l.amount))
            .ok_or_else(overflow)?;
        gross = gross.checked_add(slip.gross).ok_or_else(overflow)?;
        net = net.checked_add(slip.net).ok_or_else(overflow)?;
        pph21 = pph21.checked_add(slip.pph21).ok_or_else(overflow)?;
        employer_cost = employer_cost
            .checked_add(slip.gross)
            .and_then(|c| c.checked_add(contributions))
            .ok_or_else(overflow)?;
        let units = |amount: Decimal| money::to_units("id", amount);
        rows.push(payslip::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            pay_run_id: Set(run.id),
            employee_id: Set(employee.id),
            period_end: Set(run.period_end),
            tax_method: Set(slip.tax_method.to_owned()),
            lines: Set(serde_json::to_value(&slip.lines).map_err(AppError::internal)?),
            days_worked: Set(units(slip.days_worked)?),
            gross: Set(units(slip.gross)?),
            taxable_gross: Set(units(slip.taxable_gross)?),
            bpjs_employee: Set(units(slip.bpjs_employee)?),
            bpjs_employer: Set(units(slip.bpjs_employer)?),
            deductible: Set(units(slip.deductible)?),
            pph21: Set(units(slip.pph21)?),
            net: Set(units(slip.net)?),
            year_to_date: Set(serde_json::to_value(&after).map_err(AppError::internal)?),
            created_at: Set(now),
        });
    }

    let count = i32::try_from(rows.len()).unwrap_or(i32::MAX);
    scope
        .delete::<payslip::Entity>()
        .filter(payslip::Column::PayRunId.eq(run.id))
        .exec(&txn)
        .await?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        payslip::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    let mut row: pay_run::ActiveModel = run.into();
    row.status = Set(CALCULATED.to_owned());
    row.employee_count = Set(count);
    row.total_gross = Set(money::to_units("id", gross)?);
    row.total_net = Set(money::to_units("id", net)?);
    row.total_pph21 = Set(money::to_units("id", pph21)?);
    row.total_employer_cost = Set(money::to_units("id", employer_cost)?);
    row.calculated_by = Set(Some(actor.user_id));
    row.calculated_at = Set(Some(now));
    let totals = [
        "status",
        "employeeCount",
        "totalGross",
        "totalNet",
        "totalPph21",
        "totalEmployerCost",
    ];
    let updated = bump(&txn, actor, row, version, &totals).await?;
    txn.commit().await?;
    Ok(updated)
}

/// What a correction pays an employee: the period's pay as calculated now less what the
/// corrected run and its earlier corrections paid, line by line and in every total.
/// `Some(None)` when nothing differs; `None` on overflow.
fn difference(now: calc::Payslip, paid: &[payslip::Model]) -> Option<Option<calc::Payslip>> {
    let mut lines = now.lines;
    for slip in paid {
        for line in self::lines(slip) {
            match lines.iter_mut().find(|l| l.code == line.code) {
                Some(same) => same.amount = same.amount.checked_sub(line.amount)?,
                None => lines.push(calc::Line {
                    amount: -line.amount,
                    ..line
                }),
            }
        }
    }
    lines.retain(|l| !l.amount.is_zero());
    if lines.is_empty() {
        return Some(None);
    }
    let less = |total: Decimal, of: fn(&payslip::Model) -> i64| {
        paid.iter().try_fold(total, |sum, slip| {
            sum.checked_sub(money::from_units(of(slip)))
        })
    };
    Some(Some(calc::Payslip {
        lines,
        gross: less(now.gross, |s| s.gross)?,
        taxable_gross: less(now.taxable_gross, |s| s.taxable_gross)?,
        bpjs_employee: less(now.bpjs_employee, |s| s.bpjs_employee)?,
        bpjs_employer: less(now.bpjs_employer, |s| s.bpjs_employer)?,
        deductible: less(now.deductible, |s| s.deductible)?,
        pph21: less(now.pph21, |s| s.pph21)?,
        net: less(now.net, |s| s.net)?,
        tax_method: "CORRECTION",
        ..now
    }))
}

/// Saves a run's new status (and what came with it) under the next version, then moves its
/// `payroll-run` process there, whose roles and guards may still refuse.
/// The change goes to the event log as its new status in lower case (`payRunChanged`).
async fn bump(
    txn: &impl Conn,
    actor: &Principal,
    mut row: pay_run::ActiveModel,
    version: i32,
    changed: &[&str],
) -> AppResult<pay_run::Model> {
    row.version = Set(version.saturating_add(1));
    row.updated_at = Set(Utc::now());
    let run = row.update(txn).await?;
    binding::advance_to(txn, actor, Module::Payroll, run.id, &run.status).await?;
    let action = run.status.to_lowercase();
    records::append_event(txn, actor, Module::Payroll, run.id, &action, changed).await?;
    Ok(run)
}

/// Moves a run in one of the `allowed` states on: `change` checks the run and sets the new
/// status (and its stamps); then the version, the process and the event log follow.
async fn move_run(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    allowed: &[&str],
    verb: &str,
    change: impl FnOnce(&pay_run::Model, &mut pay_run::ActiveModel) -> AppResult<()>,
) -> AppResult<pay_run::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let run = current(&txn, &scope, id, version, allowed, verb).await?;
    let mut row: pay_run::ActiveModel = run.clone().into();
    change(&run, &mut row)?;
    let updated = bump(&txn, actor, row, version, &["status"]).await?;
    txn.commit().await?;
    Ok(updated)
}

/// A manager or admin approves a calculated run; its payslips are final from now on. When the
/// tenant asks for it, the approver must not be who calculated it.
pub async fn approve(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
) -> AppResult<pay_run::Model> {
    if !actor.has_role(Role::Manager) && !actor.has_role(Role::Admin) {
        return Err(AppError::Forbidden(
            "only a manager or an administrator may approve a pay run".into(),
        ));
    }
    let separate = tenant::Entity::find_by_id(actor.tenant_id)
        .one(db)
        .await?
        .is_some_and(|t| t.payroll_separate_approver);
    move_run(
        db,
        actor,
        id,
        version,
        &[CALCULATED],
        "approved",
        |run, row| {
            if separate && run.calculated_by == Some(actor.user_id) {
                return Err(AppError::Forbidden(
                    "someone other than who calculated the pay run must approve it".into(),
                ));
            }
            row.status = Set(APPROVED.to_owned());
            row.approved_by = Set(Some(actor.user_id));
            row.approved_at = Set(Some(Utc::now()));
            Ok(())
        },
    )
    .await
}

/// Records that an approved run's pay has been transferred.
pub async fn mark_paid(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
) -> AppResult<pay_run::Model> {
    move_run(
        db,
        actor,
        id,
        version,
        &[APPROVED],
        "marked paid",
        |_, row| {
            row.status = Set(PAID.to_owned());
            row.paid_at = Set(Some(Utc::now()));
            Ok(())
        },
    )
    .await
}

/// Cancels a run that has not been paid; its payslips stop counting for the tax year.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
) -> AppResult<pay_run::Model> {
    let allowed = [DRAFT, CALCULATED, APPROVED];
    move_run(db, actor, id, version, &allowed, "cancelled", |_, row| {
        row.status = Set(CANCELLED.to_owned());
        Ok(())
    })
    .await
}

// ----- reading -----

pub async fn get(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<pay_run::Model> {
    actor.require(Module::Payroll, Access::Read)?;
    actor
        .scope()
        .by_id::<pay_run::Entity>(id)
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// Pay runs, latest period first.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Principal,
    status: Option<&str>,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<pay_run::Model>> {
    actor.require(Module::Payroll, Access::Read)?;
    let mut select = actor.scope().select::<pay_run::Entity>();
    if let Some(status) = status {
        select = select.filter(pay_run::Column::Status.eq(status));
    }
    let order = Some((pay_run::Column::PeriodStart, Order::Desc));
    pagination::paginate(db, select, order, args, limits).await
}

/// The payslips of a run or of an employee (or both), by employee number order of creation.
pub async fn payslips(
    db: &DatabaseConnection,
    actor: &Principal,
    pay_run_id: Option<Uuid>,
    employee_id: Option<Uuid>,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<payslip::Model>> {
    actor.require(Module::Payroll, Access::Read)?;
    let mut select: Select<payslip::Entity> = actor.scope().select::<payslip::Entity>();
    if let Some(run) = pay_run_id {
        select = select.filter(payslip::Column::PayRunId.eq(run));
    }
    if let Some(employee) = employee_id {
        select = select.filter(payslip::Column::EmployeeId.eq(employee));
    }
    let order = Some((payslip::Column::PeriodEnd, Order::Desc));
    pagination::paginate(db, select, order, args, limits).await
}

pub async fn payslip(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<payslip::Model> {
    actor.require(Module::Payroll, Access::Read)?;
    actor
        .scope()
        .by_id::<payslip::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("payslip"))
}

/// The caller's own payslips of approved and paid runs, whatever their payroll rights: an
/// employee linked to their user sees these and nothing else of payroll.
pub async fn my_payslips(
    db: &DatabaseConnection,
    actor: &Principal,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<payslip::Model>> {
    let scope = actor.scope();
    let mine = records::live::<employee::Entity>(&scope)
        .filter(employee::Column::UserId.eq(actor.user_id))
        .select_only()
        .column(employee::Column::Id)
        .into_query();
    let final_runs = scope
        .select::<pay_run::Entity>()
        .filter(pay_run::Column::Status.is_in(BINDING))
        .select_only()
        .column(pay_run::Column::Id)
        .into_query();
    let select = scope
        .select::<payslip::Entity>()
        .filter(payslip::Column::EmployeeId.in_subquery(mine))
        .filter(payslip::Column::PayRunId.in_subquery(final_runs));
    let order = Some((payslip::Column::PeriodEnd, Order::Desc));
    pagination::paginate(db, select, order, args, limits).await
}

/// A payslip's lines as stored.
pub fn lines(slip: &payslip::Model) -> Vec<calc::Line> {
    serde_json::from_value(slip.lines.clone()).unwrap_or_default()
}

/// Reads a payslip's year-to-date totals.
pub fn year_to_date(slip: &payslip::Model) -> YearToDate {
    serde_json::from_value(slip.year_to_date.clone()).unwrap_or_default()
}
