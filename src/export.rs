//! Files for other programs: CSV as RFC 4180 describes it (UTF-8, CRLF, a header row), and
//! the export of any module's records as such a file.

use futures_util::stream::BoxStream;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, IdenStatic, Iterable, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::custom_fields;
use crate::error::{AppError, AppResult};
use crate::filters::ListFilter;
use crate::money;
use crate::permissions::Access;
use crate::records::{self, Record};
use crate::search::camel_case;

/// CSV text, a chunk at a time; an error ends it.
pub type CsvStream = BoxStream<'static, AppResult<String>>;

/// A module's list filter applied from its GraphQL shape given as JSON.
pub type JsonFilter<E> = fn(&Value, Select<E>, DatabaseBackend) -> AppResult<Select<E>>;

/// Records per page of an export: each page is one query, keyed on the id (no OFFSET).
const EXPORT_PAGE: u64 = 500;
/// Columns an export leaves out: the tenant, the recycle bin stamp, and the custom fields'
/// JSON (each custom field gets its own column instead).
const NOT_EXPORTED: &[&str] = &["tenant_id", "deleted_at", "custom_fields"];

/// Parses `json` as the filter input `F` (with the same checks as GraphQL) and applies it.
pub fn json_filter<E, F>(
    json: &Value,
    select: Select<E>,
    backend: DatabaseBackend,
) -> AppResult<Select<E>>
where
    E: sea_orm::EntityTrait,
    F: ListFilter<E> + async_graphql::InputType,
{
    let invalid = |message: String| AppError::bad_input("filter", message);
    let value = async_graphql::Value::from_json(json.clone())
        .map_err(|_| invalid("is not a filter".into()))?;
    let filter = F::parse(Some(value))
        .map_err(|e| invalid(e.into_server_error(Default::default()).message))?;
    // Parsing ignores fields the input does not have; GraphQL refuses them, and so do we.
    let understood = filter.to_value().into_json().unwrap_or_default();
    if let Some(path) = unknown_field(json, &understood, "filter") {
        return Err(AppError::bad_input(path, "no such filter field"));
    }
    filter.apply(select, backend)
}

/// The path of the first field of `given` that `understood` (the parsed input written back)
/// does not have.
fn unknown_field(given: &Value, understood: &Value, path: &str) -> Option<String> {
    match (given, understood) {
        (Value::Object(given), Value::Object(understood)) => {
            given.iter().find_map(|(key, value)| {
                let path = format!("{path}.{key}");
                match understood.get(key) {
                    None => Some(path),
                    Some(known) => unknown_field(value, known, &path),
                }
            })
        }
        (Value::Array(given), Value::Array(understood)) => given
            .iter()
            .zip(understood)
            .enumerate()
            .find_map(|(i, (value, known))| unknown_field(value, known, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The live records of `E` the caller may read, as CSV: every column but the tenant's, amounts
/// as decimals, then one column per custom field of the module. Streamed a page at a time, in
/// creation order.
pub async fn records_csv<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    filter: Option<JsonFilter<E>>,
    given: Option<&Value>,
) -> AppResult<CsvStream>
where
    E::Model: Send,
{
    actor.require(E::MODULE, Access::Read)?;
    let scope = actor.scope();
    let mut select = records::live::<E>(&scope);
    if let Some(given) = given {
        let Some(apply) = filter else {
            return Err(AppError::bad_input(
                "filter",
                format!("{} exports cannot be filtered", E::MODULE.as_str()),
            ));
        };
        select = apply(given, select, db.get_database_backend())?;
    }
    let columns: Vec<(String, bool)> = E::Column::iter()
        .filter(|c| !NOT_EXPORTED.contains(&c.as_str()))
        .map(|c| (camel_case(c.as_str()), records::is_amount(&c)))
        .collect();
    let custom: Vec<String> = custom_fields::definitions(db, &scope, E::MODULE)
        .await?
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut header: Vec<Cell<&str>> = columns
        .iter()
        .map(|(name, _)| Cell::Text(name.as_str()))
        .collect();
    header.extend(custom.iter().map(|name| Cell::Text(name.as_str())));
    let header = csv_row(&header);

    let db = db.clone();
    let pages = futures_util::stream::unfold(Some(None::<Uuid>), move |after| {
        let (db, select, columns, custom) =
            (db.clone(), select.clone(), columns.clone(), custom.clone());
        async move {
            let after = after?;
            let mut page = select.order_by_asc(E::id_column()).limit(EXPORT_PAGE);
            if let Some(after) = after {
                page = page.filter(E::id_column().gt(after));
            }
            let rows = match page.all(&db).await {
                Ok(rows) => rows,
                Err(err) => return Some((Err(err.into()), None)),
            };
            if rows.is_empty() {
                return None;
            }
            let next = (rows.len() as u64 == EXPORT_PAGE).then(|| rows.last().map(E::id_of));
            let text: String = rows
                .iter()
                .map(|row| record_row(&records::to_json(row), &columns, &custom))
                .collect();
            Some((Ok(text), next))
        }
    });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(header) }),
        pages,
    );
    Ok(Box::pin(stream))
}

/// One record as a CSV row: the model's JSON fields (camelCase) in column order, amounts (kept
/// in 1/10 000 units) as decimals, then the custom fields.
fn record_row(json: &Value, columns: &[(String, bool)], custom: &[String]) -> String {
    let cell = |value: Option<&Value>, amount: bool| match value {
        None | Some(Value::Null) => Cell::Text(String::new()),
        Some(Value::Number(n)) if amount => match n.as_i64() {
            Some(units) => Cell::Number(money::from_units(units).to_string()),
            None => Cell::Number(n.to_string()),
        },
        Some(Value::Number(n)) => Cell::Number(n.to_string()),
        Some(Value::Bool(b)) => Cell::Number(b.to_string()),
        Some(Value::String(text)) => Cell::Text(text.clone()),
        Some(other) => Cell::Text(other.to_string()),
    };
    let mut cells: Vec<Cell<String>> = columns
        .iter()
        .map(|(name, amount)| cell(json.get(name), *amount))
        .collect();
    let values = json.get("customFields");
    cells.extend(
        custom
            .iter()
            .map(|name| cell(values.and_then(|v| v.get(name)), false)),
    );
    csv_row(&cells)
}

/// One CSV row: cells with a comma, quote or line break are quoted, quotes doubled. A text cell
/// that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn csv_row<S: AsRef<str>>(cells: &[Cell<S>]) -> String {
    let mut row = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            row.push(',');
        }
        let text = match cell {
            Cell::Text(text) if text.as_ref().starts_with(['=', '+', '-', '@']) => {
                format!("'{}", text.as_ref())
            }
            Cell::Text(text) | Cell::Number(text) => text.as_ref().to_owned(),
        };
        if text.contains([',', '"', '\r', '\n']) {
            row.push('"');
            row.push_str(&text.replace('"', "\"\""));
            row.push('"');
        } else {
            row.push_str(&text);
        }
    }
    row.push_str("\r\n");
    row
}

/// A CSV cell: text is guarded against formula injection, numbers are written as they are.
pub enum Cell<S> {
    Text(S),
    Number(S),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_they_must_be() {
        let row = csv_row(&[
            Cell::Text("PT Maju, Tbk"),
            Cell::Text("say \"hi\""),
            Cell::Number("-3719040"),
            Cell::Text("=HYPERLINK(1)"),
            Cell::Text("plain"),
        ]);
        assert_eq!(
            row,
            "\"PT Maju, Tbk\",\"say \"\"hi\"\"\",-3719040,'=HYPERLINK(1),plain\r\n"
        );
    }
}
