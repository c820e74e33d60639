//! What employees are paid: pay components, salary structures (versioned by effective date),
//! assignments of employees to structures, additional pay, and the statutory rule sets.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use entity::payroll::{
    additional_pay, employee, pay_component, rule_set, salary_assignment, salary_structure,
};
use entity::platform::tenant;

use super::calc::{self, Amount, Component, Kind, RESERVED_CODES, Rounding};
use super::formula::Formula;
use super::rules::RuleSet;
use super::{loaded, stored};
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::money;
use crate::permissions::Access;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::{optional_text, required_text};

/// What formulas may read besides other components and `settings.<name>`.
const FACTS: [&str; 9] = [
    "base",
    "daysWorked",
    "daysInPeriod",
    "BASIC",
    "employee.employmentType",
    "employee.payFrequency",
    "employee.taxStatus",
    "employee.jkkClass",
    "employee.costCentre",
];

/// The day the built-in rule set is effective from (PMK 168/2023 applies from 2024).
pub fn built_in_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
}

fn code_of(field: &str, code: &str) -> AppResult<String> {
    let valid = code.len() <= 32
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(AppError::bad_input(
            field,
            "upper-case letters, digits and _, starting with a letter, at most 32",
        ));
    }
    Ok(code.to_owned())
}

// ----- pay components -----

#[derive(async_graphql::InputObject)]
#[graphql(name = "PayComponentInput")]
pub struct ComponentFields {
    /// Upper-case letters, digits and _ (a formula refers to the component by it).
    pub code: String,
    pub name: String,
    pub kind: Kind,
    /// Give an amount or a formula.
    pub amount: Option<Decimal>,
    pub formula: Option<String>,
    pub condition: Option<String>,
    #[graphql(default = true)]
    pub taxable: bool,
    #[graphql(default = false)]
    pub bpjs_base: bool,
    #[graphql(default = false)]
    pub prorated: bool,
    #[graphql(default_with = "Rounding::Nearest")]
    pub rounding: Rounding,
}

/// The names a stored component's formula and condition read.
fn reads(component: &pay_component::Model) -> Vec<String> {
    component_of(component)
        .map(|c| c.reads())
        .unwrap_or_default()
}

/// Checks a formula's syntax and that every name it reads exists.
fn check_formula(field: &str, source: &str, codes: &[&str]) -> AppResult<Formula> {
    let formula = Formula::parse(source).map_err(|e| AppError::bad_input(field, e))?;
    for name in formula.names() {
        let known = FACTS.contains(&name.as_str())
            || name.starts_with("settings.")
            || codes.contains(&name.as_str());
        if !known {
            return Err(AppError::bad_input(
                field,
                format!(
                    "{name} is not a component, a period fact, employee.<field> or settings.<name>"
                ),
            ));
        }
    }
    Ok(formula)
}

/// Creates a pay component or replaces the one with the same code.
pub async fn define_component(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: ComponentFields,
) -> AppResult<pay_component::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    let code = code_of("code", &fields.code)?;
    if RESERVED_CODES.contains(&code.as_str()) {
        return Err(AppError::bad_input("code", "is a statutory line's code"));
    }
    let name = required_text("name", &fields.name, 200)?;
    let amount = match (&fields.amount, &fields.formula) {
        (Some(amount), None) => Some(money::to_units("amount", *amount)?),
        (None, Some(_)) => None,
        _ => {
            return Err(AppError::bad_input(
                "amount",
                "give either an amount or a formula",
            ));
        }
    };
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let existing = scope.select::<pay_component::Entity>().all(&txn).await?;
    let mut codes: Vec<&str> = existing.iter().map(|c| c.code.as_str()).collect();
    if !codes.contains(&code.as_str()) {
        codes.push(&code);
    }
    let checked = |field, source: &Option<String>| {
        source
            .as_deref()
            .map(|s| check_formula(field, s, &codes))
            .transpose()
    };
    let (formula, condition) = (
        checked("formula", &fields.formula)?,
        checked("condition", &fields.condition)?,
    );
    // A component may not read itself, directly or through others.
    let new_reads: Vec<String> = formula
        .iter()
        .chain(&condition)
        .flat_map(Formula::names)
        .collect();
    let graph: HashMap<&str, Vec<String>> = existing
        .iter()
        .map(|c| (c.code.as_str(), reads(c)))
        .chain([(code.as_str(), new_reads)])
        .collect();
    calc::evaluation_order(&codes, |c| graph.get(c).cloned().unwrap_or_default()).map_err(
        |cycle| AppError::bad_input("formula", format!("components read each other: {cycle}")),
    )?;
    // Every structure that lists the component must list what it now reads.
    let structures = scope.select::<salary_structure::Entity>().all(&txn).await?;
    for structure in &structures {
        let listed = structure_components(structure);
        if !listed.contains(&code) {
            continue;
        }
        let new_reads = graph.get(code.as_str()).map_or(&[][..], Vec::as_slice);
        if let Some(missing) = new_reads
            .iter()
            .find(|read| codes.contains(&read.as_str()) && !listed.contains(read))
        {
            return Err(AppError::bad_input(
                "formula",
                format!(
                    "structure {} (from {}) lists {code} but not {missing}, which it would read",
                    structure.code, structure.effective_from
                ),
            ));
        }
    }

    let now = Utc::now();
    let before = existing.iter().find(|c| c.code == code);
    let mut row = match before {
        Some(before) => {
            let mut row: pay_component::ActiveModel = before.clone().into();
            row.version = Set(before.version.saturating_add(1));
            row
        }
        None => pay_component::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            code: Set(code.clone()),
            version: Set(1),
            created_at: Set(now),
            ..Default::default()
        },
    };
    row.name = Set(name);
    row.kind = Set(stored(fields.kind));
    row.amount = Set(amount);
    row.formula = Set(fields.formula);
    row.condition = Set(fields.condition);
    row.taxable = Set(fields.taxable);
    row.bpjs_base = Set(fields.bpjs_base);
    row.prorated = Set(fields.prorated);
    row.rounding = Set(stored(fields.rounding));
    row.updated_at = Set(now);
    let saved = match before {
        Some(_) => row.update(&txn).await?,
        None => row.insert(&txn).await?,
    };
    txn.commit().await?;
    Ok(saved)
}

pub async fn components(db: &impl Conn, actor: &Principal) -> AppResult<Vec<pay_component::Model>> {
    actor.require(Module::Payroll, Access::Read)?;
    Ok(actor
        .scope()
        .select::<pay_component::Entity>()
        .order_by_asc(pay_component::Column::Code)
        .all(db)
        .await?)
}

/// A stored component as the calculation uses it.
pub fn component_of(model: &pay_component::Model) -> AppResult<Component> {
    let parse = |source: &String| {
        Formula::parse(source)
            .map_err(|e| AppError::internal(format!("stored formula of {}: {e}", model.code)))
    };
    let amount = match (&model.formula, model.amount) {
        (Some(source), _) => Amount::Formula(parse(source)?),
        (None, units) => Amount::Fixed(money::from_units(units.unwrap_or(0))),
    };
    Ok(Component {
        code: model.code.clone(),
        name: model.name.clone(),
        kind: loaded(&model.kind)?,
        amount,
        condition: model.condition.as_ref().map(parse).transpose()?,
        taxable: model.taxable,
        bpjs_base: model.bpjs_base,
        prorated: model.prorated,
        rounding: loaded(&model.rounding)?,
    })
}

// ----- salary structures -----

/// Adds a version of a structure from `effective_from` (or replaces the version of that day).
pub async fn define_structure(
    db: &DatabaseConnection,
    actor: &Principal,
    code: &str,
    name: &str,
    effective_from: NaiveDate,
    component_codes: Vec<String>,
) -> AppResult<salary_structure::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    let code = code_of("code", code)?;
    let name = required_text("name", name, 200)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let known = scope.select::<pay_component::Entity>().all(&txn).await?;
    let codes: Vec<&str> = known.iter().map(|c| c.code.as_str()).collect();
    for (i, listed) in component_codes.iter().enumerate() {
        let Some(component) = known.iter().find(|c| &c.code == listed) else {
            return Err(AppError::bad_input(
                format!("components[{i}]"),
                format!("no pay component {listed}"),
            ));
        };
        if component_codes[..i].contains(listed) {
            return Err(AppError::bad_input(
                format!("components[{i}]"),
                format!("{listed} is listed twice"),
            ));
        }
        if let Some(missing) = reads(component)
            .into_iter()
            .find(|read| codes.contains(&read.as_str()) && !component_codes.contains(read))
        {
            return Err(AppError::bad_input(
                format!("components[{i}]"),
                format!("{listed} reads {missing}, which the structure does not list"),
            ));
        }
    }
    let existing = scope
        .select::<salary_structure::Entity>()
        .filter(salary_structure::Column::Code.eq(&code))
        .filter(salary_structure::Column::EffectiveFrom.eq(effective_from))
        .one(&txn)
        .await?;
    let components = serde_json::json!(component_codes);
    let saved = match existing {
        Some(version) => {
            let mut row: salary_structure::ActiveModel = version.into();
            row.name = Set(name);
            row.components = Set(components);
            row.update(&txn).await?
        }
        None => {
            salary_structure::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: scope.owner(),
                code: Set(code),
                name: Set(name),
                effective_from: Set(effective_from),
                components: Set(components),
                created_by: Set(actor.user_id),
                created_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?
        }
    };
    txn.commit().await?;
    Ok(saved)
}

/// Every version of every structure, by code and then date.
pub async fn structures(
    db: &impl Conn,
    actor: &Principal,
) -> AppResult<Vec<salary_structure::Model>> {
    actor.require(Module::Payroll, Access::Read)?;
    Ok(actor
        .scope()
        .select::<salary_structure::Entity>()
        .order_by_asc(salary_structure::Column::Code)
        .order_by_asc(salary_structure::Column::EffectiveFrom)
        .all(db)
        .await?)
}

/// The component codes a structure version lists.
pub fn structure_components(structure: &salary_structure::Model) -> Vec<String> {
    serde_json::from_value(structure.components.clone()).unwrap_or_default()
}

// ----- assignments and additional pay -----

/// From `effective_from`, `employee_id` is paid by structure `code` with `base_pay`.
pub async fn assign_structure(
    db: &DatabaseConnection,
    actor: &Principal,
    employee_id: Uuid,
    code: &str,
    base_pay: Decimal,
    effective_from: NaiveDate,
) -> AppResult<salary_assignment::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    if base_pay <= Decimal::ZERO {
        return Err(AppError::bad_input("basePay", "must be more than zero"));
    }
    let base_pay = money::to_units("basePay", base_pay)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    records::require_reference::<employee::Entity>(&txn, &scope, "employeeId", employee_id).await?;
    let structure = scope
        .select::<salary_structure::Entity>()
        .filter(salary_structure::Column::Code.eq(code))
        .one(&txn)
        .await?;
    if structure.is_none() {
        return Err(AppError::bad_input(
            "structureCode",
            format!("no salary structure {code}"),
        ));
    }
    let taken = scope
        .select::<salary_assignment::Entity>()
        .filter(salary_assignment::Column::EmployeeId.eq(employee_id))
        .filter(salary_assignment::Column::EffectiveFrom.eq(effective_from))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(AppError::bad_input(
            "effectiveFrom",
            "the employee already has an assignment from this day",
        ));
    }
    let saved = salary_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        employee_id: Set(employee_id),
        structure_code: Set(code.to_owned()),
        base_pay: Set(base_pay),
        effective_from: Set(effective_from),
        created_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub struct AdditionalPayFields {
    pub employee_id: Uuid,
    pub component_code: String,
    pub amount: Decimal,
    pub starts_on: NaiveDate,
    /// The last day of a recurring pay; a one-off when absent.
    pub ends_on: Option<NaiveDate>,
    pub description: Option<String>,
}

pub async fn add_additional_pay(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: AdditionalPayFields,
) -> AppResult<additional_pay::Model> {
    actor.require(Module::Payroll, Access::Write)?;
    let amount = money::non_negative_units("amount", fields.amount)?;
    let ends_on = fields.ends_on.unwrap_or(fields.starts_on);
    if ends_on < fields.starts_on {
        return Err(AppError::bad_input("endsOn", "must not be before startsOn"));
    }
    let description = optional_text("description", fields.description, 2_000)?;
    let scope = actor.scope();
    let txn = crate::db::begin(db).await?;
    records::require_reference::<employee::Entity>(&txn, &scope, "employeeId", fields.employee_id)
        .await?;
    let component = scope
        .select::<pay_component::Entity>()
        .filter(pay_component::Column::Code.eq(&fields.component_code))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "componentCode",
                format!("no pay component {}", fields.component_code),
            )
        })?;
    let kind: Kind = loaded(&component.kind)?;
    if !matches!(kind, Kind::Earning | Kind::Deduction) {
        return Err(AppError::bad_input(
            "componentCode",
            "additional pay is an earning or a deduction",
        ));
    }
    let saved = additional_pay::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        employee_id: Set(fields.employee_id),
        component_code: Set(component.code),
        amount: Set(amount),
        starts_on: Set(fields.starts_on),
        ends_on: Set(ends_on),
        description: Set(description),
        created_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(saved)
}

// ----- settings -----

/// Whether pay runs need a second person to approve them.
pub async fn settings(db: &impl Conn, actor: &Principal) -> AppResult<bool> {
    actor.require(Module::Payroll, Access::Read)?;
    let tenant = tenant::Entity::find_by_id(actor.tenant_id).one(db).await?;
    Ok(tenant.is_some_and(|t| t.payroll_separate_approver))
}

pub async fn update_settings(
    db: &DatabaseConnection,
    actor: &Principal,
    separate_approver: bool,
) -> AppResult<()> {
    actor.require_admin()?;
    tenant::ActiveModel {
        id: Set(actor.tenant_id),
        payroll_separate_approver: Set(separate_approver),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

// ----- rule sets -----

/// A rule set and the day it applies from; `built_in` until the tenant saves its own.
pub struct EffectiveRules {
    pub effective_from: NaiveDate,
    pub rules: RuleSet,
    pub built_in: bool,
}

fn stored_rules(row: rule_set::Model) -> AppResult<EffectiveRules> {
    Ok(EffectiveRules {
        effective_from: row.effective_from,
        rules: serde_json::from_value(row.rules)
            .map_err(|e| AppError::internal(format!("stored rule set: {e}")))?,
        built_in: false,
    })
}

fn built_in() -> EffectiveRules {
    EffectiveRules {
        effective_from: built_in_from(),
        rules: RuleSet::indonesia().clone(),
        built_in: true,
    }
}

/// The tenant's rule sets, oldest first; the built-in one when it has none.
pub async fn rule_sets(db: &impl Conn, actor: &Principal) -> AppResult<Vec<EffectiveRules>> {
    actor.require(Module::Payroll, Access::Read)?;
    let rows = actor
        .scope()
        .select::<rule_set::Entity>()
        .order_by_asc(rule_set::Column::EffectiveFrom)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(vec![built_in()]);
    }
    rows.into_iter().map(stored_rules).collect()
}

/// The rules in force on `day`.
pub async fn rules_on(db: &impl Conn, scope: &TenantScope, day: NaiveDate) -> AppResult<RuleSet> {
    let row = scope
        .select::<rule_set::Entity>()
        .filter(rule_set::Column::EffectiveFrom.lte(day))
        .order_by_desc(rule_set::Column::EffectiveFrom)
        .one(db)
        .await?;
    Ok(match row {
        Some(row) => stored_rules(row)?.rules,
        None => built_in().rules,
    })
}

/// Admins save the tables in force from `effective_from` (replacing that day's).
pub async fn update_rule_set(
    db: &DatabaseConnection,
    actor: &Principal,
    effective_from: NaiveDate,
    rules: serde_json::Value,
) -> AppResult<EffectiveRules> {
    actor.require_admin()?;
    let rules: RuleSet =
        serde_json::from_value(rules).map_err(|e| AppError::bad_input("rules", e.to_string()))?;
    rules.validate("rules")?;
    let scope = actor.scope();
    let txn = crate::db::begin(db).await?;
    let json = serde_json::to_value(&rules).map_err(AppError::internal)?;
    let existing = scope
        .select::<rule_set::Entity>()
        .filter(rule_set::Column::EffectiveFrom.eq(effective_from))
        .one(&txn)
        .await?;
    match existing {
        Some(row) => {
            let mut row: rule_set::ActiveModel = row.into();
            row.rules = Set(json);
            row.updated_by = Set(actor.user_id);
            row.updated_at = Set(Utc::now());
            row.update(&txn).await?;
        }
        None => {
            rule_set::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: scope.owner(),
                effective_from: Set(effective_from),
                rules: Set(json),
                updated_by: Set(actor.user_id),
                updated_at: Set(Utc::now()),
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(EffectiveRules {
        effective_from,
        rules,
        built_in: false,
    })
}

/// The latest row of each key whose `effective_from` is on or before `day`.
pub fn in_force<T>(
    rows: &[T],
    day: NaiveDate,
    key: impl Fn(&T) -> (String, NaiveDate),
) -> HashMap<String, &T> {
    let mut latest: HashMap<String, (&T, NaiveDate)> = HashMap::new();
    for row in rows {
        let (k, from) = key(row);
        if from > day {
            continue;
        }
        match latest.get(&k) {
            Some((_, seen)) if *seen >= from => {}
            _ => {
                latest.insert(k, (row, from));
            }
        }
    }
    latest.into_iter().map(|(k, (row, _))| (k, row)).collect()
}
