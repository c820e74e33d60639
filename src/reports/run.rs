//! Running a plan: the queries each kind of report needs, read back as typed JSON cells.

use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::filters::Direction;
use crate::money;

use super::definition::{FieldRef, Function, Plan, ReportKind};
use super::sources::FieldKind;
use super::sql::{self, Query, Reader, Setting};

/// A matrix pivots at most this many cells in memory, and this many columns.
const MAX_MATRIX_CELLS: usize = 10_000;
const MAX_MATRIX_COLUMNS: usize = 100;
/// Subtotals of a two-level summary: at most this many first-level groups.
const MAX_SUBTOTALS: usize = 1_000;

/// A column of a report's result.
#[derive(Clone, Debug, PartialEq, async_graphql::SimpleObject)]
#[graphql(name = "ReportColumn")]
pub struct Column {
    /// `salesStage`, `expectedCloseDate:month`, `sum:amount`.
    pub name: String,
    pub label: String,
    #[graphql(name = "type")]
    pub kind: FieldKind,
}

/// A grand total of an aggregate over every row the report covers.
#[derive(Clone, Debug, PartialEq, async_graphql::SimpleObject)]
#[graphql(name = "ReportTotal")]
pub struct Total {
    pub name: String,
    pub label: String,
    #[graphql(name = "type")]
    pub kind: FieldKind,
    pub value: async_graphql::Json<Value>,
}

/// What a report shows: typed cells (decimals as strings, so no digit is lost; dates as ISO
/// text), a page at a time.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Summary with two groupings: one row per first-level group (second grouping's cell null).
    pub subtotals: Vec<Vec<Value>>,
    /// Matrix: the totals of each column, as a row.
    pub column_totals: Option<Vec<Value>>,
    pub totals: Vec<Total>,
    /// Rows (tabular), groups (summary) or matrix rows in all, across pages.
    pub total_rows: u64,
}

/// Which rows of the result to return.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

pub async fn run(
    db: &impl ConnectionTrait,
    plan: &Plan,
    setting: &Setting,
    window: Window,
) -> AppResult<Outcome> {
    let from = sql::from_where(plan, setting);
    let mut outcome = match plan.kind {
        ReportKind::Tabular => tabular(db, plan, setting, &from, window).await?,
        ReportKind::Summary => summary(db, plan, setting, &from, window).await?,
        ReportKind::Matrix => matrix(db, plan, setting, &from, window).await?,
    };
    if outcome.totals.is_empty() {
        outcome.totals = totals(db, plan, setting, &from).await?;
    }
    Ok(outcome)
}

/// The select lists of a report's groupings and aggregates, and how to read them back: each
/// query of a summary or matrix selects some groupings, then every aggregate.
struct Selection {
    groups: Vec<(String, Reader)>,
    aggregates: Vec<String>,
    aggregate_readers: Vec<Reader>,
}

impl Selection {
    fn of(plan: &Plan, setting: &Setting) -> Selection {
        let mut aggregates = Vec::new();
        let mut aggregate_readers = Vec::new();
        for aggregate in &plan.aggregates {
            let (exprs, reader) = sql::aggregate(aggregate, setting.backend);
            aggregates.extend(exprs);
            aggregate_readers.push(reader);
        }
        Selection {
            groups: plan.groups.iter().map(|g| sql::group(g, setting)).collect(),
            aggregates,
            aggregate_readers,
        }
    }

    /// The groupings at `groups` (by index), then the aggregates.
    fn with_groups(&self, groups: &[usize]) -> (Vec<String>, Vec<Reader>) {
        let select = groups
            .iter()
            .map(|&g| self.groups[g].0.clone())
            .chain(self.aggregates.iter().cloned())
            .collect();
        let readers = groups
            .iter()
            .map(|&g| self.groups[g].1)
            .chain(self.aggregate_readers.iter().copied())
            .collect();
        (select, readers)
    }

    /// The groupings alone, to count the groups.
    fn group_select(&self) -> Vec<String> {
        self.groups.iter().map(|(expr, _)| expr.clone()).collect()
    }
}

fn aggregate_columns(plan: &Plan) -> Vec<Column> {
    plan.aggregates
        .iter()
        .map(|a| Column {
            name: a.name.clone(),
            label: a.label.clone(),
            kind: a.kind(),
        })
        .collect()
}

async fn totals(
    db: &impl ConnectionTrait,
    plan: &Plan,
    setting: &Setting,
    from: &Query,
) -> AppResult<Vec<Total>> {
    if plan.aggregates.is_empty() {
        return Ok(Vec::new());
    }
    let (select, readers) = Selection::of(plan, setting).with_groups(&[]);
    let rows = fetch(db, Query::select(from, &select, ""), &readers).await?;
    Ok(totals_of(plan, rows.into_iter().next().unwrap_or_default()))
}

/// `ORDER BY` over select positions: the report's order, then every position in `ties` for a
/// stable result.
fn order_by(plan: &Plan, names: &[String], positions: &[usize], ties: &[usize]) -> String {
    let mut terms: Vec<String> = plan
        .order
        .iter()
        .filter_map(|(name, direction)| {
            let i = names.iter().position(|n| n == name)?;
            let dir = match direction {
                Direction::Asc => "ASC",
                Direction::Desc => "DESC",
            };
            Some(format!("{} {dir} NULLS LAST", positions[i]))
        })
        .collect();
    terms.extend(ties.iter().map(|p| format!("{p} ASC NULLS LAST")));
    format!("ORDER BY {}", terms.join(", "))
}

/// The number of rows in all, when a page shows that it has them all: a first page that is not
/// full. Counting would scan again.
fn known_total(window: Window, fetched: usize) -> Option<u64> {
    let fetched = fetched as u64;
    (fetched < window.limit && (window.offset == 0 || fetched > 0))
        .then(|| window.offset.saturating_add(fetched))
}

fn limit(window: Window) -> String {
    format!("LIMIT {} OFFSET {}", window.limit, window.offset)
}

async fn tabular(
    db: &impl ConnectionTrait,
    plan: &Plan,
    setting: &Setting,
    from: &Query,
    window: Window,
) -> AppResult<Outcome> {
    let mut select = Vec::new();
    let mut readers = Vec::new();
    let mut columns = Vec::new();
    for field in &plan.columns {
        let (expr, reader) = sql::column(field, setting.backend);
        select.push(expr);
        readers.push(reader);
        columns.push(Column {
            name: field_name(plan, field),
            label: field_label(plan, field),
            kind: field.field.kind,
        });
    }
    select.push(r#""t"."id""#.into());
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let positions: Vec<usize> = (1..=names.len()).collect();
    let order = order_by(plan, &names, &positions, &[select.len()]);
    let statement = Query::select(from, &select, &format!("{order} {}", limit(window)));
    let rows = fetch(db, statement, &readers).await?;
    let total = match known_total(window, rows.len()) {
        Some(total) => total,
        None => count(db, Query::select(from, &["COUNT(*)".into()], "")).await?,
    };
    Ok(Outcome {
        columns,
        rows,
        total_rows: total,
        ..Outcome::default()
    })
}

/// The definition's name for a field (`amount`, `account.industry`).
fn field_name(plan: &Plan, field: &FieldRef) -> String {
    match plan.joins.iter().find(|j| j.alias == field.alias) {
        Some(join) => format!("{}.{}", join_name(join.column), field.field.name),
        None => field.field.name.clone(),
    }
}

fn field_label(plan: &Plan, field: &FieldRef) -> String {
    match plan.joins.iter().find(|j| j.alias == field.alias) {
        Some(join) => format!("{} › {}", join.target.label, field.field.label),
        None => field.field.label.clone(),
    }
}

/// `account_id` -> `account`, `sales_order_id` -> `salesOrder`.
fn join_name(column: &str) -> String {
    crate::search::camel_case(column.strip_suffix("_id").unwrap_or(column))
}

/// The columns of a report's groupings.
fn group_columns(plan: &Plan, selection: &Selection) -> Vec<Column> {
    plan.groups
        .iter()
        .zip(&selection.groups)
        .map(|(group, (_, reader))| {
            let label = field_label(plan, &group.field);
            Column {
                name: group.name.clone(),
                label: match group.bucket {
                    Some(bucket) => {
                        format!("{label} ({})", format!("{bucket:?}").to_lowercase())
                    }
                    None => label,
                },
                kind: match reader {
                    Reader::Value(kind) => *kind,
                    _ => FieldKind::Text,
                },
            }
        })
        .collect()
}

/// Positions (1-based) in the select list of each column, given each reader's width.
fn positions(readers: &[Reader]) -> Vec<usize> {
    let mut next = 1;
    readers
        .iter()
        .map(|r| {
            let at = next;
            next += r.width();
            at
        })
        .collect()
}

fn group_by(groups: usize) -> String {
    let list: Vec<String> = (1..=groups).map(|i| i.to_string()).collect();
    format!("GROUP BY {}", list.join(", "))
}

async fn summary(
    db: &impl ConnectionTrait,
    plan: &Plan,
    setting: &Setting,
    from: &Query,
    window: Window,
) -> AppResult<Outcome> {
    let selection = Selection::of(plan, setting);
    let mut columns = group_columns(plan, &selection);
    columns.extend(aggregate_columns(plan));
    let groups = plan.groups.len();
    let (select, readers) = selection.with_groups(&(0..groups).collect::<Vec<_>>());
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let positions = positions(&readers);
    let grouping = group_by(groups);
    let ties: Vec<usize> = (1..=groups).collect();
    let order = order_by(plan, &names, &positions, &ties);
    let statement = Query::select(
        from,
        &select,
        &format!("{grouping} {order} {}", limit(window)),
    );
    let rows = fetch_cells(db, statement, &readers).await?;
    let known = known_total(window, rows.len());
    // Every group is on this page: subtotals and totals come from it, without another scan.
    if let (Some(total_rows), Some(rolled)) = (known, roll_up(plan, &rows)) {
        let (subtotals, totals) = rolled;
        return Ok(Outcome {
            rows: rows.iter().map(|row| shown(row)).collect(),
            subtotals,
            totals: totals_of(plan, shown(&totals)),
            columns,
            total_rows,
            ..Outcome::default()
        });
    }
    let rows = rows.iter().map(|row| shown(row)).collect::<Vec<_>>();
    let total_rows = match known {
        Some(total) => total,
        None => {
            count(
                db,
                Query::count_groups(from, &selection.group_select(), &grouping),
            )
            .await?
        }
    };

    let mut subtotals = Vec::new();
    if groups == 2 {
        let (select, readers) = selection.with_groups(&[0]);
        let rest = format!("GROUP BY 1 ORDER BY 1 ASC NULLS LAST LIMIT {MAX_SUBTOTALS}");
        subtotals = fetch(db, Query::select(from, &select, &rest), &readers)
            .await?
            .into_iter()
            .map(|mut row| {
                row.insert(1, Value::Null);
                row
            })
            .collect();
    }
    Ok(Outcome {
        columns,
        rows,
        subtotals,
        total_rows,
        ..Outcome::default()
    })
}

/// A summary's subtotals (two groupings: per first-level group, in its order) and grand totals,
/// from all its groups, when its aggregates combine (see [`combine`]).
fn roll_up(plan: &Plan, rows: &[Vec<Cell>]) -> Option<(Vec<Vec<Value>>, Vec<Cell>)> {
    let groups = plan.groups.len();
    let all: Vec<&Vec<Cell>> = rows.iter().collect();
    let totals = combine(plan, &all, groups)?;
    let mut subtotals = Vec::new();
    if groups == 2 {
        let mut firsts: Vec<Value> = Vec::new();
        for row in rows {
            let first = row[0].shown();
            if !firsts.contains(&first) {
                firsts.push(first);
            }
        }
        firsts.sort_by(ascending);
        for first in firsts {
            let members: Vec<&Vec<Cell>> = rows.iter().filter(|r| r[0].shown() == first).collect();
            let mut row = vec![first, Value::Null];
            row.extend(shown(&combine(plan, &members, groups)?));
            subtotals.push(row);
        }
    }
    Some((subtotals, totals))
}

/// The order of `ORDER BY … ASC NULLS LAST`: numbers by value, text by its bytes.
fn ascending(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or_default()
            .total_cmp(&y.as_f64().unwrap_or_default()),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Grand totals as the result shows them, from one row of aggregate values.
fn totals_of(plan: &Plan, values: Vec<Value>) -> Vec<Total> {
    aggregate_columns(plan)
        .into_iter()
        .zip(values)
        .map(|(column, value)| Total {
            name: column.name,
            label: column.label,
            kind: column.kind,
            value: async_graphql::Json(value),
        })
        .collect()
}

async fn matrix(
    db: &impl ConnectionTrait,
    plan: &Plan,
    setting: &Setting,
    from: &Query,
    window: Window,
) -> AppResult<Outcome> {
    let selection = Selection::of(plan, setting);
    let aggregates = aggregate_columns(plan);
    let width = aggregates.len();

    // The columns: every value of the second grouping, with its totals.
    let (select, readers) = selection.with_groups(&[1]);
    let rest = format!(
        "GROUP BY 1 ORDER BY 1 ASC NULLS LAST LIMIT {}",
        MAX_MATRIX_COLUMNS + 1
    );
    let column_totals = fetch(db, Query::select(from, &select, &rest), &readers).await?;
    if column_totals.len() > MAX_MATRIX_COLUMNS {
        return Err(too_large(format!(
            "the matrix has more than {MAX_MATRIX_COLUMNS} columns; filter it or group by fewer values"
        )));
    }
    let keys: Vec<Value> = column_totals.iter().map(|r| r[0].clone()).collect();

    // The rows: every value of the first grouping, with its totals, in the report's order.
    let (select, readers) = selection.with_groups(&[0]);
    let names: Vec<String> = std::iter::once(plan.groups[0].name.clone())
        .chain(aggregates.iter().map(|a| a.name.clone()))
        .collect();
    let order = order_by(plan, &names, &positions(&readers), &[1]);
    let rest = format!("GROUP BY 1 {order} LIMIT {}", MAX_MATRIX_CELLS + 1);
    let row_totals = fetch(db, Query::select(from, &select, &rest), &readers).await?;

    let (select, readers) = selection.with_groups(&[0, 1]);
    let rest = format!("GROUP BY 1, 2 LIMIT {}", MAX_MATRIX_CELLS + 1);
    let cells = fetch(db, Query::select(from, &select, &rest), &readers).await?;
    if cells.len() > MAX_MATRIX_CELLS || row_totals.len() > MAX_MATRIX_CELLS {
        return Err(too_large(format!(
            "the matrix has more than {MAX_MATRIX_CELLS} cells; filter it or group by fewer values"
        )));
    }

    let mut columns = vec![group_columns(plan, &selection)[0].clone()];
    for key in &keys {
        let shown = cell_text(key);
        for aggregate in &aggregates {
            columns.push(Column {
                name: if width == 1 {
                    shown.clone()
                } else {
                    format!("{shown}:{}", aggregate.name)
                },
                label: if width == 1 {
                    shown.clone()
                } else {
                    format!("{shown} · {}", aggregate.label)
                },
                kind: aggregate.kind,
            });
        }
    }
    columns.extend(aggregates.iter().map(|a| Column {
        name: format!("total:{}", a.name),
        label: format!("Total · {}", a.label),
        kind: a.kind,
    }));

    let total_rows = row_totals.len() as u64;
    let start = usize::try_from(window.offset).unwrap_or(usize::MAX);
    let take = usize::try_from(window.limit).unwrap_or(usize::MAX);
    let rows = row_totals
        .into_iter()
        .skip(start)
        .take(take)
        .map(|total| {
            let mut row = vec![total[0].clone()];
            for key in &keys {
                let cell = cells.iter().find(|c| c[0] == total[0] && c[1] == *key);
                match cell {
                    Some(cell) => row.extend(cell[2..].iter().cloned()),
                    None => row.extend(std::iter::repeat_n(Value::Null, width)),
                }
            }
            row.extend(total[1..].iter().cloned());
            row
        })
        .collect();
    let mut totals_row = vec![Value::from("Total")];
    for total in &column_totals {
        totals_row.extend(total[1..].iter().cloned());
    }
    Ok(Outcome {
        columns,
        rows,
        column_totals: Some(totals_row),
        total_rows,
        ..Outcome::default()
    })
}

fn too_large(message: String) -> AppError {
    AppError::bad_input("definition.groupBy", message)
}

/// A cell as a name (a matrix column, a chart category): text as it is, other values as
/// JSON, an empty cell as `(none)`.
pub fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(text) => text.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// A numeric cell's exact value (decimals are strings, counts are numbers).
pub fn cell_decimal(cell: &Value) -> Option<Decimal> {
    match cell {
        Value::String(text) => text.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

async fn count(db: &impl ConnectionTrait, statement: Statement) -> AppResult<u64> {
    let row = db.query_one_raw(statement).await?;
    let n: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn fetch(
    db: &impl ConnectionTrait,
    statement: Statement,
    readers: &[Reader],
) -> AppResult<Vec<Vec<Value>>> {
    let rows = fetch_cells(db, statement, readers).await?;
    Ok(rows.iter().map(|row| shown(row)).collect())
}

async fn fetch_cells(
    db: &impl ConnectionTrait,
    statement: Statement,
    readers: &[Reader],
) -> AppResult<Vec<Vec<Cell>>> {
    let rows = db.query_all_raw(statement).await?;
    rows.iter().map(|row| read_row(row, readers)).collect()
}

fn shown(row: &[Cell]) -> Vec<Value> {
    row.iter().map(Cell::shown).collect()
}

/// A cell as read: a value, or an average's sum and count (so that averages of groups combine
/// exactly).
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Value(Value),
    Average {
        sum: Option<i64>,
        count: i64,
        kind: FieldKind,
    },
}

impl Cell {
    fn shown(&self) -> Value {
        match self {
            Cell::Value(value) => value.clone(),
            Cell::Average { sum, count, kind } => {
                let Some(sum) = sum.filter(|_| *count > 0) else {
                    return Value::Null;
                };
                let sum = match kind {
                    FieldKind::Decimal => money::from_units(sum),
                    _ => Decimal::from(sum),
                };
                sum.checked_div(Decimal::from(*count))
                    .map_or(Value::Null, |avg| {
                        Value::from(avg.round_dp(4).normalize().to_string())
                    })
            }
        }
    }
}

fn read_row(row: &QueryResult, readers: &[Reader]) -> AppResult<Vec<Cell>> {
    let mut at = 0;
    let mut cells = Vec::with_capacity(readers.len());
    for reader in readers {
        cells.push(read_cell(row, at, *reader)?);
        at += reader.width();
    }
    Ok(cells)
}

fn read_cell(row: &QueryResult, at: usize, reader: Reader) -> AppResult<Cell> {
    let text = |at| row.try_get_by_index::<Option<String>>(at);
    let int = |at| row.try_get_by_index::<Option<i64>>(at);
    Ok(Cell::Value(match reader {
        Reader::Label => text(at)?.map_or(Value::Null, Value::from),
        Reader::Value(kind) => match kind {
            FieldKind::Text | FieldKind::Date | FieldKind::DateTime => {
                text(at)?.map_or(Value::Null, Value::from)
            }
            FieldKind::Number => int(at)?.map_or(Value::Null, Value::from),
            FieldKind::Decimal => int(at)?.map_or(Value::Null, |units| {
                Value::from(money::from_units(units).to_string())
            }),
            FieldKind::Boolean => int(at)?.map_or(Value::Null, |b| Value::from(b != 0)),
            FieldKind::Id => row
                .try_get_by_index::<Option<Uuid>>(at)?
                .map_or(Value::Null, |id| Value::from(id.to_string())),
        },
        Reader::Average(kind) => {
            return Ok(Cell::Average {
                sum: int(at)?,
                count: int(at + 1)?.unwrap_or(0),
                kind,
            });
        }
    }))
}

/// The aggregates of several groups combined into those of their union, when each can be:
/// counts and sums add up, lowest and highest compare, averages add their sums and counts. A
/// distinct count cannot (`None`).
fn combine(plan: &Plan, rows: &[&Vec<Cell>], first: usize) -> Option<Vec<Cell>> {
    let decimal = |cell: &Cell| match cell {
        Cell::Value(value) => cell_decimal(value),
        Cell::Average { .. } => None,
    };
    plan.aggregates
        .iter()
        .enumerate()
        .map(|(j, aggregate)| {
            let cells: Vec<&Cell> = rows.iter().map(|row| &row[first + j]).collect();
            let kind = aggregate.kind();
            Some(match aggregate.function {
                // Not made of the groups' own: read from the rows again.
                Function::CountDistinct | Function::Median => return None,
                Function::Count | Function::Sum => {
                    let values: Vec<Decimal> = cells.iter().filter_map(|c| decimal(c)).collect();
                    if values.is_empty() && aggregate.function == Function::Sum {
                        Cell::Value(Value::Null)
                    } else {
                        let total = values
                            .iter()
                            .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(*v))?;
                        Cell::Value(match kind {
                            FieldKind::Decimal => Value::from(total.normalize().to_string()),
                            _ => Value::from(i64::try_from(total).ok()?),
                        })
                    }
                }
                Function::Min | Function::Max => {
                    let present = cells
                        .iter()
                        .copied()
                        .filter(|c| **c != Cell::Value(Value::Null));
                    let pick = |a: &Cell, b: &Cell| -> std::cmp::Ordering {
                        match (decimal(a), decimal(b)) {
                            (Some(x), Some(y)) if kind.is_numeric() => x.cmp(&y),
                            _ => a.shown().as_str().cmp(&b.shown().as_str()),
                        }
                    };
                    let found = if aggregate.function == Function::Min {
                        present.min_by(|a, b| pick(a, b))
                    } else {
                        present.max_by(|a, b| pick(a, b))
                    };
                    found.cloned().unwrap_or(Cell::Value(Value::Null))
                }
                Function::Avg => {
                    let mut total: Option<i64> = None;
                    let mut count: i64 = 0;
                    for cell in &cells {
                        if let Cell::Average { sum, count: n, .. } = cell {
                            if let Some(sum) = sum {
                                total = Some(total.unwrap_or(0).checked_add(*sum)?);
                            }
                            count = count.checked_add(*n)?;
                        }
                    }
                    let kind = aggregate
                        .field
                        .as_ref()
                        .map_or(FieldKind::Number, |f| f.field.kind);
                    Cell::Average {
                        sum: total,
                        count,
                        kind,
                    }
                }
            })
        })
        .collect()
}
