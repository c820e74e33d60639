//! Relay-style cursor pagination over UUID v7 ids (which sort in creation order).

use base64::Engine;
use sea_orm::{
    ColumnTrait, ConnectionTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::config::Limits;
use crate::error::{AppError, AppResult};
use crate::tenancy::TenantOwned;

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
    pub total_count: u64,
}

pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(field: &str, cursor: &str) -> AppResult<Uuid> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
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

/// Fetches one page of `select` (already tenant-scoped and filtered), ordered by id.
pub async fn paginate<E, C>(
    db: &C,
    select: Select<E>,
    args: &PageArgs,
    limits: &Limits,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> AppResult<Page<E::Model>>
where
    E: TenantOwned,
    E::Model: Sync,
    C: ConnectionTrait,
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

    let total_count = select.clone().count(db).await?;
    let id = E::id_column();
    let mut window = select;
    if let Some(after) = after {
        window = window.filter(id.gt(after));
    }
    if let Some(before) = before {
        window = window.filter(id.lt(before));
    }

    let backwards = last.is_some();
    let size = last.or(first).unwrap_or(limits.default_page_size);
    let order = if backwards {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let mut rows = window.order_by(id, order).limit(size + 1).all(db).await?;
    let has_more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backwards {
        rows.reverse();
    }
    let (has_previous_page, has_next_page) = if backwards {
        (has_more, before.is_some())
    } else {
        (after.is_some(), has_more)
    };
    Ok(Page {
        items: rows
            .into_iter()
            .map(|m| (encode_cursor(id_of(&m)), m))
            .collect(),
        has_previous_page,
        has_next_page,
        total_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor("after", &encode_cursor(id)).unwrap(), id);
        let err = decode_cursor("after", "!!not-base64").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }

    #[test]
    fn page_size_is_capped() {
        let limits = Limits::default();
        assert_eq!(page_size("first", Some(100), &limits).unwrap(), Some(100));
        assert!(page_size("first", Some(101), &limits).is_err());
        assert!(page_size("first", Some(-1), &limits).is_err());
    }
}
