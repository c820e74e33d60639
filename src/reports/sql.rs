//! A plan as SQL, for SQLite and PostgreSQL. The database groups and aggregates; rows are never
//! loaded to be counted or summed here.
//!
//! Everything a tenant writes is either resolved to a known column first (fields) or bound as
//! a parameter (values); what is written into the text is the catalogue's own identifiers,
//! checked custom field names, the tenant's checked zone name and dates we format ourselves.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

use super::definition::{
    Bound, Bucket, FieldRef, Function, Plan, PlannedAggregate, PlannedGroup, Test,
};
use super::periods;
use super::sources::{FieldKind, FieldSql, Formula};

/// What a report is run against: the database, and the tenant's "now".
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub backend: DbBackend,
    pub tenant_id: Uuid,
    pub zone: Tz,
    pub now: DateTime<Utc>,
}

impl Setting {
    pub fn today(&self) -> NaiveDate {
        periods::today(self.zone, self.now)
    }
}

/// How a selected value is read back: most take one column, an average two (sum and count, so
/// that it is divided exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Value(FieldKind),
    /// A bucket's label.
    Label,
    Average(FieldKind),
}

impl Reader {
    pub fn width(self) -> usize {
        match self {
            Reader::Average(_) => 2,
            _ => 1,
        }
    }
}

/// SQL text and the values bound to its placeholders.
pub struct Query {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Query {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn bind(&mut self, value: Value) {
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
    }

    /// `SELECT {select} {from and where} {rest}`: the select list and the rest bind nothing,
    /// so the placeholders of `from` keep their numbers.
    pub fn select(from: &Query, select: &[String], rest: &str) -> Statement {
        let text = format!("SELECT {} {} {rest}", select.join(", "), from.text);
        Statement::from_sql_and_values(from.backend, text, from.values.clone())
    }

    /// The number of groups `select` makes (`group` is its GROUP BY clause).
    pub fn count_groups(from: &Query, select: &[String], group: &str) -> Statement {
        let text = format!(
            "SELECT COUNT(*) FROM (SELECT {} {} {group}) AS groups",
            select.join(", "),
            from.text
        );
        Statement::from_sql_and_values(from.backend, text, from.values.clone())
    }
}

/// `FROM … JOIN … WHERE …`: the tenant's live rows of the source that meet the conditions.
pub fn from_where(plan: &Plan, setting: &Setting) -> Query {
    let mut query = Query {
        backend: setting.backend,
        text: String::new(),
        values: Vec::new(),
    };
    let source = plan.source;
    query.push(&format!(r#"FROM "{}" AS "t""#, source.table));
    for join in &plan.joins {
        let kind = if join.required { "INNER" } else { "LEFT" };
        let alias = &join.alias;
        query.push(&format!(
            r#" {kind} JOIN "{table}" AS "{alias}" ON "{alias}"."id" = "t"."{column}" AND "{alias}"."tenant_id" = "t"."tenant_id""#,
            table = join.target.table,
            column = join.column,
        ));
        if join.target.soft_delete {
            query.push(&format!(r#" AND "{alias}"."deleted_at" IS NULL"#));
        }
    }
    query.push(r#" WHERE "t"."tenant_id" = "#);
    query.bind(setting.tenant_id.into());
    if source.soft_delete {
        query.push(r#" AND "t"."deleted_at" IS NULL"#);
    }
    for condition in &plan.conditions {
        let expr = value_of(&condition.field, setting.backend);
        for test in &condition.tests {
            query.push(" AND ");
            write_test(&mut query, &expr, condition.field.field.kind, test, setting);
        }
    }
    query
}

fn write_test(query: &mut Query, expr: &str, kind: FieldKind, test: &Test, setting: &Setting) {
    match test {
        Test::Equals(value) => {
            query.push(&format!("{expr} = "));
            query.bind(bound_value(value));
        }
        Test::NotEquals(value) => {
            query.push(&format!("({expr} IS NULL OR {expr} <> "));
            query.bind(bound_value(value));
            query.push(")");
        }
        Test::AnyOf(values) if values.is_empty() => query.push("1 = 0"),
        Test::AnyOf(values) => {
            query.push(&format!("{expr} IN ("));
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    query.push(", ");
                }
                query.bind(bound_value(value));
            }
            query.push(")");
        }
        Test::Contains(part) => {
            query.push(&format!("LOWER({expr}) LIKE "));
            query.bind(format!("%{}%", crate::filters::escape_like(part)).into());
            query.push(r" ESCAPE '\'");
        }
        Test::Min(value) => {
            query.push(&format!("{expr} >= "));
            query.bind(bound_value(value));
        }
        Test::Max(value) => {
            query.push(&format!("{expr} <= "));
            query.bind(bound_value(value));
        }
        Test::IsNull(true) => query.push(&format!("{expr} IS NULL")),
        Test::IsNull(false) => query.push(&format!("{expr} IS NOT NULL")),
        Test::Within(period, days) => {
            let Some((from, to)) = periods::range(*period, *days, setting.today()) else {
                query.push("1 = 0");
                return;
            };
            let bounds: [Value; 2] = if kind == FieldKind::DateTime {
                [
                    periods::start_of(from, setting.zone).into(),
                    periods::start_of(to, setting.zone).into(),
                ]
            } else {
                [from.into(), to.into()]
            };
            let [from, to] = bounds;
            query.push(&format!("{expr} >= "));
            query.bind(from);
            query.push(&format!(" AND {expr} < "));
            query.bind(to);
        }
    }
}

fn bound_value(bound: &Bound) -> Value {
    match bound {
        Bound::Text(text) => text.clone().into(),
        Bound::Int(n) => (*n).into(),
        Bound::Date(date) => (*date).into(),
        Bound::Instant(at) => (*at).into(),
        Bound::Bool(b) => (*b).into(),
        Bound::Id(id) => (*id).into(),
    }
}

/// A field's value as stored (for conditions, grouping and aggregates).
pub fn value_of(field: &FieldRef, backend: DbBackend) -> String {
    let alias = &field.alias;
    match &field.field.sql {
        FieldSql::Column(column) => format!(r#""{alias}"."{column}""#),
        FieldSql::Computed(Formula::Sql(sql)) => of_table(sql, alias),
        FieldSql::Computed(Formula::HoursBetween(from, to)) => {
            let (from, to) = (of_table(from, alias), of_table(to, alias));
            // In the 1/10 000 units that DECIMAL values are kept in.
            match backend {
                DbBackend::Postgres => {
                    format!("ROUND(EXTRACT(EPOCH FROM ({to}) - ({from})) * 10000 / 3600)")
                }
                _ => format!("ROUND((julianday({to}) - julianday({from})) * 24 * 10000)"),
            }
        }
        FieldSql::Custom(name) => {
            let json = format!(r#""{alias}"."custom_fields""#);
            match backend {
                DbBackend::Postgres => {
                    let text = format!("({json} ->> '{name}')");
                    match field.field.kind {
                        FieldKind::Number => format!("CAST({text} AS BIGINT)"),
                        FieldKind::Date => format!("CAST({text} AS DATE)"),
                        FieldKind::Boolean => format!("CAST({text} AS BOOLEAN)"),
                        _ => text,
                    }
                }
                _ => format!("json_extract({json}, '$.{name}')"),
            }
        }
    }
}

/// A computed field's SQL with its `{t}` naming the table's alias.
fn of_table(sql: &str, alias: &str) -> String {
    sql.replace("{t}", &format!(r#""{alias}""#))
}

/// `expr` (a value of `kind`) as the report shows it: numbers as integers, dates and times as
/// ISO text, booleans as 0/1.
pub fn shown(kind: FieldKind, expr: &str, backend: DbBackend) -> String {
    let postgres = backend == DbBackend::Postgres;
    match kind {
        FieldKind::Number | FieldKind::Decimal => format!("CAST({expr} AS BIGINT)"),
        FieldKind::Date if postgres => format!("to_char({expr}, 'YYYY-MM-DD')"),
        FieldKind::DateTime if postgres => {
            format!(r#"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#)
        }
        FieldKind::DateTime => format!("strftime('%Y-%m-%dT%H:%M:%SZ', {expr})"),
        FieldKind::Boolean => format!(
            "CAST(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN 1 ELSE 0 END AS BIGINT)"
        ),
        FieldKind::Text | FieldKind::Date | FieldKind::Id => expr.to_owned(),
    }
}

/// A selected field of a tabular report.
pub fn column(field: &FieldRef, backend: DbBackend) -> (String, Reader) {
    let expr = shown(field.field.kind, &value_of(field, backend), backend);
    (expr, Reader::Value(field.field.kind))
}

/// A grouping: the field's value, or its bucket's label.
pub fn group(group: &PlannedGroup, setting: &Setting) -> (String, Reader) {
    let backend = setting.backend;
    let kind = group.field.field.kind;
    let value = value_of(&group.field, backend);
    let Some(bucket) = group.bucket else {
        return (shown(kind, &value, backend), Reader::Value(kind));
    };
    let postgres = backend == DbBackend::Postgres;
    // The value as a local date or time of the tenant.
    let local = match (kind, postgres) {
        (FieldKind::DateTime, true) => format!("({value} AT TIME ZONE '{}')", setting.zone.name()),
        (FieldKind::DateTime, false) => format!(
            "datetime({value}, '{:+} minutes')",
            periods::offset_minutes(setting.zone, setting.now)
        ),
        _ => value,
    };
    let label = match (bucket, postgres) {
        (Bucket::Aging, _) => aging(&local, setting.today(), postgres),
        (Bucket::Day, true) => format!("to_char({local}, 'YYYY-MM-DD')"),
        (Bucket::Week, true) => format!(r#"to_char({local}, 'IYYY-"W"IW')"#),
        (Bucket::Month, true) => format!("to_char({local}, 'YYYY-MM')"),
        (Bucket::Quarter, true) => format!(r#"to_char({local}, 'YYYY-"Q"Q')"#),
        (Bucket::Year, true) => format!("to_char({local}, 'YYYY')"),
        (Bucket::Day, false) => format!("strftime('%Y-%m-%d', {local})"),
        (Bucket::Week, false) => format!("strftime('%G-W%V', {local})"),
        (Bucket::Month, false) => format!("strftime('%Y-%m', {local})"),
        (Bucket::Quarter, false) => format!(
            "(strftime('%Y', {local}) || '-Q' || ((CAST(strftime('%m', {local}) AS INTEGER) + 2) / 3))"
        ),
        (Bucket::Year, false) => format!("strftime('%Y', {local})"),
    };
    (label, Reader::Label)
}

/// Labels a date by how many days ago it was: `Not due`, `0-30`, `31-60`, `61-90`, `90+`.
fn aging(local: &str, today: NaiveDate, postgres: bool) -> String {
    let days = if postgres {
        format!("(DATE '{today}' - CAST({local} AS DATE))")
    } else {
        format!("CAST(julianday('{today}') - julianday(date({local})) AS INTEGER)")
    };
    format!(
        "CASE WHEN {days} IS NULL THEN NULL WHEN {days} < 0 THEN 'Not due' \
         WHEN {days} <= 30 THEN '0-30' WHEN {days} <= 60 THEN '31-60' \
         WHEN {days} <= 90 THEN '61-90' ELSE '90+' END"
    )
}

/// An aggregate's select expressions (two for an average) and how to read them.
pub fn aggregate(aggregate: &PlannedAggregate, backend: DbBackend) -> (Vec<String>, Reader) {
    let Some(field) = &aggregate.field else {
        return (vec!["COUNT(*)".into()], Reader::Value(FieldKind::Number));
    };
    let kind = field.field.kind;
    let value = value_of(field, backend);
    match aggregate.function {
        Function::Count => (
            vec![format!("COUNT({value})")],
            Reader::Value(FieldKind::Number),
        ),
        Function::CountDistinct => (
            vec![format!("COUNT(DISTINCT {value})")],
            Reader::Value(FieldKind::Number),
        ),
        Function::Sum => (
            vec![format!("CAST(SUM({value}) AS BIGINT)")],
            Reader::Value(kind),
        ),
        Function::Avg => (
            vec![
                format!("CAST(SUM({value}) AS BIGINT)"),
                format!("COUNT({value})"),
            ],
            Reader::Average(kind),
        ),
        Function::Min => (
            vec![shown(kind, &format!("MIN({value})"), backend)],
            Reader::Value(kind),
        ),
        Function::Max => (
            vec![shown(kind, &format!("MAX({value})"), backend)],
            Reader::Value(kind),
        ),
        Function::Median => (vec![median(&value, backend)], Reader::Value(kind)),
    }
}

/// The lower median of a numeric value: the value at rank ceil(n / 2), as `processMetrics`
/// reckons it. SQLite has no percentile function: its values, sorted into a JSON array,
/// give the one at that rank.
fn median(value: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(percentile_disc(0.5) WITHIN GROUP (ORDER BY {value}) AS BIGINT)")
        }
        _ => format!(
            "CAST(json_extract(json_group_array({value} ORDER BY {value}) \
             FILTER (WHERE {value} IS NOT NULL), \
             '$[' || ((COUNT({value}) - 1) / 2) || ']') AS INTEGER)"
        ),
    }
}
