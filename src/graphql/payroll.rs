//! Payroll: employees, what they are paid, pay runs and payslips.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use entity::payroll::{
    additional_pay, employee, pay_component, pay_run, payslip, salary_assignment, salary_structure,
};

use crate::money;
use crate::payroll::calc::{EmploymentType, Kind, PayFrequency, Rounding, YearToDate};
use crate::payroll::employees::{self, EmployeeFields, EmployeeFilter, EmployeeOrderBy};
use crate::payroll::loaded;
use crate::payroll::runs::{self, Attendance, NewPayRun};
use crate::payroll::setup::{self, AdditionalPayFields, ComponentFields, EffectiveRules};
use crate::records;

use super::loaders::{AdditionalPayOfEmployee, AssignmentsOfEmployee, ById, Children};
use super::pagination::{Connected, connection, page_args};
use super::platform::User;
use super::records::{
    id, optional_id, owner, patch, patch_id, record_mutations, record_object, record_queries,
};
use super::{ContextExt, parse_id};

/// A person the tenant pays. Only roles with the payroll permission see employees (admins and
/// managers by default).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Employee {
    pub id: ID,
    /// EMP-00001, given by the server.
    pub employee_no: String,
    pub name: String,
    pub email: Option<String>,
    /// The user who reads this employee's payslips (`myPayslips`).
    pub user_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub hire_date: NaiveDate,
    pub termination_date: Option<NaiveDate>,
    pub employment_type: EmploymentType,
    pub pay_frequency: PayFrequency,
    /// PTKP status: TK/0…TK/3, K/0…K/3, K/I/0…K/I/3 (withheld as K/x).
    pub tax_status: String,
    /// NPWP or NIK, digits only.
    pub tax_id: Option<String>,
    pub bank_holder: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub cost_centre: Option<String>,
    /// JKK risk group, 1 (very low) to 5 (very high).
    pub jkk_class: i32,
    pub owner_id: ID,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: employee::Model,
}

impl From<employee::Model> for Employee {
    fn from(m: employee::Model) -> Self {
        Self {
            id: id(m.id),
            employee_no: m.employee_no.clone(),
            name: m.name.clone(),
            email: m.email.clone(),
            user_id: m.user_id.map(id),
            contact_id: m.contact_id.map(id),
            hire_date: m.hire_date,
            termination_date: m.termination_date,
            employment_type: loaded(&m.employment_type).unwrap_or(EmploymentType::Permanent),
            pay_frequency: loaded(&m.pay_frequency).unwrap_or(PayFrequency::Monthly),
            tax_status: m.tax_status.clone(),
            tax_id: m.tax_id.clone(),
            bank_holder: m.bank_holder.clone(),
            bank_name: m.bank_name.clone(),
            bank_account: m.bank_account.clone(),
            cost_centre: m.cost_centre.clone(),
            jkk_class: m.jkk_class,
            owner_id: id(m.owner_id),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Employee, id: model.id, owner: model.owner_id {
    /// The employee's salary structure assignments, oldest first: their pay history.
    async fn salary_assignments(&self, ctx: &Context<'_>) -> Result<Vec<SalaryAssignment>> {
        let loader = ctx.loader::<Children<salary_assignment::Entity, AssignmentsOfEmployee>>()?;
        let assignments = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(assignments.into_iter().map(Into::into).collect())
    }

    /// The employee's bonuses, THR, overtime and instalments, by first day.
    async fn additional_pays(&self, ctx: &Context<'_>) -> Result<Vec<AdditionalPay>> {
        let loader = ctx.loader::<Children<additional_pay::Entity, AdditionalPayOfEmployee>>()?;
        let pays = loader.load_one(self.model.id).await?.unwrap_or_default();
        Ok(pays.into_iter().map(Into::into).collect())
    }
});

#[derive(InputObject)]
pub struct CreateEmployeeInput {
    pub name: String,
    pub email: Option<String>,
    pub user_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub hire_date: NaiveDate,
    pub termination_date: Option<NaiveDate>,
    /// Defaults to PERMANENT.
    pub employment_type: Option<EmploymentType>,
    /// Defaults to MONTHLY.
    pub pay_frequency: Option<PayFrequency>,
    pub tax_status: String,
    pub tax_id: Option<String>,
    pub bank_holder: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub cost_centre: Option<String>,
    /// Defaults to 1.
    pub jkk_class: Option<i32>,
    pub owner_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateEmployeeInput {
    pub version: i32,
    pub name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub user_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    pub hire_date: Option<NaiveDate>,
    pub termination_date: MaybeUndefined<NaiveDate>,
    pub employment_type: Option<EmploymentType>,
    pub pay_frequency: Option<PayFrequency>,
    pub tax_status: Option<String>,
    pub tax_id: MaybeUndefined<String>,
    pub bank_holder: MaybeUndefined<String>,
    pub bank_name: MaybeUndefined<String>,
    pub bank_account: MaybeUndefined<String>,
    pub cost_centre: MaybeUndefined<String>,
    pub jkk_class: Option<i32>,
    pub owner_id: Option<ID>,
}

record_queries!(
    EmployeeQuery: employee, employees -> Employee,
    employee::Entity, EmployeeFilter, EmployeeOrderBy, "An employee", "Employees"
);

/// Something a payslip pays, deducts or shows.
#[derive(SimpleObject)]
pub struct PayComponent {
    pub id: ID,
    pub code: String,
    pub name: String,
    pub kind: Kind,
    /// A fixed amount per period (or per day for daily workers), or…
    pub amount: Option<Decimal>,
    /// …a formula: CEL syntax in exact decimals over `base`, `daysWorked`, `daysInPeriod`,
    /// `BASIC`, other components by code, `employee.<field>` and `settings.<name>`.
    pub formula: Option<String>,
    /// The component applies only when this formula holds.
    pub condition: Option<String>,
    /// Earnings and employer contributions: part of the PPh 21 gross. Deductions: reduces the
    /// annual net income (zakat paid through the employer).
    pub taxable: bool,
    /// Part of the BPJS wage base (base pay and fixed allowances).
    pub bpjs_base: bool,
    /// Scaled by days worked over the days of the period.
    pub prorated: bool,
    /// To whole currency units.
    pub rounding: Rounding,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<pay_component::Model> for PayComponent {
    fn from(m: pay_component::Model) -> Self {
        Self {
            id: id(m.id),
            kind: loaded(&m.kind).unwrap_or(Kind::Statistical),
            rounding: loaded(&m.rounding).unwrap_or(Rounding::Nearest),
            code: m.code,
            name: m.name,
            amount: m.amount.map(money::from_units),
            formula: m.formula,
            condition: m.condition,
            taxable: m.taxable,
            bpjs_base: m.bpjs_base,
            prorated: m.prorated,
            version: m.version,
            updated_at: m.updated_at,
        }
    }
}

/// One version of a salary structure: the components it pays from a date.
#[derive(SimpleObject)]
pub struct SalaryStructure {
    pub id: ID,
    pub code: String,
    pub name: String,
    pub effective_from: NaiveDate,
    /// Component codes, evaluated in the order their formulas need.
    pub components: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<salary_structure::Model> for SalaryStructure {
    fn from(m: salary_structure::Model) -> Self {
        Self {
            id: id(m.id),
            components: setup::structure_components(&m),
            code: m.code,
            name: m.name,
            effective_from: m.effective_from,
            created_at: m.created_at,
        }
    }
}

/// From a date, an employee is paid by a structure with a base pay.
#[derive(SimpleObject)]
pub struct SalaryAssignment {
    pub id: ID,
    pub employee_id: ID,
    pub structure_code: String,
    /// Per pay period, or per day for daily workers.
    pub base_pay: Decimal,
    pub effective_from: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<salary_assignment::Model> for SalaryAssignment {
    fn from(m: salary_assignment::Model) -> Self {
        Self {
            id: id(m.id),
            employee_id: id(m.employee_id),
            structure_code: m.structure_code,
            base_pay: money::from_units(m.base_pay),
            effective_from: m.effective_from,
            created_at: m.created_at,
        }
    }
}

/// A bonus, THR, overtime or instalment, paid in every run whose period overlaps
/// `startsOn`…`endsOn`.
#[derive(SimpleObject)]
pub struct AdditionalPay {
    pub id: ID,
    pub employee_id: ID,
    pub component_code: String,
    pub amount: Decimal,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub description: Option<String>,
}

impl From<additional_pay::Model> for AdditionalPay {
    fn from(m: additional_pay::Model) -> Self {
        Self {
            id: id(m.id),
            employee_id: id(m.employee_id),
            component_code: m.component_code,
            amount: money::from_units(m.amount),
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            description: m.description,
        }
    }
}

#[derive(InputObject)]
pub struct AdditionalPayInput {
    pub employee_id: ID,
    /// An earning or deduction component (BONUS, THR, OVERTIME, LOAN).
    pub component_code: String,
    pub amount: Decimal,
    pub starts_on: NaiveDate,
    /// The last day of a recurring pay; a one-off without it.
    pub ends_on: Option<NaiveDate>,
    pub description: Option<String>,
}

/// The statutory tables in force from a date.
#[derive(SimpleObject)]
pub struct PayrollRuleSet {
    pub effective_from: NaiveDate,
    /// True until the tenant saves its own: the Indonesian tables every tenant starts with.
    pub built_in: bool,
    /// `terMonthly` [{category, lower, upper, rate}], `terDaily` [{lower, upper, rate}],
    /// `article17` [{over, upTo, rate}], `ptkp` [{status, annual, terCategory}], `bpjs`
    /// [{program, employerRate, employeeRate, wageCap, effectiveFrom}],
    /// `occupationalCostRate`, `occupationalCostMonthlyCap` and `values` {name: amount}.
    /// Amounts and rates (percent) are decimal strings.
    pub rules: Json<serde_json::Value>,
}

impl From<EffectiveRules> for PayrollRuleSet {
    fn from(r: EffectiveRules) -> Self {
        Self {
            effective_from: r.effective_from,
            built_in: r.built_in,
            rules: Json(serde_json::to_value(&r.rules).unwrap_or_default()),
        }
    }
}

/// The tenant's payroll settings.
#[derive(SimpleObject)]
pub struct PayrollSettings {
    /// Whether a pay run must be approved by someone other than who calculated it.
    pub separate_approver: bool,
}

/// The pay of a period for the employees it covers.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PayRun {
    pub id: ID,
    /// PAY-00001, given by the server.
    pub run_no: String,
    pub frequency: PayFrequency,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub pay_date: NaiveDate,
    pub cost_centre: Option<String>,
    pub employment_type: Option<EmploymentType>,
    /// The approved run this one corrects (it pays only the differences).
    pub correction_of: Option<ID>,
    /// Draft, Calculated, Approved, Paid or Cancelled.
    pub status: String,
    pub employee_count: i32,
    pub total_gross: Decimal,
    pub total_net: Decimal,
    pub total_pph21: Decimal,
    /// Gross pay plus the employer's contributions.
    pub total_employer_cost: Decimal,
    pub calculated_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: pay_run::Model,
}

impl From<pay_run::Model> for PayRun {
    fn from(m: pay_run::Model) -> Self {
        Self {
            id: id(m.id),
            run_no: m.run_no.clone(),
            frequency: loaded(&m.frequency).unwrap_or(PayFrequency::Monthly),
            period_start: m.period_start,
            period_end: m.period_end,
            pay_date: m.pay_date,
            cost_centre: m.cost_centre.clone(),
            employment_type: m.employment_type.as_deref().and_then(|t| loaded(t).ok()),
            correction_of: m.correction_of.map(id),
            status: m.status.clone(),
            employee_count: m.employee_count,
            total_gross: money::from_units(m.total_gross),
            total_net: money::from_units(m.total_net),
            total_pph21: money::from_units(m.total_pph21),
            total_employer_cost: money::from_units(m.total_employer_cost),
            calculated_at: m.calculated_at,
            approved_at: m.approved_at,
            paid_at: m.paid_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl PayRun {
    /// The run's payslips.
    async fn payslips(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<Payslip>> {
        let app = ctx.app();
        let args = page_args(first, after, last, before);
        let page = runs::payslips(
            &app.db,
            ctx.principal()?,
            Some(self.model.id),
            None,
            &args,
            &app.limits,
        );
        Ok(connection(page.await?, Payslip::from))
    }

    async fn calculated_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.model.calculated_by).await
    }

    async fn approved_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        user(ctx, self.model.approved_by).await
    }
}

async fn user(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> Result<Option<User>> {
    match id {
        Some(id) => owner(ctx, id).await,
        None => Ok(None),
    }
}

/// One line of a payslip.
#[derive(SimpleObject)]
pub struct PayslipLine {
    pub code: String,
    pub name: String,
    pub kind: Kind,
    /// Negative PPh 21 in the last period is a refund of over-withholding.
    pub amount: Decimal,
    /// What the amount was computed from (rates, caps, the formula's inputs).
    pub inputs: Json<serde_json::Value>,
}

/// The tax year up to and including a payslip.
#[derive(SimpleObject)]
pub struct PayrollYearToDate {
    pub gross: Decimal,
    pub taxable_gross: Decimal,
    pub pph21: Decimal,
    pub deductible: Decimal,
    pub months: u32,
}

impl From<YearToDate> for PayrollYearToDate {
    fn from(y: YearToDate) -> Self {
        Self {
            gross: y.gross,
            taxable_gross: y.taxable_gross,
            pph21: y.pph21,
            deductible: y.deductible,
            months: y.months,
        }
    }
}

/// One employee's pay in one pay run; final once the run is approved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Payslip {
    pub id: ID,
    pub pay_run_id: ID,
    pub employee_id: ID,
    pub period_end: NaiveDate,
    /// TER_MONTHLY, TER_DAILY, ANNUAL (the last period of the tax year) or CORRECTION (the
    /// differences a correction run pays).
    pub tax_method: String,
    pub days_worked: Decimal,
    /// Cash earnings.
    pub gross: Decimal,
    /// The PPh 21 gross: taxable earnings and the taxable employer contributions.
    pub taxable_gross: Decimal,
    pub bpjs_employee: Decimal,
    pub bpjs_employer: Decimal,
    pub pph21: Decimal,
    pub net: Decimal,
    pub lines: Vec<PayslipLine>,
    pub year_to_date: PayrollYearToDate,
}

impl From<payslip::Model> for Payslip {
    fn from(m: payslip::Model) -> Self {
        Self {
            id: id(m.id),
            pay_run_id: id(m.pay_run_id),
            employee_id: id(m.employee_id),
            period_end: m.period_end,
            tax_method: m.tax_method.clone(),
            days_worked: money::from_units(m.days_worked),
            gross: money::from_units(m.gross),
            taxable_gross: money::from_units(m.taxable_gross),
            bpjs_employee: money::from_units(m.bpjs_employee),
            bpjs_employer: money::from_units(m.bpjs_employer),
            pph21: money::from_units(m.pph21),
            net: money::from_units(m.net),
            lines: runs::lines(&m)
                .into_iter()
                .map(|l| PayslipLine {
                    code: l.code,
                    name: l.name,
                    kind: l.kind,
                    amount: l.amount,
                    inputs: Json(l.inputs),
                })
                .collect(),
            year_to_date: runs::year_to_date(&m).into(),
        }
    }
}

#[ComplexObject]
impl Payslip {
    /// The employee paid (needs the payroll read right).
    async fn employee(&self, ctx: &Context<'_>) -> Result<Option<Employee>> {
        let loader = ctx.loader::<ById<employee::Entity>>()?;
        let id = parse_id("employeeId", &self.employee_id)?;
        Ok(loader.load_one(id).await?.map(Employee::from))
    }
}

/// Days worked, where attendance differs from the days employed in the period.
#[derive(InputObject)]
pub struct AttendanceInput {
    pub employee_id: ID,
    pub days_worked: Decimal,
}

#[derive(Default)]
pub struct PayrollQuery;

#[Object]
impl PayrollQuery {
    /// Every pay component, by code.
    async fn pay_components(&self, ctx: &Context<'_>) -> Result<Vec<PayComponent>> {
        let components = setup::components(&ctx.app().db, ctx.principal()?).await?;
        Ok(components.into_iter().map(Into::into).collect())
    }

    /// Every version of every salary structure, by code and date.
    async fn salary_structures(&self, ctx: &Context<'_>) -> Result<Vec<SalaryStructure>> {
        let structures = setup::structures(&ctx.app().db, ctx.principal()?).await?;
        Ok(structures.into_iter().map(Into::into).collect())
    }

    /// The statutory tables, oldest first; the built-in ones until the tenant saves its own.
    async fn payroll_rule_sets(&self, ctx: &Context<'_>) -> Result<Vec<PayrollRuleSet>> {
        let sets = setup::rule_sets(&ctx.app().db, ctx.principal()?).await?;
        Ok(sets.into_iter().map(Into::into).collect())
    }

    async fn payroll_settings(&self, ctx: &Context<'_>) -> Result<PayrollSettings> {
        let separate_approver = setup::settings(&ctx.app().db, ctx.principal()?).await?;
        Ok(PayrollSettings { separate_approver })
    }

    /// A pay run by id.
    async fn pay_run(&self, ctx: &Context<'_>, id: ID) -> Result<PayRun> {
        let id = parse_id("id", &id)?;
        Ok(runs::get(&ctx.app().db, ctx.principal()?, id).await?.into())
    }

    /// Pay runs, latest period first.
    async fn pay_runs(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<PayRun>> {
        let app = ctx.app();
        let args = page_args(first, after, last, before);
        let page = runs::list(
            &app.db,
            ctx.principal()?,
            status.as_deref(),
            &args,
            &app.limits,
        );
        Ok(connection(page.await?, PayRun::from))
    }

    /// Payslips of a run, of an employee, or both; latest period first.
    #[allow(clippy::too_many_arguments)]
    async fn payslips(
        &self,
        ctx: &Context<'_>,
        pay_run_id: Option<ID>,
        employee_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<Payslip>> {
        let app = ctx.app();
        let run = optional_id("payRunId", pay_run_id)?;
        let employee = optional_id("employeeId", employee_id)?;
        let args = page_args(first, after, last, before);
        let page = runs::payslips(&app.db, ctx.principal()?, run, employee, &args, &app.limits);
        Ok(connection(page.await?, Payslip::from))
    }

    async fn payslip(&self, ctx: &Context<'_>, id: ID) -> Result<Payslip> {
        let id = parse_id("id", &id)?;
        Ok(runs::payslip(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// The caller's own payslips of approved and paid runs (an employee linked to the user).
    async fn my_payslips(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<Payslip>> {
        let app = ctx.app();
        let args = page_args(first, after, last, before);
        let page = runs::my_payslips(&app.db, ctx.principal()?, &args, &app.limits);
        Ok(connection(page.await?, Payslip::from))
    }
}

#[derive(Default)]
pub struct PayrollMutation;

record_mutations!(PayrollMutation {
    employee::Entity => Employee, "an employee": delete_employee, restore_employee, purge_employee;
} {
    async fn create_employee(&self, ctx: &Context<'_>, input: CreateEmployeeInput) -> Result<Employee> {
        let fields = EmployeeFields {
            name: Some(input.name),
            email: Some(input.email),
            user_id: Some(optional_id("userId", input.user_id)?),
            contact_id: Some(optional_id("contactId", input.contact_id)?),
            hire_date: Some(input.hire_date),
            termination_date: Some(input.termination_date),
            employment_type: input.employment_type,
            pay_frequency: input.pay_frequency,
            tax_status: Some(input.tax_status),
            tax_id: Some(input.tax_id),
            bank_holder: Some(input.bank_holder),
            bank_name: Some(input.bank_name),
            bank_account: Some(input.bank_account),
            cost_centre: Some(input.cost_centre),
            jkk_class: input.jkk_class,
            owner_id: optional_id("ownerId", input.owner_id)?,
        };
        Ok(employees::create(&ctx.app().db, ctx.principal()?, fields).await?.into())
    }

    async fn update_employee(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateEmployeeInput,
    ) -> Result<Employee> {
        let id = parse_id("id", &id)?;
        let fields = EmployeeFields {
            name: input.name,
            email: patch(input.email),
            user_id: patch_id("userId", input.user_id)?,
            contact_id: patch_id("contactId", input.contact_id)?,
            hire_date: input.hire_date,
            termination_date: patch(input.termination_date),
            employment_type: input.employment_type,
            pay_frequency: input.pay_frequency,
            tax_status: input.tax_status,
            tax_id: patch(input.tax_id),
            bank_holder: patch(input.bank_holder),
            bank_name: patch(input.bank_name),
            bank_account: patch(input.bank_account),
            cost_centre: patch(input.cost_centre),
            jkk_class: input.jkk_class,
            owner_id: optional_id("ownerId", input.owner_id)?,
        };
        let db = &ctx.app().db;
        let updated = records::edit::<employee::Entity>(db, ctx.principal()?, id, input.version, fields);
        Ok(updated.await?.into())
    }

    /// Creates a pay component or replaces the one with the same code. Formulas may read only
    /// names that exist; components that read each other are refused with the cycle.
    async fn define_pay_component(
        &self,
        ctx: &Context<'_>,
        input: ComponentFields,
    ) -> Result<PayComponent> {
        Ok(setup::define_component(&ctx.app().db, ctx.principal()?, input).await?.into())
    }

    /// Adds a version of a salary structure from `effectiveFrom` (or replaces that day's).
    async fn define_salary_structure(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: String,
        effective_from: NaiveDate,
        components: Vec<String>,
    ) -> Result<SalaryStructure> {
        let db = &ctx.app().db;
        let defined =
            setup::define_structure(db, ctx.principal()?, &code, &name, effective_from, components);
        Ok(defined.await?.into())
    }

    /// From `effectiveFrom`, the employee is paid by the structure with this base pay.
    async fn assign_salary_structure(
        &self,
        ctx: &Context<'_>,
        employee_id: ID,
        structure_code: String,
        base_pay: Decimal,
        effective_from: NaiveDate,
    ) -> Result<SalaryAssignment> {
        let employee = parse_id("employeeId", &employee_id)?;
        let db = &ctx.app().db;
        let assigned = setup::assign_structure(
            db,
            ctx.principal()?,
            employee,
            &structure_code,
            base_pay,
            effective_from,
        );
        Ok(assigned.await?.into())
    }

    async fn add_additional_pay(
        &self,
        ctx: &Context<'_>,
        input: AdditionalPayInput,
    ) -> Result<AdditionalPay> {
        let fields = AdditionalPayFields {
            employee_id: parse_id("employeeId", &input.employee_id)?,
            component_code: input.component_code,
            amount: input.amount,
            starts_on: input.starts_on,
            ends_on: input.ends_on,
            description: input.description,
        };
        Ok(setup::add_additional_pay(&ctx.app().db, ctx.principal()?, fields).await?.into())
    }

    /// Saves the statutory tables in force from `effectiveFrom` (admins only); every problem
    /// is reported with its path.
    async fn update_payroll_rule_set(
        &self,
        ctx: &Context<'_>,
        effective_from: NaiveDate,
        rules: Json<serde_json::Value>,
    ) -> Result<PayrollRuleSet> {
        let db = &ctx.app().db;
        let saved = setup::update_rule_set(db, ctx.principal()?, effective_from, rules.0);
        Ok(saved.await?.into())
    }

    /// Whether pay runs need a second person to approve them (admins only).
    async fn update_payroll_settings(
        &self,
        ctx: &Context<'_>,
        separate_approver: bool,
    ) -> Result<PayrollSettings> {
        let db = &ctx.app().db;
        setup::update_settings(db, ctx.principal()?, separate_approver).await?;
        Ok(PayrollSettings { separate_approver })
    }

    /// A Draft pay run for a period; refused if it would pay someone an approved run paid.
    async fn create_pay_run(&self, ctx: &Context<'_>, input: NewPayRun) -> Result<PayRun> {
        Ok(runs::create(&ctx.app().db, ctx.principal()?, input).await?.into())
    }

    /// Calculates every payslip of a Draft or Calculated run in one transaction.
    async fn calculate_pay_run(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        #[graphql(default)] attendance: Vec<AttendanceInput>,
    ) -> Result<PayRun> {
        let id = parse_id("id", &id)?;
        let attendance = attendance
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(Attendance {
                    employee_id: parse_id(&format!("attendance[{i}].employeeId"), &a.employee_id)?,
                    days_worked: a.days_worked,
                })
            })
            .collect::<Result<Vec<_>, crate::error::AppError>>()?;
        let db = &ctx.app().db;
        Ok(runs::calculate(db, ctx.principal()?, id, version, attendance).await?.into())
    }

    /// A manager or admin approves a calculated run; its payslips are final from now on.
    async fn approve_pay_run(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<PayRun> {
        let id = parse_id("id", &id)?;
        Ok(runs::approve(&ctx.app().db, ctx.principal()?, id, version).await?.into())
    }

    /// Records that an approved run has been paid. Paid is final.
    async fn mark_pay_run_paid(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<PayRun> {
        let id = parse_id("id", &id)?;
        Ok(runs::mark_paid(&ctx.app().db, ctx.principal()?, id, version).await?.into())
    }

    /// Cancels a run that has not been paid.
    async fn cancel_pay_run(&self, ctx: &Context<'_>, id: ID, version: i32) -> Result<PayRun> {
        let id = parse_id("id", &id)?;
        Ok(runs::cancel(&ctx.app().db, ctx.principal()?, id, version).await?.into())
    }
});

#[derive(Default)]
pub struct PayrollSubscription;

#[async_graphql::Subscription]
impl PayrollSubscription {
    /// A pay run as it is after each change, from now on: created, calculated (with the
    /// employees calculated and the totals; a run is calculated in one transaction, so the
    /// count arrives complete), approved, paid or cancelled.
    async fn pay_run_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<futures_util::stream::BoxStream<'static, PayRun>> {
        use futures_util::StreamExt;
        let principal = ctx.principal()?.clone();
        principal.require(
            crate::modules::Module::Payroll,
            crate::permissions::Access::Read,
        )?;
        let run_id = parse_id("id", &id)?;
        let app = ctx.app().clone();
        // Another tenant's run, or none: NOT_FOUND now rather than a silent stream.
        runs::get(&app.db, &principal, run_id).await?;
        let log =
            crate::events::follow_log_from(app.db.clone(), &app.events, principal.scope(), None);
        let module = crate::modules::Module::Payroll.as_str();
        let stream = log
            .await?
            .filter(move |e| std::future::ready(e.record_id == run_id && e.module == module))
            .then(move |_| {
                let (db, principal) = (app.db.clone(), principal.clone());
                async move {
                    runs::get(&db, &principal, run_id)
                        .await
                        .ok()
                        .map(PayRun::from)
                }
            })
            .filter_map(std::future::ready);
        Ok(stream.boxed())
    }
}
