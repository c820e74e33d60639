//! Relay-style pagination. Cursors are opaque positions in the ordered result, so any order
//! (`orderBy`) pages the same way; the id breaks ties so that the order is total.

use base64::Engine;
use futures_util::future::BoxFuture;
use sea_orm::{
    DatabaseConnection, EntityTrait, Order, PaginatorTrait, QueryOrder, QuerySelect, Select,
};

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

const CURSOR_PREFIX: &str = "pos:";

fn encode_cursor(position: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{position}"))
}

fn decode_cursor(field: &str, cursor: &str) -> AppResult<u64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_PREFIX)?.parse().ok())
        .ok_or_else(|| AppError::bad_input(field, "not a valid cursor"))
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
/// then by id. Paging forward sends only the page's query (one row more tells whether another
/// page follows); the total is counted only if the client asks for it. Paging backward
/// (`last`, `before`) needs the total to place the window, so it counts first.
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
    let after = args
        .after
        .as_deref()
        .map(|c| decode_cursor("after", c))
        .transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|c| decode_cursor("before", c))
        .transpose()?;
    // The first position this page may cover.
    let lowest = after.map_or(0, |a| a.saturating_add(1));
    let mut ordered = select.clone();
    if let Some((column, direction)) = order {
        ordered = ordered.order_by(column, direction);
    }
    let ordered = ordered.order_by(E::id_column(), Order::Asc);

    if last.is_none() && before.is_none() {
        let size = first.unwrap_or(limits.default_page_size);
        // No table has more rows than SQL can count: a cursor past that is past the end.
        let mut rows = if i64::try_from(lowest).is_err() {
            Vec::new()
        } else {
            ordered
                .offset(lowest)
                .limit(size.saturating_add(1))
                .all(db)
                .await?
        };
        let has_next_page = rows.len() as u64 > size;
        rows.truncate(size as usize);
        return Ok(Page {
            items: with_cursors(lowest, rows),
            has_previous_page: lowest > 0,
            has_next_page,
            total_count: Total::deferred(db, select),
        });
    }

    let total_count = select.count(db).await?;
    // The window [start, end) of positions this page covers.
    let highest = before.map_or(total_count, |b| b.min(total_count));
    let (start, end) = match last {
        Some(last) => (highest.saturating_sub(last).max(lowest), highest),
        None => {
            let size = first.unwrap_or(limits.default_page_size);
            (lowest, lowest.saturating_add(size).min(highest))
        }
    };
    let rows = if end > start {
        ordered.offset(start).limit(end - start).all(db).await?
    } else {
        Vec::new()
    };
    Ok(Page {
        items: with_cursors(start, rows),
        has_previous_page: start > 0,
        has_next_page: end < total_count,
        total_count: Total::Known(total_count),
    })
}

fn with_cursors<M>(start: u64, rows: Vec<M>) -> Vec<(String, M)> {
    rows.into_iter()
        .enumerate()
        .map(|(i, m)| (encode_cursor(start.saturating_add(i as u64)), m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(decode_cursor("after", &encode_cursor(42)).unwrap(), 42);
        for bad in ["!!not-base64", "cG9zOng", ""] {
            let err = decode_cursor("after", bad).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
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
