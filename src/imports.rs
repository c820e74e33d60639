//! CSV import: rows of a file become records of a module.
//!
//! Columns are matched to fields by the caller's mapping, else by the field's API name, else by
//! the column label Vtiger CRM gives the field in its own exports (so a Vtiger export imports
//! as it is), else by a custom field's name or label. Rows go in batches, each one transaction:
//! a row that fails is rolled back alone (a savepoint) and reported with its line and field,
//! the batch's good rows commit together. A dry run does the same work and rolls every batch
//! back, so that it reports exactly what a real run would refuse. A duplicate, found by a
//! chosen key (an e-mail, a number, a name), is skipped, updated or created anyway.

use std::collections::HashMap;
use std::future::Future;

use chrono::NaiveDate;
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, QueryFilter, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value};

use entity::platform::custom_field;

use crate::auth::Principal;
use crate::custom_fields::{self, Kind};
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::permissions::Access;
use crate::records::{self, Fields, Record};
use crate::validation::Patch;

/// Rows per transaction.
const BATCH: usize = 500;
/// Problems listed in a report at most (the counts are always complete).
const MAX_PROBLEMS: usize = 1000;

/// A module whose records can be imported from CSV.
pub trait Importable: Record<Model: Send> {
    type Fields: Fields<Self>;

    /// The fields a row may set: their API name and the label of Vtiger's export column.
    const COLUMNS: &'static [(&'static str, &'static str)];

    /// The fields that can find an existing record (`email`, `contactNo`), and their column.
    fn key_column(field: &str) -> Option<Self::Column>;

    /// The fields of a row; errors name the field. May look up references (an account by
    /// name) in the transaction.
    fn fields(
        txn: &DatabaseTransaction,
        actor: &Principal,
        row: &Row,
    ) -> impl Future<Output = AppResult<Self::Fields>> + Send;

    /// Creates a record, as the module's own create does, inside the transaction.
    fn create_in(
        txn: &DatabaseTransaction,
        actor: &Principal,
        fields: Self::Fields,
    ) -> impl Future<Output = AppResult<Self::Model>> + Send;
}

/// What to do with a row whose key matches an existing record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    #[default]
    Skip,
    Update,
    Create,
}

impl OnDuplicate {
    pub fn parse(text: &str) -> Option<OnDuplicate> {
        match text.to_ascii_lowercase().as_str() {
            "skip" => Some(OnDuplicate::Skip),
            "update" => Some(OnDuplicate::Update),
            "create" => Some(OnDuplicate::Create),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct ImportOptions {
    /// Check every row, change nothing.
    pub dry_run: bool,
    /// The field that identifies duplicates; none: every row is new.
    pub key: Option<String>,
    pub on_duplicate: OnDuplicate,
    /// Column header -> field (API name or custom field name), before the default matching.
    pub mapping: HashMap<String, String>,
}

#[derive(Serialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The job that ran the import (`importJob(id)`).
    pub job_id: Option<uuid::Uuid>,
    pub dry_run: bool,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    /// How each column was understood; `field` is null for a column that was left out.
    pub columns: Vec<ColumnMatch>,
    /// At most the first 1,000 problems.
    pub problems: Vec<Problem>,
}

#[derive(Serialize, Debug)]
pub struct ColumnMatch {
    pub header: String,
    pub field: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Problem {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

/// One row: its non-empty cells by field.
pub struct Row {
    cells: HashMap<String, String>,
    custom: Map<String, Value>,
}

impl Row {
    /// The trimmed cell of `field`; an absent column or an empty cell is `None` (an update
    /// leaves such fields as they are).
    pub fn text(&self, field: &str) -> Option<String> {
        self.cells.get(field).cloned()
    }

    /// A text field in the shape updates take.
    pub fn patch(&self, field: &str) -> Patch<String> {
        self.text(field).map(Some)
    }

    pub fn decimal(&self, field: &str) -> AppResult<Patch<Decimal>> {
        self.parsed(field, "a decimal number", |t| {
            t.replace([',', ' '], "").parse::<Decimal>().ok()
        })
    }

    pub fn integer(&self, field: &str) -> AppResult<Patch<i32>> {
        self.parsed(field, "a whole number", |t| t.parse::<i32>().ok())
    }

    pub fn date(&self, field: &str) -> AppResult<Patch<NaiveDate>> {
        self.parsed(field, "a date (YYYY-MM-DD)", |t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
        })
    }

    /// `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off` (Vtiger writes 1 and 0).
    pub fn flag(&self, field: &str) -> AppResult<Option<bool>> {
        Ok(self
            .parsed(field, "yes or no (1 or 0)", parse_flag)?
            .flatten())
    }

    /// Custom field values of the row, typed as their fields want them.
    pub fn custom_fields(&self) -> Option<Map<String, Value>> {
        (!self.custom.is_empty()).then(|| self.custom.clone())
    }

    fn parsed<T>(
        &self,
        field: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> AppResult<Option<Option<T>>> {
        match self.cells.get(field) {
            None => Ok(None),
            Some(text) => match parse(text) {
                Some(value) => Ok(Some(Some(value))),
                None => Err(AppError::bad_input(field, format!("must be {what}"))),
            },
        }
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Where a column's values go.
#[derive(Clone)]
enum Target {
    Field(&'static str),
    Custom(custom_field::Model),
}

/// The answer for a module without an import.
pub fn not_importable(module: Module) -> AppError {
    AppError::bad_input(
        "module",
        format!("{} cannot be imported from CSV", module.as_str()),
    )
}

/// Told after each batch: an import job records its progress with it.
pub trait Progress: Send + Sync {
    fn batch_done<'a>(&'a self, so_far: &'a ImportReport) -> BoxFuture<'a, AppResult<()>>;
}

/// A module's import, as its declaration holds it.
pub type Importer = for<'a> fn(
    &'a DatabaseConnection,
    &'a Principal,
    &'a [u8],
    &'a ImportOptions,
    &'a dyn Progress,
) -> BoxFuture<'a, AppResult<ImportReport>>;

/// [`import`] for `E`, as an [`Importer`].
pub fn importer<'a, E: Importable>(
    db: &'a DatabaseConnection,
    actor: &'a Principal,
    csv: &'a [u8],
    options: &'a ImportOptions,
    progress: &'a dyn Progress,
) -> BoxFuture<'a, AppResult<ImportReport>> {
    Box::pin(import::<E>(db, actor, csv, options, progress))
}

/// Imports `csv` into the records of `E`.
pub async fn import<E: Importable>(
    db: &DatabaseConnection,
    actor: &Principal,
    csv: &[u8],
    options: &ImportOptions,
    progress: &dyn Progress,
) -> AppResult<ImportReport> {
    actor.require(E::MODULE, Access::Write)?;
    let scope = actor.scope();
    let key = options.key.as_deref();
    if let Some(key) = key
        && E::key_column(key).is_none()
    {
        return Err(AppError::bad_input(
            "key",
            format!("'{key}' cannot identify a record here"),
        ));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(csv);
    let headers = reader
        .headers()
        .map_err(|e| AppError::bad_input("file", format!("cannot read the header row: {e}")))?
        .clone();
    let custom = custom_fields::definitions(db, &scope, E::MODULE).await?;
    let targets = match_columns::<E>(&headers, &custom, &options.mapping)?;
    let mut report = ImportReport {
        dry_run: options.dry_run,
        columns: headers
            .iter()
            .zip(&targets)
            .map(|(header, target)| ColumnMatch {
                header: header.to_owned(),
                field: target.as_ref().map(|t| match t {
                    Target::Field(field) => (*field).to_owned(),
                    Target::Custom(field) => field.name.clone(),
                }),
            })
            .collect(),
        ..ImportReport::default()
    };
    let mut records = reader.records();
    loop {
        let batch: Vec<_> = records.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            return Ok(report);
        }
        report.rows += batch.len() as u64;
        // Rows rarely fail: first try the batch without a savepoint per row; if a row fails,
        // roll the batch back and do it again row by row.
        let quick = Batch {
            actor,
            targets: &targets,
            key,
            options,
            careful: false,
        };
        let outcomes = match quick.run::<E>(db, &batch).await? {
            Some(outcomes) => outcomes,
            None => {
                let careful = Batch {
                    careful: true,
                    ..quick
                };
                careful.run::<E>(db, &batch).await?.unwrap_or_default()
            }
        };
        for outcome in outcomes {
            match outcome {
                Ok(Outcome::Created) => report.created += 1,
                Ok(Outcome::Updated) => report.updated += 1,
                Ok(Outcome::Skipped) => report.skipped += 1,
                Err((line, err)) => {
                    report.failed += 1;
                    if report.problems.len() < MAX_PROBLEMS {
                        report.problems.push(Problem {
                            line,
                            field: err.field().map(str::to_owned),
                            message: err.message(),
                        });
                    }
                }
            }
        }
        if batch.len() < BATCH {
            return Ok(report);
        }
        progress.batch_done(&report).await?;
    }
}

/// One batch of rows, in one transaction.
#[derive(Clone, Copy)]
struct Batch<'a> {
    actor: &'a Principal,
    targets: &'a [Option<Target>],
    /// The field that finds duplicates (checked to be one of the module's keys).
    key: Option<&'a str>,
    options: &'a ImportOptions,
    /// A savepoint per row, so that a failing row is rolled back alone. Without, the first
    /// failing row ends the attempt (`None`).
    careful: bool,
}

type RowResult = Result<Outcome, (u64, AppError)>;

impl Batch<'_> {
    async fn run<E: Importable>(
        self,
        db: &DatabaseConnection,
        rows: &[Result<csv::StringRecord, csv::Error>],
    ) -> AppResult<Option<Vec<RowResult>>> {
        let txn = records::begin_write(db, &self.actor.scope()).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        for record in rows {
            let record = match record {
                Ok(record) => record,
                Err(err) if self.careful => {
                    let line = err.position().map_or(0, |p| p.line());
                    let problem = AppError::bad_input("row", format!("cannot be read: {err}"));
                    outcomes.push(Err((line, problem)));
                    continue;
                }
                Err(_) => return Ok(None),
            };
            let line = record.position().map_or(0, |p| p.line());
            let row = row_of(record, self.targets);
            if !self.careful {
                match self.import_row::<E>(&txn, &row).await {
                    Ok(outcome) => outcomes.push(Ok(outcome)),
                    Err(_) => return Ok(None),
                }
                continue;
            }
            let savepoint = txn.begin().await?;
            match self.import_row::<E>(&savepoint, &row).await {
                Ok(outcome) => {
                    savepoint.commit().await?;
                    outcomes.push(Ok(outcome));
                }
                // The database itself failed: the import stops, nothing of this batch stays.
                Err(err @ (AppError::Internal | AppError::Unavailable)) => return Err(err),
                Err(err) => {
                    savepoint.rollback().await?;
                    outcomes.push(Err((line, err)));
                }
            }
        }
        if self.options.dry_run {
            txn.rollback().await?;
        } else {
            txn.commit().await?;
        }
        Ok(Some(outcomes))
    }

    async fn import_row<E: Importable>(
        &self,
        txn: &DatabaseTransaction,
        row: &Row,
    ) -> AppResult<Outcome> {
        let key = self
            .key
            .and_then(|field| Some((field, E::key_column(field)?)));
        let existing = match key {
            Some((field, column)) => match row.text(field) {
                Some(value) => {
                    // E-mail addresses are stored lower-cased.
                    let value = if field == "email" {
                        value.to_lowercase()
                    } else {
                        value
                    };
                    records::live::<E>(&self.actor.scope())
                        .filter(column.eq(value))
                        .one(txn)
                        .await?
                }
                None => None,
            },
            None => None,
        };
        let fields = E::fields(txn, self.actor, row).await?;
        match (existing, self.options.on_duplicate) {
            (Some(_), OnDuplicate::Skip) => Ok(Outcome::Skipped),
            (Some(before), OnDuplicate::Update) => {
                let version = E::version_of(&before);
                records::edit_in::<E>(txn, self.actor, before, version, fields).await?;
                Ok(Outcome::Updated)
            }
            _ => {
                E::create_in(txn, self.actor, fields).await?;
                Ok(Outcome::Created)
            }
        }
    }
}

enum Outcome {
    Created,
    Updated,
    Skipped,
}

/// The target of each column, in header order.
fn match_columns<E: Importable>(
    headers: &csv::StringRecord,
    custom: &[custom_field::Model],
    mapping: &HashMap<String, String>,
) -> AppResult<Vec<Option<Target>>> {
    // A field by its API name (by Vtiger's label), else a custom field by its name (label).
    let find = |text: &str, by_label: bool| -> Option<Target> {
        let text = text.trim();
        E::COLUMNS
            .iter()
            .find(|(field, vtiger)| {
                if by_label { vtiger } else { field }.eq_ignore_ascii_case(text)
            })
            .map(|(field, _)| Target::Field(field))
            .or_else(|| {
                custom
                    .iter()
                    .find(|f| {
                        f.active
                            && if by_label { &f.label } else { &f.name }.eq_ignore_ascii_case(text)
                    })
                    .map(|f| Target::Custom(f.clone()))
            })
    };
    let mut targets = Vec::with_capacity(headers.len());
    for header in headers {
        let target = match mapping.get(header) {
            Some(field) => Some(find(field, false).ok_or_else(|| {
                AppError::bad_input(
                    format!("mapping.{header}"),
                    format!("'{field}' is not a field that can be imported"),
                )
            })?),
            None => find(header, false).or_else(|| find(header, true)),
        };
        // A field filled by two columns would take whichever came last: use the first.
        let taken = targets
            .iter()
            .flatten()
            .any(|t: &Target| same(t, target.as_ref()));
        targets.push(if taken { None } else { target });
    }
    Ok(targets)
}

fn same(a: &Target, b: Option<&Target>) -> bool {
    match (a, b) {
        (Target::Field(a), Some(Target::Field(b))) => a == b,
        (Target::Custom(a), Some(Target::Custom(b))) => a.id == b.id,
        _ => false,
    }
}

fn row_of(record: &csv::StringRecord, targets: &[Option<Target>]) -> Row {
    let mut row = Row {
        cells: HashMap::new(),
        custom: Map::new(),
    };
    for (cell, target) in record.iter().zip(targets) {
        let text = cell.trim();
        if text.is_empty() {
            continue;
        }
        match target {
            Some(Target::Field(field)) => {
                row.cells.insert((*field).to_owned(), text.to_owned());
            }
            Some(Target::Custom(field)) => {
                row.custom
                    .insert(field.name.clone(), custom_value(field, text));
            }
            None => {}
        }
    }
    row
}

/// A custom field's cell as the JSON its kind takes; a cell that does not parse is passed on
/// as text, so that the field's own check reports it with its name.
fn custom_value(field: &custom_field::Model, text: &str) -> Value {
    match Kind::parse(&field.kind) {
        Some(Kind::Number) => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(text)),
        Some(Kind::Boolean) => parse_flag(text).map_or_else(|| Value::from(text), Value::from),
        _ => Value::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_vtiger_and_people_write_them() {
        assert_eq!(parse_flag("1"), Some(true));
        assert_eq!(parse_flag("No"), Some(false));
        assert_eq!(parse_flag("maybe"), None);
    }

    #[test]
    fn cells_parse_by_kind_and_name_their_field() {
        let row = Row {
            cells: HashMap::from([
                ("annualRevenue".to_owned(), "1,234,567.50".to_owned()),
                ("employees".to_owned(), "many".to_owned()),
            ]),
            custom: Map::new(),
        };
        assert_eq!(
            row.decimal("annualRevenue").unwrap(),
            Some(Some(Decimal::new(123456750, 2)))
        );
        assert_eq!(
            row.integer("employees").unwrap_err().field(),
            Some("employees")
        );
        assert_eq!(row.integer("absent").unwrap(), None);
    }
}
