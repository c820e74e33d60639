//! Filters shared by every module's list query: text, ranges and references.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select, Value};
use uuid::Uuid;

/// Conditions on a text column; all given conditions must hold.
#[derive(Clone, Debug, Default)]
pub struct TextFilter {
    pub equals: Option<String>,
    /// Case-insensitive substring.
    pub contains: Option<String>,
    pub any_of: Option<Vec<String>>,
}

/// An inclusive range; either end may be open.
#[derive(Clone, Debug)]
pub struct RangeFilter<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// Conditions on a reference (an id column).
#[derive(Clone, Debug, Default)]
pub struct IdFilter {
    pub equals: Option<Uuid>,
    pub any_of: Option<Vec<Uuid>>,
    /// `true`: no reference; `false`: any reference.
    pub is_null: Option<bool>,
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `column` contains `part`, ignoring case (SQLite's LIKE ignores case, PostgreSQL's does not).
pub fn contains_ci<E: EntityTrait>(column: E::Column, part: &str) -> Expr {
    let pattern = format!("%{}%", escape_like(&part.to_lowercase()));
    Expr::expr(Func::lower(Expr::col((E::default(), column))))
        .like(LikeExpr::new(pattern).escape('\\'))
}

pub fn text<E: EntityTrait>(
    mut select: Select<E>,
    column: E::Column,
    filter: Option<&TextFilter>,
) -> Select<E> {
    let Some(filter) = filter else {
        return select;
    };
    if let Some(value) = &filter.equals {
        select = select.filter(column.eq(value.as_str()));
    }
    if let Some(part) = &filter.contains {
        select = select.filter(contains_ci::<E>(column, part));
    }
    if let Some(values) = &filter.any_of {
        select = select.filter(column.is_in(values.iter().map(String::as_str)));
    }
    select
}

pub fn range<E: EntityTrait, T: Into<Value> + Clone>(
    mut select: Select<E>,
    column: E::Column,
    filter: Option<&RangeFilter<T>>,
) -> Select<E> {
    let Some(filter) = filter else {
        return select;
    };
    if let Some(min) = &filter.min {
        select = select.filter(column.gte(min.clone()));
    }
    if let Some(max) = &filter.max {
        select = select.filter(column.lte(max.clone()));
    }
    select
}

pub fn id<E: EntityTrait>(
    mut select: Select<E>,
    column: E::Column,
    filter: Option<&IdFilter>,
) -> Select<E> {
    let Some(filter) = filter else {
        return select;
    };
    if let Some(value) = filter.equals {
        select = select.filter(column.eq(value));
    }
    if let Some(values) = &filter.any_of {
        select = select.filter(column.is_in(values.iter().copied()));
    }
    match filter.is_null {
        Some(true) => select = select.filter(column.is_null()),
        Some(false) => select = select.filter(column.is_not_null()),
        None => {}
    }
    select
}
