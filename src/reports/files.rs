//! A report's every row as a file: CSV (RFC 4180, a header row of column labels) or an Excel
//! workbook (numbers as numbers, dates as dates), with subtotal and total rows after the rows
//! they sum.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use uuid::Uuid;

use entity::reports::report::Model;

use super::run::{Column, Outcome};
use super::saved::{self, MAX_PAGE, Parameters};
use super::sources::FieldKind;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::export::{Cell, csv_row};
use crate::modules::Module;

/// A file of a report holds at most this many rows; `/export` serves whole modules.
const MAX_ROWS: u64 = 100_000;

/// Every row of a report, as its viewer may see them.
pub struct Table {
    pub columns: Vec<Column>,
    /// The rows, then subtotal and total rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows, not counting subtotals and totals.
    pub data_rows: u64,
    /// What it read: whoever reads the file later must be allowed to read these.
    pub modules: Vec<Module>,
}

/// Runs a saved report the caller may see, page after page, into one table.
pub async fn table(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<(Model, Table)> {
    let report = saved::get(db, actor, id).await?;
    let table = table_of(db, actor, &report).await?;
    Ok((report, table))
}

/// [`table`] of a report already read (and seen by the caller).
pub async fn table_of(
    db: &DatabaseConnection,
    actor: &Principal,
    report: &Model,
) -> AppResult<Table> {
    let definition = saved::definition_of(report)?;
    let facts = saved::tenant_facts(db, actor).await?;
    let mut table = Table {
        columns: Vec::new(),
        rows: Vec::new(),
        data_rows: 0,
        modules: saved::modules_read(&facts.custom, report)?,
    };
    loop {
        let parameters = Parameters {
            filters: Vec::new(),
            offset: table.data_rows,
            limit: Some(MAX_PAGE),
        };
        let page = saved::run_with(db, actor, &facts, definition.clone(), parameters).await?;
        table.data_rows += page.rows.len() as u64;
        let last = page.rows.is_empty()
            || table.data_rows >= page.total_rows
            || table.data_rows >= MAX_ROWS;
        let totals = if last { totals_row(&page) } else { None };
        table.columns = page.columns;
        table.rows.extend(page.rows);
        if last {
            table.rows.extend(page.subtotals);
            table.rows.extend(page.column_totals);
            table.rows.extend(totals);
            return Ok(table);
        }
    }
}

/// The grand totals as a row under the report's columns (`Total` in the first), when the
/// aggregates are columns (summary reports).
fn totals_row(outcome: &Outcome) -> Option<Vec<Value>> {
    let mut row = vec![Value::Null; outcome.columns.len()];
    let mut any = false;
    for total in &outcome.totals {
        if let Some(i) = outcome.columns.iter().position(|c| c.name == total.name) {
            row[i] = total.value.0.clone();
            any = true;
        }
    }
    if !any || outcome.column_totals.is_some() {
        return None;
    }
    row[0] = Value::from("Total");
    Some(row)
}

/// The table as CSV: numbers and decimals as numbers (a negative amount is not a formula).
pub fn csv(table: &Table) -> String {
    let header: Vec<Cell<&str>> = table
        .columns
        .iter()
        .map(|c| Cell::Text(c.label.as_str()))
        .collect();
    let mut text = csv_row(&header);
    for row in &table.rows {
        let cells: Vec<Cell<String>> = row
            .iter()
            .zip(&table.columns)
            .map(|(value, column)| match value {
                Value::Null => Cell::Text(String::new()),
                Value::String(text) if column.kind.is_numeric() => Cell::Number(text.clone()),
                Value::String(text) => Cell::Text(text.clone()),
                other => Cell::Number(other.to_string()),
            })
            .collect();
        text.push_str(&csv_row(&cells));
    }
    text
}

/// The table as an Excel workbook of one sheet named after the report: a bold, frozen header
/// row; numbers, amounts, dates and times as Excel values, so that sums and pivots work.
pub fn xlsx(table: &Table, name: &str) -> AppResult<Vec<u8>> {
    write_xlsx(table, name).map_err(AppError::internal)
}

fn write_xlsx(table: &Table, name: &str) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name(name))?;
    let bold = Format::new().set_bold();
    for (c, column) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, &column.label, &bold)?;
    }
    let formats = Formats {
        date: Format::new().set_num_format("yyyy-mm-dd"),
        time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        decimal: Format::new().set_num_format("#,##0.00##"),
    };
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        for ((c, value), column) in row.iter().enumerate().zip(&table.columns) {
            write_cell(sheet, r, col(c)?, value, column.kind, &formats)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    workbook.save_to_buffer()
}

struct Formats {
    date: Format,
    time: Format,
    decimal: Format,
}

fn col(index: usize) -> Result<u16, XlsxError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

/// One cell as the Excel value its column's type calls for; as text when it is not one (the
/// `Total` label of a totals row).
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Value,
    kind: FieldKind,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let text = match value {
        Value::Null => return Ok(()),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let number = text.parse::<f64>().ok().filter(|n| n.is_finite());
    match (kind, number) {
        (FieldKind::Decimal, Some(n)) => {
            sheet.write_number_with_format(row, col, n, &formats.decimal)
        }
        (FieldKind::Number, Some(n)) => sheet.write_number(row, col, n),
        (FieldKind::Boolean, Some(n)) => sheet.write_boolean(row, col, n != 0.0),
        (FieldKind::Date | FieldKind::DateTime, _) => match ExcelDateTime::parse_from_str(&text) {
            Ok(at) if kind == FieldKind::Date => {
                sheet.write_datetime_with_format(row, col, at, &formats.date)
            }
            Ok(at) => sheet.write_datetime_with_format(row, col, at, &formats.time),
            // A bucket's label (`2026-Q1`): text.
            Err(_) => sheet.write_string(row, col, &text),
        },
        _ => sheet.write_string(row, col, &text),
    }
    .map(|_| ())
}

/// Excel's rules for sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .take(31)
        .collect();
    let trimmed = cleaned.trim().trim_matches('\'');
    if trimmed.is_empty() {
        "Report".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_follow_excels_rules() {
        assert_eq!(sheet_name("Pipeline by stage"), "Pipeline by stage");
        assert_eq!(sheet_name("Q1/Q2: [won]?"), "Q1 Q2   won");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(sheet_name("???"), "Report");
        assert_eq!(sheet_name("'quoted'"), "quoted");
    }
}
