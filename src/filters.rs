//! Filters and orders shared by every module's list query: text, ranges, references, custom
//! fields. The GraphQL API takes these types as they are (the names in `#[graphql]` are the
//! schema's), so a module's filter is written once.

use async_graphql::{Enum, ID, InputObject, InputType};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, Select, Value};

use crate::error::AppResult;
use crate::money;
use crate::validation::parse_id;

/// Conditions on a text field; all given conditions must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct StringFilter {
    pub equals: Option<String>,
    /// Case-insensitive substring.
    pub contains: Option<String>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<String>>,
}

/// A point in time, as ranges of it are named in the schema.
pub type Instant = DateTime<Utc>;

/// An inclusive range; either end may be open.
#[derive(InputObject, Clone, Debug, Default)]
#[graphql(concrete(name = "IntRange", params(i32)))]
#[graphql(concrete(name = "DecimalRange", params(Decimal)))]
#[graphql(concrete(name = "DateRange", params(NaiveDate)))]
#[graphql(concrete(name = "DateTimeRange", params(Instant)))]
pub struct RangeFilter<T: InputType> {
    /// At least this (inclusive).
    pub min: Option<T>,
    /// At most this (inclusive).
    pub max: Option<T>,
}

/// Conditions on a reference to another record.
#[derive(InputObject, Clone, Debug, Default)]
#[graphql(name = "IdFilterInput")]
pub struct IdFilter {
    pub equals: Option<ID>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<ID>>,
    /// `true`: no reference; `false`: any reference.
    pub is_null: Option<bool>,
}

#[derive(
    Enum, Clone, Copy, PartialEq, Eq, Default, Debug, serde::Serialize, serde::Deserialize,
)]
#[graphql(name = "OrderDirection")]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl From<Direction> for sea_orm::Order {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Asc => sea_orm::Order::Asc,
            Direction::Desc => sea_orm::Order::Desc,
        }
    }
}

/// A field a list can be sorted by: a module's `…OrderField` enum.
pub trait OrderField: InputType + Copy {
    type Entity: EntityTrait;
    fn column(self) -> <Self::Entity as EntityTrait>::Column;
}

/// Declares `$name`, the GraphQL input that sorts a list by one `$field`, then by id.
macro_rules! order_by {
    ($name:ident, $field:ty) => {
        #[derive(async_graphql::InputObject)]
        pub struct $name {
            pub field: $field,
            #[graphql(default)]
            pub direction: $crate::filters::Direction,
        }

        impl $crate::filters::Sorting for $name {
            type Entity = <$field as $crate::filters::OrderField>::Entity;
            fn sorting(
                &self,
            ) -> (
                <Self::Entity as sea_orm::EntityTrait>::Column,
                sea_orm::Order,
            ) {
                use $crate::filters::OrderField;
                (self.field.column(), self.direction.into())
            }
        }
    };
}
pub(crate) use order_by;

/// A list's sort order, as the column and direction to order by.
pub trait Sorting {
    type Entity: EntityTrait;
    fn sorting(&self) -> (<Self::Entity as EntityTrait>::Column, sea_orm::Order);
}

/// A module's list filter: adds its conditions to a tenant-scoped query.
pub trait ListFilter<E: EntityTrait>: Default {
    fn apply(&self, select: Select<E>, backend: DatabaseBackend) -> AppResult<Select<E>>;
}

/// `text` with LIKE's wildcards (and the escape character) escaped by a backslash.
pub(crate) fn escape_like(text: &str) -> String {
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
    filter: Option<&StringFilter>,
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

pub fn range<E: EntityTrait, T: InputType + Into<Value> + Clone>(
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

/// `field` names the filter in errors about an id that is not one.
pub fn id<E: EntityTrait>(
    mut select: Select<E>,
    column: E::Column,
    filter: Option<&IdFilter>,
    field: &str,
) -> AppResult<Select<E>> {
    let Some(filter) = filter else {
        return Ok(select);
    };
    if let Some(value) = &filter.equals {
        select = select.filter(column.eq(parse_id(field, value)?));
    }
    if let Some(values) = &filter.any_of {
        let ids = values
            .iter()
            .map(|id| parse_id(field, id))
            .collect::<AppResult<Vec<_>>>()?;
        select = select.filter(column.is_in(ids));
    }
    match filter.is_null {
        Some(true) => select = select.filter(column.is_null()),
        Some(false) => select = select.filter(column.is_not_null()),
        None => {}
    }
    Ok(select)
}

/// A range of amounts on a column that stores minor units; `field` names it in errors.
pub fn amount<E: EntityTrait>(
    select: Select<E>,
    column: E::Column,
    filter: Option<&RangeFilter<Decimal>>,
    field: &str,
) -> AppResult<Select<E>> {
    let Some(filter) = filter else {
        return Ok(select);
    };
    let units = |end: &str, amount: &Option<Decimal>| {
        let at = format!("{field}.{end}");
        amount.map(|a| money::to_units(&at, a)).transpose()
    };
    let units = RangeFilter {
        min: units("min", &filter.min)?,
        max: units("max", &filter.max)?,
    };
    Ok(range(select, column, Some(&units)))
}
