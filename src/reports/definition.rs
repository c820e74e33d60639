//! A report's definition (what tenants write and store) and its checked form, the plan the
//! query is built from. The GraphQL API takes and shows these types as they are, as it does
//! the list filters. Checking reports every problem at once, with its path.

use std::collections::HashMap;

use async_graphql::{Enum, InputObject, Json, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::custom_fields::Kind as CustomKind;
use crate::filters::Direction;
use crate::modules::Module;
use crate::money;
use crate::process::definition::Problem;

use super::sources::{self, Field, FieldKind, FieldSql, Source};

/// Reports group by at most this many fields (rows, then columns of a matrix).
pub const MAX_GROUPINGS: usize = 2;
const MAX_COLUMNS: usize = 50;
const MAX_FILTERS: usize = 50;
const MAX_AGGREGATES: usize = 10;

/// The kinds of report, as in Vtiger.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ReportKind")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportKind {
    /// Rows of records with the chosen columns.
    Tabular,
    /// Groups (one or two levels) with aggregates, subtotals and a grand total.
    Summary,
    /// Two groupings as rows x columns, an aggregate in each cell.
    Matrix,
}

/// How a date groups: by calendar period in the tenant's time zone, or by age.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ReportBucket")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Bucket {
    /// `2026-12-01`
    Day,
    /// ISO week, `2026-W49`
    Week,
    /// `2026-12`
    Month,
    /// `2026-Q4`
    Quarter,
    /// `2026`
    Year,
    /// Days since the date, as of today: `Not due`, `0-30`, `31-60`, `61-90`, `90+`.
    Aging,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ReportAggregateFunction")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Function {
    /// Rows (no field), or rows where the field has a value.
    Count,
    CountDistinct,
    Sum,
    /// An exact decimal, to 4 places.
    Avg,
    Min,
    Max,
    /// The middle value (the lower of the two middle ones for an even count).
    Median,
}

impl Function {
    fn as_str(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::CountDistinct => "countDistinct",
            Function::Sum => "sum",
            Function::Avg => "avg",
            Function::Min => "min",
            Function::Max => "max",
            Function::Median => "median",
        }
    }
}

/// A period relative to today, in the tenant's time zone.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "ReportPeriod")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    ThisQuarter,
    LastQuarter,
    ThisYear,
    LastYear,
    YearToDate,
    /// The last `days` days, today included.
    LastNDays,
    /// Today and the next `days` days.
    NextNDays,
}

/// A condition on a field: every operator given must hold. Values are written as the field's
/// values are shown (decimals as strings or numbers, dates `YYYY-MM-DD`).
#[derive(SimpleObject, InputObject, Clone, Debug, Default, Serialize, Deserialize)]
#[graphql(name = "ReportCondition", input_name = "ReportConditionInput")]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// A field of the source (`amount`), a custom field (`customFields.tier`) or a field of a
    /// record it refers to (`account.industry`).
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Json<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Json<Value>>,
    #[graphql(name = "in")]
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Json<Value>>>,
    /// Case-insensitive substring (text fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// At least this (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Json<Value>>,
    /// At most this (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Json<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_null: Option<bool>,
    /// Dates and times within a period relative to today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The number of days of `LAST_N_DAYS` and `NEXT_N_DAYS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
}

#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(name = "ReportGrouping", input_name = "ReportGroupingInput")]
#[serde(rename_all = "camelCase")]
pub struct Grouping {
    pub field: String,
    /// Dates only; without a bucket a date groups by its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
}

#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(name = "ReportAggregate", input_name = "ReportAggregateInput")]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    pub function: Function,
    /// Required except for COUNT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Aggregate {
    /// The aggregate's column name: `count`, `sum:amount`.
    pub fn name(&self) -> String {
        match &self.field {
            Some(field) => format!("{}:{field}", self.function.as_str()),
            None => self.function.as_str().to_owned(),
        }
    }
}

#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(name = "ReportOrder", input_name = "ReportOrderInput")]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// A column of the report: a field shown or grouped by, or an aggregate's name (`sum:amount`).
    pub by: String,
    #[serde(default)]
    #[graphql(default)]
    pub direction: Direction,
}

/// What a report shows.
#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(name = "ReportDefinition", input_name = "ReportDefinitionInput")]
#[serde(rename_all = "camelCase")]
pub struct ReportDefinition {
    pub kind: ReportKind,
    /// What the report is about: a module (`opportunities`) or a part of one (`invoiceLines`);
    /// `reportSources` lists them with their fields.
    pub source: String,
    /// Tabular reports: the fields shown, in order.
    #[serde(default)]
    #[graphql(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    #[graphql(default)]
    pub filters: Vec<Condition>,
    /// Summary: one or two levels; matrix: rows, then columns.
    #[serde(default)]
    #[graphql(default)]
    pub group_by: Vec<Grouping>,
    /// Summary and matrix: what each group shows (COUNT when none is given); tabular: totals.
    #[serde(default)]
    #[graphql(default)]
    pub aggregates: Vec<Aggregate>,
    #[serde(default)]
    #[graphql(default)]
    pub order: Vec<OrderItem>,
}

/// The tenant's custom fields, by module, that reports may use.
pub type CustomFields = HashMap<Module, Vec<entity::platform::custom_field::Model>>;

/// A field of the report, resolved: which table (alias) it is read from.
#[derive(Clone, Debug)]
pub struct FieldRef {
    /// `t` for the source, `j0`, `j1`… for the records it refers to.
    pub alias: String,
    pub field: Field,
}

/// A record the source refers to, joined on its id.
#[derive(Clone, Debug)]
pub struct Join {
    pub alias: String,
    /// The referring column of the source.
    pub column: &'static str,
    pub target: &'static Source,
    /// The source's parent: rows without a live one do not count.
    pub required: bool,
}

/// A value a condition compares with, typed by the field.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    Text(String),
    Int(i64),
    Date(NaiveDate),
    Instant(DateTime<Utc>),
    Bool(bool),
    Id(Uuid),
}

#[derive(Clone, Debug)]
pub enum Test {
    Equals(Bound),
    NotEquals(Bound),
    AnyOf(Vec<Bound>),
    Contains(String),
    Min(Bound),
    Max(Bound),
    IsNull(bool),
    /// Resolved to a range of dates when the report runs.
    Within(Period, i32),
}

#[derive(Clone, Debug)]
pub struct PlannedCondition {
    pub field: FieldRef,
    pub tests: Vec<Test>,
}

#[derive(Clone, Debug)]
pub struct PlannedGroup {
    pub name: String,
    pub field: FieldRef,
    pub bucket: Option<Bucket>,
}

#[derive(Clone, Debug)]
pub struct PlannedAggregate {
    pub name: String,
    pub label: String,
    pub function: Function,
    pub field: Option<FieldRef>,
}

impl PlannedAggregate {
    /// The type of the aggregate's values.
    pub fn kind(&self) -> FieldKind {
        let field_kind = self.field.as_ref().map(|f| f.field.kind);
        match (self.function, field_kind) {
            (Function::Count | Function::CountDistinct, _) | (_, None) => FieldKind::Number,
            (Function::Avg, Some(_)) => FieldKind::Decimal,
            (_, Some(kind)) => kind,
        }
    }
}

/// A checked definition: everything the query needs, resolved against the sources.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kind: ReportKind,
    pub source: &'static Source,
    pub joins: Vec<Join>,
    /// Tabular reports' columns.
    pub columns: Vec<FieldRef>,
    pub conditions: Vec<PlannedCondition>,
    pub groups: Vec<PlannedGroup>,
    pub aggregates: Vec<PlannedAggregate>,
    /// Column names (as [`Plan::column_names`] gives them) and directions.
    pub order: Vec<(String, Direction)>,
}

impl Plan {
    /// The modules whose read access running the report needs.
    pub fn modules(&self) -> Vec<Module> {
        let mut modules: Vec<Module> = std::iter::once(self.source)
            .chain(self.joins.iter().map(|j| j.target))
            .filter_map(|s| s.module)
            .collect();
        modules.dedup();
        modules
    }
}

/// Collects problems while a definition is checked.
struct Checker<'a> {
    source: &'static Source,
    custom: &'a CustomFields,
    joins: Vec<Join>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Resolves `name` (a field, `customFields.x`, or `ref.field`), or records why not.
    fn field(&mut self, path: &str, name: &str) -> Option<FieldRef> {
        match self.resolve(name) {
            Ok(found) => Some(found),
            Err(message) => {
                self.problem(path, message);
                None
            }
        }
    }

    fn resolve(&mut self, name: &str) -> Result<FieldRef, String> {
        if let Some(field) = field_of(self.source, self.custom, name) {
            return Ok(FieldRef {
                alias: "t".into(),
                field,
            });
        }
        let unknown = || format!("no field '{name}' in {}", self.source.name);
        let Some((reference, rest)) = name.split_once('.') else {
            return Err(unknown());
        };
        let referring = self
            .source
            .field(&format!("{reference}Id"))
            .filter(|f| f.refers_to.is_some())
            .ok_or_else(unknown)?;
        let target = referring
            .refers_to
            .and_then(sources::find)
            .ok_or_else(|| format!("{reference} cannot be reported on"))?;
        let field = field_of(target, self.custom, rest)
            .ok_or_else(|| format!("no field '{rest}' in {}", target.name))?;
        let FieldSql::Column(column) = referring.sql else {
            return Err(unknown());
        };
        let alias = match self.joins.iter().find(|j| j.column == column) {
            Some(join) => join.alias.clone(),
            None => {
                let alias = format!("j{}", self.joins.len());
                self.joins.push(Join {
                    alias: alias.clone(),
                    column,
                    target,
                    required: self.source.parent == Some(referring.name.as_str()),
                });
                alias
            }
        };
        Ok(FieldRef { alias, field })
    }
}

/// A field of `source` by name, custom fields included.
fn field_of(source: &Source, custom: &CustomFields, name: &str) -> Option<Field> {
    if let Some(field) = source.field(name) {
        return Some(field.clone());
    }
    let custom_name = name.strip_prefix("customFields.")?;
    if !source.custom_fields {
        return None;
    }
    let definition = custom
        .get(&source.module?)?
        .iter()
        .find(|f| f.name == custom_name && f.active)?;
    let kind = match CustomKind::parse(&definition.kind)? {
        CustomKind::Number => FieldKind::Number,
        CustomKind::Date => FieldKind::Date,
        CustomKind::Boolean => FieldKind::Boolean,
        // Custom decimals are kept as text; they group and filter, but do not add up exactly
        // on every database, so reports treat them as text.
        CustomKind::Text | CustomKind::Picklist | CustomKind::Decimal => FieldKind::Text,
    };
    Some(Field {
        name: name.to_owned(),
        label: definition.label.clone(),
        kind,
        sql: FieldSql::Custom(custom_name.to_owned()),
        refers_to: None,
    })
}

/// Checks a definition against the sources and the tenant's custom fields, returning every
/// problem at once.
pub fn plan(definition: &ReportDefinition, custom: &CustomFields) -> Result<Plan, Vec<Problem>> {
    let Some(source) = sources::find(&definition.source) else {
        return Err(vec![Problem {
            path: "source".into(),
            message: format!("no report source '{}'", definition.source),
        }]);
    };
    let mut check = Checker {
        source,
        custom,
        joins: Vec::new(),
        problems: Vec::new(),
    };
    // A source's parent is always joined: its rows count only while the parent is live.
    if let Some(parent) = source.parent {
        let name = parent.strip_suffix("Id").unwrap_or(parent);
        let _ = check.resolve(&format!("{name}.id"));
    }
    let kind = definition.kind;
    check_shape(&mut check, definition);

    let columns: Vec<FieldRef> = definition
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, name)| check.field(&format!("columns[{i}]"), name))
        .collect();
    let conditions = definition
        .filters
        .iter()
        .enumerate()
        .filter_map(|(i, c)| condition(&mut check, &format!("filters[{i}]"), c))
        .collect();
    let groups = definition
        .group_by
        .iter()
        .enumerate()
        .filter_map(|(i, g)| grouping(&mut check, &format!("groupBy[{i}]"), g))
        .collect::<Vec<_>>();
    let mut aggregates: Vec<PlannedAggregate> = definition
        .aggregates
        .iter()
        .enumerate()
        .filter_map(|(i, a)| aggregate(&mut check, &format!("aggregates[{i}]"), a))
        .collect();
    if aggregates.is_empty() && definition.aggregates.is_empty() && kind != ReportKind::Tabular {
        aggregates.push(PlannedAggregate {
            name: "count".into(),
            label: "Count".into(),
            function: Function::Count,
            field: None,
        });
    }
    let mut names: Vec<&str> = aggregates.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        check.problem("aggregates", "the same aggregate is given twice");
    }

    let column_names: Vec<String> = match kind {
        ReportKind::Tabular => definition.columns.clone(),
        _ => groups.iter().map(|g| g.name.clone()).collect(),
    };
    let mut order = Vec::new();
    for (i, item) in definition.order.iter().enumerate() {
        let known = column_names.contains(&item.by) || aggregates.iter().any(|a| a.name == item.by);
        if known {
            order.push((item.by.clone(), item.direction));
        } else {
            check.problem(
                format!("order[{i}].by"),
                format!("'{}' is not a column of the report", item.by),
            );
        }
    }

    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    Ok(Plan {
        kind,
        source,
        joins: check.joins,
        columns,
        conditions,
        groups,
        aggregates,
        order,
    })
}

/// What each kind needs: columns for tabular, one or two groupings for summary, two for matrix.
fn check_shape(check: &mut Checker, definition: &ReportDefinition) {
    let groupings = definition.group_by.len();
    match definition.kind {
        ReportKind::Tabular => {
            if definition.columns.is_empty() {
                check.problem("columns", "a tabular report shows at least one column");
            }
            if groupings > 0 {
                check.problem("groupBy", "tabular reports do not group; use SUMMARY");
            }
        }
        ReportKind::Summary | ReportKind::Matrix => {
            if !definition.columns.is_empty() {
                check.problem(
                    "columns",
                    "summary and matrix reports show their groupings and aggregates",
                );
            }
            if groupings > MAX_GROUPINGS {
                check.problem(
                    "groupBy",
                    format!("at most {MAX_GROUPINGS} groupings, {groupings} given"),
                );
            } else if definition.kind == ReportKind::Matrix && groupings != 2 {
                check.problem(
                    "groupBy",
                    "a matrix groups by two fields: rows, then columns",
                );
            } else if groupings == 0 {
                check.problem("groupBy", "a summary groups by one or two fields");
            }
        }
    }
    for (path, count, max) in [
        ("columns", definition.columns.len(), MAX_COLUMNS),
        ("filters", definition.filters.len(), MAX_FILTERS),
        ("aggregates", definition.aggregates.len(), MAX_AGGREGATES),
    ] {
        if count > max {
            check.problem(path, format!("at most {max}, {count} given"));
        }
    }
}

fn grouping(check: &mut Checker, path: &str, grouping: &Grouping) -> Option<PlannedGroup> {
    let field = check.field(&format!("{path}.field"), &grouping.field)?;
    if grouping.bucket.is_some() && !field.field.kind.is_temporal() {
        check.problem(
            format!("{path}.bucket"),
            "only dates and times have buckets",
        );
        return None;
    }
    let name = match grouping.bucket {
        Some(bucket) => format!("{}:{}", grouping.field, bucket_name(bucket)),
        None => grouping.field.clone(),
    };
    Some(PlannedGroup {
        name,
        field,
        bucket: grouping.bucket,
    })
}

fn bucket_name(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
        Bucket::Quarter => "quarter",
        Bucket::Year => "year",
        Bucket::Aging => "aging",
    }
}

fn aggregate(check: &mut Checker, path: &str, aggregate: &Aggregate) -> Option<PlannedAggregate> {
    let field = match &aggregate.field {
        Some(name) => Some(check.field(&format!("{path}.field"), name)?),
        None if aggregate.function == Function::Count => None,
        None => {
            check.problem(format!("{path}.field"), "this aggregate needs a field");
            return None;
        }
    };
    let kind = field.as_ref().map(|f| f.field.kind);
    let fits = match aggregate.function {
        Function::Count | Function::CountDistinct => true,
        Function::Sum | Function::Avg | Function::Median => kind.is_some_and(FieldKind::is_numeric),
        Function::Min | Function::Max => kind.is_some_and(|k| k.is_numeric() || k.is_temporal()),
    };
    if !fits {
        let wanted = match aggregate.function {
            Function::Sum | Function::Avg | Function::Median => "numbers and amounts",
            _ => "numbers, amounts and dates",
        };
        check.problem(
            format!("{path}.function"),
            format!("{:?} works on {wanted}", aggregate.function).to_uppercase(),
        );
        return None;
    }
    let label = aggregate.label.clone().unwrap_or_else(|| {
        let of = field.as_ref().map(|f| f.field.label.as_str());
        match (aggregate.function, of) {
            (Function::Count, None) => "Count".to_owned(),
            (function, Some(of)) => format!("{} of {of}", function_label(function)),
            (function, None) => function_label(function).to_owned(),
        }
    });
    Some(PlannedAggregate {
        name: aggregate.name(),
        label,
        function: aggregate.function,
        field,
    })
}

fn function_label(function: Function) -> &'static str {
    match function {
        Function::Count => "Count",
        Function::CountDistinct => "Distinct",
        Function::Sum => "Sum",
        Function::Avg => "Average",
        Function::Min => "Lowest",
        Function::Max => "Highest",
        Function::Median => "Median",
    }
}

fn condition(check: &mut Checker, path: &str, condition: &Condition) -> Option<PlannedCondition> {
    let field = check.field(&format!("{path}.field"), &condition.field)?;
    let kind = field.field.kind;
    let before = check.problems.len();
    let mut tests = Vec::new();
    let value = |check: &mut Checker, op: &str, value: &Value| {
        let bound = bound(kind, value);
        if bound.is_none() {
            check.problem(
                format!("{path}.{op}"),
                format!("expects {}", expected(kind)),
            );
        }
        bound
    };
    if let Some(v) = &condition.equals {
        tests.extend(value(check, "equals", &v.0).map(Test::Equals));
    }
    if let Some(v) = &condition.not_equals {
        tests.extend(value(check, "notEquals", &v.0).map(Test::NotEquals));
    }
    if let Some(values) = &condition.any_of {
        let bounds: Vec<Bound> = values
            .iter()
            .filter_map(|v| value(check, "in", &v.0))
            .collect();
        tests.push(Test::AnyOf(bounds));
    }
    if let Some(part) = &condition.contains {
        if kind == FieldKind::Text {
            tests.push(Test::Contains(part.to_lowercase()));
        } else {
            check.problem(format!("{path}.contains"), "works on text fields");
        }
    }
    for (op, given, make) in [
        ("min", &condition.min, Test::Min as fn(Bound) -> Test),
        ("max", &condition.max, Test::Max),
    ] {
        if let Some(v) = given {
            if kind.is_numeric() || kind.is_temporal() {
                tests.extend(value(check, op, &v.0).map(make));
            } else {
                check.problem(
                    format!("{path}.{op}"),
                    "works on numbers, amounts and dates",
                );
            }
        }
    }
    if let Some(is_null) = condition.is_null {
        tests.push(Test::IsNull(is_null));
    }
    match (condition.period, condition.days) {
        (Some(_), _) if !kind.is_temporal() => {
            check.problem(format!("{path}.period"), "works on dates and times");
        }
        (Some(period @ (Period::LastNDays | Period::NextNDays)), Some(days))
            if (1..=3660).contains(&days) =>
        {
            tests.push(Test::Within(period, days));
        }
        (Some(Period::LastNDays | Period::NextNDays), _) => {
            check.problem(format!("{path}.days"), "give 1 to 3660 days");
        }
        (Some(period), None) => tests.push(Test::Within(period, 0)),
        (Some(_), Some(_)) | (None, Some(_)) => {
            check.problem(
                format!("{path}.days"),
                "goes with LAST_N_DAYS or NEXT_N_DAYS",
            );
        }
        (None, None) => {}
    }
    if tests.is_empty() && check.problems.len() == before {
        check.problem(path, "give at least one condition");
    }
    (check.problems.len() == before).then_some(PlannedCondition { field, tests })
}

fn expected(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Number => "a whole number",
        FieldKind::Decimal => "a decimal number with at most 4 places",
        FieldKind::Date => "a date (YYYY-MM-DD)",
        FieldKind::DateTime => "a date and time (RFC 3339)",
        FieldKind::Boolean => "true or false",
        FieldKind::Id => "an id",
    }
}

/// A JSON value as a value of a field of `kind`.
fn bound(kind: FieldKind, value: &Value) -> Option<Bound> {
    let text = value.as_str();
    Some(match kind {
        FieldKind::Text => Bound::Text(text?.to_owned()),
        FieldKind::Number => Bound::Int(value.as_i64()?),
        FieldKind::Decimal => {
            let decimal: Decimal = match value {
                Value::String(s) => s.trim().parse().ok()?,
                Value::Number(n) => n.to_string().parse().ok()?,
                _ => return None,
            };
            Bound::Int(money::to_units("value", decimal).ok()?)
        }
        FieldKind::Date => Bound::Date(text?.parse().ok()?),
        FieldKind::DateTime => Bound::Instant(match text?.parse::<DateTime<Utc>>() {
            Ok(instant) => instant,
            // A bare date is its midnight in UTC; periods are the way to ask for local days.
            Err(_) => text?
                .parse::<NaiveDate>()
                .ok()?
                .and_time(Default::default())
                .and_utc(),
        }),
        FieldKind::Boolean => Bound::Bool(value.as_bool()?),
        FieldKind::Id => Bound::Id(text?.parse().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_the_field_holds_them() {
        assert_eq!(
            bound(FieldKind::Decimal, &serde_json::json!("12.5")),
            Some(Bound::Int(125_000))
        );
        assert_eq!(
            bound(FieldKind::Decimal, &serde_json::json!(3)),
            Some(Bound::Int(30_000))
        );
        assert_eq!(
            bound(FieldKind::Decimal, &serde_json::json!("1.00001")),
            None
        );
        assert_eq!(bound(FieldKind::Number, &serde_json::json!("7")), None);
        assert_eq!(
            bound(FieldKind::Date, &serde_json::json!("2026-02-28")),
            NaiveDate::from_ymd_opt(2026, 2, 28).map(Bound::Date)
        );
        assert_eq!(
            bound(FieldKind::Date, &serde_json::json!("2026-02-30")),
            None
        );
    }
}
