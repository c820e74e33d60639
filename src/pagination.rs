//! Relay-style pagination with keyset cursors: a cursor holds its row's sort value and id, so
//! any order (`orderBy`) pages the same way; the id breaks ties so that the order is total.

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    ColumnTrait, ColumnType, Condition, DatabaseConnection, EntityTrait, ModelTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Limits;
use crate::error::{AppError, AppResult};
use crate::tenancy::Identified;

/// What the client asked for, before validation.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

pub struct Page<M> {
    pub items: Vec<(String, M)>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub total_count: Total,
}

/// How many records match in all pages: known, or counted when first asked for.
pub enum Total {
    Known(u64),
    Deferred(Box<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>),
}

impl Total {
    fn deferred<E: EntityTrait>(db: &DatabaseConnection, select: Select<E>) -> Total
    where
        E::Model: Sync,
    {
        let db = db.clone();
        Total::Deferred(Box::new(move || {
            let (db, select) = (db.clone(), select.clone());
            Box::pin(async move { Ok(select.count(&db).await?) })
        }))
    }

    pub async fn get(&self) -> AppResult<u64> {
        match self {
            Total::Known(n) => Ok(*n),
            Total::Deferred(count) => count().await,
        }
    }
}

impl<M> Page<M> {
    pub fn map<N>(self, f: impl Fn(M) -> N) -> Page<N> {
        Page {
            items: self.items.into_iter().map(|(c, m)| (c, f(m))).collect(),
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

/// A bounded part of a log-like list (history, steps, a stock ledger): at most `limit` entries
/// after skipping `offset`. The limit defaults to, and may not exceed, the largest page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub limit: u64,
    pub offset: u64,
}

impl Slice {
    pub fn new(limit: Option<i32>, offset: Option<i32>, limits: &Limits) -> AppResult<Slice> {
        let limit = page_size("limit", limit, limits)?.unwrap_or(limits.max_page_size);
        let offset = match offset {
            None => 0,
            Some(n) => u64::try_from(n)
                .map_err(|_| AppError::bad_input("offset", "must not be negative"))?,
        };
        Ok(Slice { limit, offset })
    }

    /// The first page, for callers that are not clients (tests, the engine).
    pub fn first(limits: &Limits) -> Slice {
        Slice {
            limit: limits.max_page_size,
            offset: 0,
        }
    }

    pub fn apply<E: sea_orm::EntityTrait>(self, select: Select<E>) -> Select<E> {
        select.limit(self.limit).offset(self.offset)
    }
}

/// Where a page starts or ends: the sort value and id of the row at that position, and the
/// order they belong to (a cursor is only valid in the order that made it).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "o")]
    order: String,
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
    #[serde(rename = "i")]
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(field: &str, cursor: &str) -> AppResult<Cursor> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| AppError::bad_input(field, "not a valid cursor"))
    }
}

/// The column a list is sorted by (then by id), and whether downwards.
#[derive(Clone, Copy)]
struct Sort<C> {
    column: C,
    descending: bool,
}

impl<C: ColumnTrait> Sort<C> {
    fn of(order: Option<(C, Order)>) -> Option<Sort<C>> {
        order.map(|(column, direction)| Sort {
            column,
            descending: matches!(direction, Order::Desc),
        })
    }
}

/// A list's order as a cursor names it: `id`, or the column and direction (then id).
fn order_key<C: ColumnTrait>(sort: Option<Sort<C>>) -> String {
    match sort {
        None => "id".to_owned(),
        Some(Sort { column, descending }) => {
            format!(
                "{} {}",
                column.as_str(),
                if descending { "desc" } else { "asc" }
            )
        }
    }
}

/// A sort value as a cursor carries it.
fn value_to_json(value: Value) -> AppResult<serde_json::Value> {
    let json = match value {
        Value::String(v) => serde_json::json!(v),
        Value::SmallInt(v) => serde_json::json!(v),
        Value::Int(v) => serde_json::json!(v),
        Value::BigInt(v) => serde_json::json!(v),
        Value::Bool(v) => serde_json::json!(v),
        Value::ChronoDate(v) => serde_json::json!(v),
        Value::ChronoDateTimeUtc(v) => serde_json::json!(v),
        Value::Uuid(v) => serde_json::json!(v),
        Value::Decimal(v) => serde_json::json!(v),
        other => return Err(AppError::internal(format!("no cursor for {other:?}"))),
    };
    Ok(json)
}

/// A cursor's sort value as the column's type, `None` for SQL NULL; an error when it is not
/// a value of that type (a cursor made up or altered by hand).
fn value_from_json(
    field: &str,
    column_type: &ColumnType,
    json: serde_json::Value,
) -> AppResult<Option<Value>> {
    fn parse<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> Option<T> {
        serde_json::from_value(json).ok()
    }
    if json.is_null() {
        return Ok(None);
    }
    let value = match column_type {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => {
            parse::<String>(json).map(Value::from)
        }
        ColumnType::SmallInteger => parse::<i16>(json).map(Value::from),
        ColumnType::Integer => parse::<i32>(json).map(Value::from),
        ColumnType::BigInteger => parse::<i64>(json).map(Value::from),
        ColumnType::Boolean => parse::<bool>(json).map(Value::from),
        ColumnType::Date => parse::<NaiveDate>(json).map(Value::from),
        ColumnType::TimestampWithTimeZone => parse::<DateTime<Utc>>(json).map(Value::from),
        ColumnType::Uuid => parse::<Uuid>(json).map(Value::from),
        ColumnType::Decimal(_) => parse::<Decimal>(json).map(Value::from),
        _ => None,
    };
    value
        .map(Some)
        .ok_or_else(|| AppError::bad_input(field, "not a valid cursor"))
}

/// A decoded cursor: the row's sort value (`None`: NULL) and id.
struct Position {
    value: Option<Value>,
    id: Uuid,
}

fn position<E: Identified>(
    field: &str,
    cursor: Option<&str>,
    sort: Option<Sort<E::Column>>,
) -> AppResult<Option<Position>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let cursor = Cursor::decode(field, cursor)?;
    if cursor.order != order_key(sort) {
        return Err(AppError::bad_input(
            field,
            "the cursor belongs to another order",
        ));
    }
    let value = match sort {
        None => None,
        Some(Sort { column, .. }) => {
            let json = cursor.value.unwrap_or(serde_json::Value::Null);
            value_from_json(field, column.def().get_column_type(), json)?
        }
    };
    Ok(Some(Position {
        value,
        id: cursor.id,
    }))
}

/// The rows strictly after (`later`) or before `at` in the list's order: by the sort column,
/// where NULL comes above every value (last ascending, first descending), then by id. Written
/// as a range on the sort column so that an index on (tenant_id, column) serves it.
fn beyond<E: Identified>(sort: Option<Sort<E::Column>>, at: &Position, later: bool) -> Condition {
    let id = E::id_column();
    let id_beyond = if later { id.gt(at.id) } else { id.lt(at.id) };
    let Some(Sort { column, descending }) = sort else {
        return Condition::all().add(id_beyond);
    };
    let above = descending != later;
    let tie = Condition::all()
        .add(column.is_null())
        .add(id_beyond.clone());
    match (&at.value, above) {
        (None, true) => tie,
        (None, false) => Condition::any().add(column.is_not_null()).add(tie),
        (Some(value), true) => {
            let range = Condition::all().add(column.gte(value.clone())).add(
                Condition::any()
                    .add(column.gt(value.clone()))
                    .add(id_beyond),
            );
            if column.def().is_null() {
                Condition::any().add(range).add(column.is_null())
            } else {
                range
            }
        }
        (Some(value), false) => Condition::all().add(column.lte(value.clone())).add(
            Condition::any()
                .add(column.lt(value.clone()))
                .add(id_beyond),
        ),
    }
}

/// `select` in the list's order (`reversed`: backwards), then by id.
fn ordered<E: Identified>(
    select: Select<E>,
    sort: Option<Sort<E::Column>>,
    reversed: bool,
) -> Select<E> {
    let direction = |descending: bool| {
        if descending != reversed {
            Order::Desc
        } else {
            Order::Asc
        }
    };
    let select = match sort {
        // NULL above every value, on every database (SQLite's default is the opposite).
        Some(Sort { column, descending }) if column.def().is_null() => {
            let nulls = if descending != reversed {
                NullOrdering::First
            } else {
                NullOrdering::Last
            };
            select.order_by_with_nulls(column, direction(descending), nulls)
        }
        Some(Sort { column, descending }) => select.order_by(column, direction(descending)),
        None => select,
    };
    select.order_by(E::id_column(), direction(false))
}

fn page_size(field: &str, value: Option<i32>, limits: &Limits) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(AppError::bad_input(field, "must not be negative")),
        Some(n) if n as u64 > limits.max_page_size => Err(AppError::bad_input(
            field,
            format!("must be at most {}", limits.max_page_size),
        )),
        Some(n) => Ok(Some(n as u64)),
    }
}

/// Fetches one page of `select` (already tenant-scoped and filtered) in the order given,
/// then by id. Cursors carry the sort value and id of their row, so a page is a range scan
/// from there (no OFFSET: a deep page costs what the first does) and stays in place when rows
/// are added or removed before it. One row more than the page tells whether another follows;
/// the total is counted only if the client asks for it.
pub async fn paginate<E>(
    db: &DatabaseConnection,
    select: Select<E>,
    order: Option<(E::Column, Order)>,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<E::Model>>
where
    E: Identified,
    E::Model: Sync,
{
    let first = page_size("first", args.first, limits)?;
    let last = page_size("last", args.last, limits)?;
    if first.is_some() && last.is_some() {
        return Err(AppError::bad_input(
            "last",
            "give either first or last, not both",
        ));
    }
    let sort = Sort::of(order);
    let after = position::<E>("after", args.after.as_deref(), sort)?;
    let before = position::<E>("before", args.before.as_deref(), sort)?;
    let mut window = select.clone();
    if let Some(after) = &after {
        window = window.filter(beyond::<E>(sort, after, true));
    }
    if let Some(before) = &before {
        window = window.filter(beyond::<E>(sort, before, false));
    }
    // `last` takes the end of the window: read it backwards, then turn the rows around.
    let backwards = last.is_some();
    let size = last.or(first).unwrap_or(limits.default_page_size);
    let mut rows = ordered(window, sort, backwards)
        .limit(size.saturating_add(1))
        .all(db)
        .await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backwards {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let value = match sort {
                Some(Sort { column, .. }) => Some(value_to_json(row.get(column))?),
                None => None,
            };
            let cursor = Cursor {
                order: order_key(sort),
                value,
                id: E::id_of(&row),
            };
            Ok((cursor.encode(), row))
        })
        .collect::<AppResult<_>>()?;
    Ok(Page {
        items,
        has_previous_page: if backwards { more } else { after.is_some() },
        has_next_page: if backwards { before.is_some() } else { more },
        total_count: Total::deferred(db, select),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            order: "last_name asc".to_owned(),
            value: Some(serde_json::json!("Smith")),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode("after", &cursor.encode()).unwrap(), cursor);
        for bad in ["!!not-base64", "cG9zOng", ""] {
            let err = Cursor::decode("after", bad).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
        }
    }

    #[test]
    fn a_cursor_value_must_be_of_the_columns_type() {
        let when = serde_json::json!("2026-12-02T10:00:00Z");
        let value = value_from_json("after", &ColumnType::TimestampWithTimeZone, when.clone());
        assert_eq!(value_to_json(value.unwrap().unwrap()).unwrap(), when);
        let number = value_from_json("after", &ColumnType::BigInteger, serde_json::json!(42));
        assert_eq!(number.unwrap(), Some(Value::BigInt(Some(42))));
        let null = value_from_json("after", &ColumnType::Integer, serde_json::Value::Null);
        assert_eq!(null.unwrap(), None);
        for (column_type, json) in [
            (ColumnType::Integer, serde_json::json!("1 OR 1=1")),
            (ColumnType::Integer, serde_json::json!(1u64 << 40)),
            (ColumnType::Date, serde_json::json!("yesterday")),
            (ColumnType::Text, serde_json::json!(["a"])),
        ] {
            let err = value_from_json("before", &column_type, json).unwrap_err();
            assert_eq!(err.field(), Some("before"), "{column_type:?}");
        }
    }

    #[test]
    fn slices_default_to_and_are_capped_at_the_page_size() {
        let limits = Limits::default();
        assert_eq!(
            Slice::new(None, None, &limits).unwrap(),
            Slice {
                limit: 100,
                offset: 0
            }
        );
        assert_eq!(Slice::new(Some(5), Some(10), &limits).unwrap().offset, 10);
        assert_eq!(
            Slice::new(Some(101), None, &limits).unwrap_err().field(),
            Some("limit")
        );
        assert_eq!(
            Slice::new(None, Some(-1), &limits).unwrap_err().field(),
            Some("offset")
        );
    }

    #[test]
    fn page_size_is_capped() {
        let limits = Limits::default();
        assert_eq!(page_size("first", Some(100), &limits).unwrap(), Some(100));
        assert!(page_size("first", Some(101), &limits).is_err());
        assert!(page_size("first", Some(-1), &limits).is_err());
    }
}
