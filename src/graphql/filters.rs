//! Filter and ordering inputs shared by every list query.

use async_graphql::{Enum, ID, InputObject, Json};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::custom_fields::Condition;
use crate::error::AppResult;
use crate::filters::{IdFilter, RangeFilter, TextFilter};

use super::parse_id;

/// Conditions on a text field; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct StringFilter {
    pub equals: Option<String>,
    /// Case-insensitive substring.
    pub contains: Option<String>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<String>>,
}

impl From<StringFilter> for TextFilter {
    fn from(f: StringFilter) -> Self {
        TextFilter {
            equals: f.equals,
            contains: f.contains,
            any_of: f.any_of,
        }
    }
}

/// Conditions on a reference to another record.
#[derive(InputObject, Default)]
pub struct IdFilterInput {
    pub equals: Option<ID>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<ID>>,
    /// `true`: no reference; `false`: any reference.
    pub is_null: Option<bool>,
}

impl IdFilterInput {
    pub fn into_domain(self, field: &str) -> AppResult<IdFilter> {
        Ok(IdFilter {
            equals: self.equals.map(|id| parse_id(field, &id)).transpose()?,
            any_of: self
                .any_of
                .map(|ids| ids.iter().map(|id| parse_id(field, id)).collect())
                .transpose()?,
            is_null: self.is_null,
        })
    }
}

macro_rules! range_filter {
    ($name:ident, $type:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(InputObject, Default)]
        pub struct $name {
            /// At least this (inclusive).
            pub min: Option<$type>,
            /// At most this (inclusive).
            pub max: Option<$type>,
        }

        impl From<$name> for RangeFilter<$type> {
            fn from(f: $name) -> Self {
                RangeFilter {
                    min: f.min,
                    max: f.max,
                }
            }
        }
    };
}

range_filter!(IntRange, i32, "An inclusive range of whole numbers.");
range_filter!(DecimalRange, Decimal, "An inclusive range of amounts.");
range_filter!(DateRange, NaiveDate, "An inclusive range of dates.");
range_filter!(
    DateTimeRange,
    DateTime<Utc>,
    "An inclusive range of instants."
);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

impl From<OrderDirection> for sea_orm::Order {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => sea_orm::Order::Asc,
            OrderDirection::Desc => sea_orm::Order::Desc,
        }
    }
}

/// A custom field of the module equals `equals` (a string, number or boolean).
#[derive(InputObject)]
pub struct CustomFieldFilter {
    pub name: String,
    pub equals: Json<serde_json::Value>,
}

impl From<CustomFieldFilter> for Condition {
    fn from(f: CustomFieldFilter) -> Self {
        Condition {
            name: f.name,
            equals: f.equals.0,
        }
    }
}
