//! What a report can be about: a source is a table of a tenant's records with typed fields,
//! read from the entity's columns, plus the records they refer to one level away.
//!
//! Modules hand their sources to the platform through their declaration
//! ([`crate::modules::Declaration::report_sources`]); nothing here knows a module by name.

use std::sync::OnceLock;

use sea_orm::{ColumnTrait, ColumnType, EntityTrait, IdenStatic, Iterable};

use crate::modules::{self, Module};
use crate::search::camel_case;

/// What a field holds, which says what a report may do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ReportFieldType")]
pub enum FieldKind {
    Text,
    /// A whole number.
    Number,
    /// An exact decimal (money, quantities); columns keep it as 1/10 000 units.
    Decimal,
    Date,
    DateTime,
    Boolean,
    /// The id of a record.
    Id,
}

impl FieldKind {
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldKind::Number | FieldKind::Decimal)
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, FieldKind::Date | FieldKind::DateTime)
    }
}

/// Where a field's value comes from, in SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldSql {
    /// A column of the source's table.
    Column(&'static str),
    /// Computed from the table's columns.
    Computed(Formula),
    /// A custom field's value in the `custom_fields` JSON.
    Custom(String),
}

#[derive(Clone, Debug)]
pub struct Field {
    /// The name reports use: `salesStage`, `customFields.tier`.
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub sql: FieldSql,
    /// The source of the records this field refers to (`accountId` -> `accounts`).
    pub refers_to: Option<&'static str>,
}

/// A field computed from a source's columns, e.g. an opportunity's weighted amount.
pub struct Computed {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub sql: Formula,
}

/// How a computed field is written in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formula {
    /// An expression over the table's columns, each written `{t}.column`; the same on both
    /// databases.
    Sql(&'static str),
    /// The hours from one timestamp to another (each an expression like [`Formula::Sql`]'s),
    /// as a DECIMAL: a ticket's time to resolve; null while either is.
    HoursBetween(&'static str, &'static str),
}

/// A table a report can read.
#[derive(Clone, Debug)]
pub struct Source {
    /// The name reports use: `opportunities`, `invoiceLines`.
    pub name: &'static str,
    pub label: String,
    /// Reading it needs read access to this module (`None`: every user of the tenant, as for
    /// the users that own records).
    pub module: Option<Module>,
    pub table: &'static str,
    pub fields: Vec<Field>,
    /// Whether rows in the recycle bin (`deleted_at` set) are left out.
    pub soft_delete: bool,
    /// A field whose referenced record must exist and be live for a row to count (a line of a
    /// deleted invoice does not).
    pub parent: Option<&'static str>,
    /// Whether the records carry the tenant's custom fields of `module`.
    pub custom_fields: bool,
}

impl Source {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Makes `field` refer to the records of source `parent`, whose live record each row
    /// needs to count (the invoice of an invoice line).
    pub fn part_of(mut self, field: &'static str, parent: &'static str) -> Source {
        if let Some(f) = self.fields.iter_mut().find(|f| f.name == field) {
            f.refers_to = Some(parent);
        }
        self.parent = Some(field);
        self
    }
}

/// Columns reports do not offer: the tenant, bookkeeping and the raw custom field JSON.
const HIDDEN: &[&str] = &["tenant_id", "version", "deleted_at", "custom_fields"];

/// The source of an entity's records: one field per column (`snake_case` column ->
/// `camelCase` field, typed by the column), `…_id` columns referring to the module whose
/// record is so named (`sales_order_id` -> sales orders; `owner_id`, `actor_id` -> users).
pub fn source_of<E: EntityTrait>(
    name: &'static str,
    module: Module,
    computed: &[Computed],
) -> Source {
    let mut has_custom_fields = false;
    let mut soft_delete = false;
    let mut fields: Vec<Field> = Vec::new();
    for column in E::Column::iter() {
        let column_name: &'static str = column.as_str();
        match column_name {
            "custom_fields" => has_custom_fields = true,
            "deleted_at" => soft_delete = true,
            _ => {}
        }
        if HIDDEN.contains(&column_name) {
            continue;
        }
        let Some(kind) = kind_of(column.def().get_column_type()) else {
            continue;
        };
        fields.push(Field {
            name: camel_case(column_name),
            label: label_of(column_name),
            kind,
            sql: FieldSql::Column(column_name),
            refers_to: (kind == FieldKind::Id)
                .then(|| referenced_source(column_name))
                .flatten(),
        });
    }
    fields.extend(computed.iter().map(|c| Field {
        name: c.name.to_owned(),
        label: c.label.to_owned(),
        kind: c.kind,
        sql: FieldSql::Computed(c.sql),
        refers_to: None,
    }));
    Source {
        name,
        label: label_of(&snake_case(name)),
        module: Some(module),
        table: E::default().table_name(),
        fields,
        soft_delete,
        parent: None,
        custom_fields: has_custom_fields && crate::custom_fields::MODULES.contains(&module),
    }
}

fn kind_of(column: &ColumnType) -> Option<FieldKind> {
    Some(match column {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => FieldKind::Text,
        ColumnType::Integer | ColumnType::SmallInteger | ColumnType::TinyInteger => {
            FieldKind::Number
        }
        // Records keep amounts, and only amounts, as BIGINT (see `records::is_amount`).
        ColumnType::BigInteger => FieldKind::Decimal,
        ColumnType::Date => FieldKind::Date,
        ColumnType::TimestampWithTimeZone | ColumnType::DateTime | ColumnType::Timestamp => {
            FieldKind::DateTime
        }
        ColumnType::Boolean => FieldKind::Boolean,
        ColumnType::Uuid => FieldKind::Id,
        _ => return None,
    })
}

/// `sales_stage` -> `Sales stage`.
fn label_of(column: &str) -> String {
    let words = column
        .strip_suffix("_id")
        .unwrap_or(column)
        .replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `salesOrders` -> `sales_orders`.
fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The users that own and change records: every user of the tenant may see who they are.
const USERS: &str = "users";
const USER_COLUMNS: &[&str] = &["owner_id", "actor_id", "started_by", "published_by"];

fn referenced_source(column: &str) -> Option<&'static str> {
    if USER_COLUMNS.contains(&column) {
        return Some(USERS);
    }
    let stem = column.strip_suffix("_id")?;
    Module::ALL
        .into_iter()
        .find(|m| {
            let record = m.record_name().replace(' ', "_");
            stem == record || stem.ends_with(&format!("_{record}"))
        })
        .map(Module::as_str)
}

fn users_source() -> Source {
    let field = |name: &str, column: &'static str, label: &str| Field {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: FieldKind::Text,
        sql: FieldSql::Column(column),
        refers_to: None,
    };
    Source {
        name: USERS,
        label: "Users".into(),
        module: None,
        table: "users",
        fields: vec![
            field("displayName", "display_name", "Name"),
            field("email", "email", "Email"),
        ],
        soft_delete: false,
        parent: None,
        custom_fields: false,
    }
}

static SOURCES: OnceLock<Vec<Source>> = OnceLock::new();

/// Every source, from the registered modules' declarations.
pub fn all() -> &'static [Source] {
    SOURCES.get_or_init(|| {
        let mut sources: Vec<Source> = Module::ALL
            .into_iter()
            .filter_map(|m| modules::declaration(m).ok())
            .flat_map(|d| d.report_sources())
            .collect();
        sources.push(users_source());
        sources
    })
}

pub fn find(name: &str) -> Option<&'static Source> {
    all().iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_columns_refer_to_the_module_their_record_is_named_after() {
        assert_eq!(referenced_source("account_id"), Some("accounts"));
        assert_eq!(referenced_source("converted_account_id"), Some("accounts"));
        assert_eq!(referenced_source("sales_order_id"), Some("salesOrders"));
        assert_eq!(referenced_source("owner_id"), Some("users"));
        assert_eq!(referenced_source("tax_class_id"), None);
        assert_eq!(referenced_source("record_id"), None);
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(label_of("sales_stage"), "Sales stage");
        assert_eq!(label_of("account_id"), "Account");
    }
}
