//! Custom fields: admins add fields to a module at run time; records keep their values in a
//! JSON object, validated against the definitions, and lists filter on them.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, IdenStatic, IntoActiveModel, QueryFilter, QueryOrder, Select,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use entity::platform::custom_field::{self, Model};

use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// The modules whose records carry custom fields.
pub const MODULES: [Module; 5] = [
    Module::Accounts,
    Module::Contacts,
    Module::Leads,
    Module::Opportunities,
    Module::Tickets,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Decimal,
    Date,
    Boolean,
    Picklist,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Decimal => "decimal",
            Kind::Date => "date",
            Kind::Boolean => "boolean",
            Kind::Picklist => "picklist",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [
            Kind::Text,
            Kind::Number,
            Kind::Decimal,
            Kind::Date,
            Kind::Boolean,
            Kind::Picklist,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

pub struct NewField {
    pub module: Module,
    pub name: String,
    pub label: String,
    pub kind: Kind,
    pub options: Vec<String>,
    pub required: bool,
}

/// Names are the JSON keys clients use: a letter, then letters, digits or `_`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

fn require_custom_module(module: Module) -> AppResult<()> {
    if MODULES.contains(&module) {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "module",
            format!("{} has no custom fields", module.as_str()),
        ))
    }
}

pub async fn define(db: &DatabaseConnection, actor: &Principal, new: NewField) -> AppResult<Model> {
    actor.require_admin()?;
    require_custom_module(new.module)?;
    if !valid_name(&new.name) {
        return Err(AppError::bad_input(
            "name",
            "start with a letter; use letters, digits and _; at most 64 characters",
        ));
    }
    let label = required_text("label", &new.label, 200)?;
    let mut options: Vec<String> = Vec::new();
    for option in &new.options {
        let option = required_text("options", option, 200)?;
        if !options.contains(&option) {
            options.push(option);
        }
    }
    let is_picklist = new.kind == Kind::Picklist;
    if is_picklist == options.is_empty() {
        return Err(AppError::bad_input(
            "options",
            "picklist fields, and only they, need options",
        ));
    }
    let scope = actor.scope();
    let existing = definitions(db, &scope, new.module).await?;
    if existing.iter().any(|f| f.name == new.name) {
        return Err(AppError::bad_input(
            "name",
            "the module already has a field with this name",
        ));
    }
    Ok(custom_field::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        module: Set(new.module.as_str().to_owned()),
        name: Set(new.name),
        label: Set(label),
        kind: Set(new.kind.as_str().to_owned()),
        options: Set(Value::from(options)),
        required: Set(new.required),
        position: Set(existing.len() as i32),
        active: Set(true),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Retires (or brings back) a field; retired fields keep their values but take no new ones.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    active: bool,
) -> AppResult<Model> {
    actor.require_admin()?;
    let field = actor
        .scope()
        .by_id::<custom_field::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("custom field"))?;
    let mut row = field.into_active_model();
    row.active = Set(active);
    Ok(row.update(db).await?)
}

/// The fields of a module, retired ones included, in display order.
pub async fn definitions(
    db: &impl Conn,
    scope: &TenantScope,
    module: Module,
) -> AppResult<Vec<Model>> {
    Ok(scope
        .select::<custom_field::Entity>()
        .filter(custom_field::Column::Module.eq(module.as_str()))
        .order_by_asc(custom_field::Column::Position)
        .all(db)
        .await?)
}

fn check_value(field: &Model, path: &str, value: &Value) -> AppResult<Value> {
    let wrong = |what: &str| AppError::bad_input(path, format!("must be {what}"));
    let kind = Kind::parse(&field.kind).unwrap_or(Kind::Text);
    Ok(match kind {
        Kind::Text => {
            let text = value.as_str().ok_or_else(|| wrong("a string"))?;
            if text.chars().count() > 2000 {
                return Err(wrong("at most 2000 characters"));
            }
            Value::from(text)
        }
        Kind::Number => Value::from(value.as_i64().ok_or_else(|| wrong("a whole number"))?),
        // Decimals travel as strings so that no digit is lost.
        Kind::Decimal => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(wrong("a decimal number")),
            };
            let amount: Decimal = text.trim().parse().map_err(|_| wrong("a decimal number"))?;
            Value::from(amount.normalize().to_string())
        }
        Kind::Date => {
            let text = value.as_str().ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?;
            let date: NaiveDate = text.parse().map_err(|_| wrong("a date (YYYY-MM-DD)"))?;
            Value::from(date.to_string())
        }
        Kind::Boolean => Value::from(value.as_bool().ok_or_else(|| wrong("true or false"))?),
        Kind::Picklist => {
            let text = value.as_str().ok_or_else(|| wrong("a string"))?;
            let allowed = field
                .options
                .as_array()
                .is_some_and(|o| o.iter().any(|v| v == text));
            if !allowed {
                return Err(AppError::bad_input(
                    path,
                    format!("'{text}' is not one of the field's options"),
                ));
            }
            Value::from(text)
        }
    })
}

/// Sets `target` to the custom field values a create or update leaves; leaves it alone on an
/// update that gives none. `before` is the record's current values on update (`None` on create,
/// where the values are always checked so that required fields are enforced).
pub async fn edit(
    db: &impl Conn,
    scope: &TenantScope,
    module: Module,
    before: Option<&Value>,
    given: Option<Map<String, Value>>,
    target: &mut sea_orm::ActiveValue<Value>,
) -> AppResult<()> {
    if before.is_some() && given.is_none() {
        return Ok(());
    }
    let merged = merge(db, scope, module, before, given.unwrap_or_default()).await?;
    *target = sea_orm::ActiveValue::Set(merged);
    Ok(())
}

/// Validates `changes` against the module's active fields and merges them into `current`
/// (`null` removes a value). On create, `current` is `None` and required fields must be given.
pub async fn merge(
    db: &impl Conn,
    scope: &TenantScope,
    module: Module,
    current: Option<&Value>,
    changes: Map<String, Value>,
) -> AppResult<Value> {
    let fields = definitions(db, scope, module).await?;
    let mut values = current
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, value) in changes {
        let path = format!("customFields.{name}");
        let field = fields
            .iter()
            .find(|f| f.name == name && f.active)
            .ok_or_else(|| AppError::bad_input(&path, "no such custom field"))?;
        if value.is_null() {
            values.remove(&name);
        } else {
            values.insert(name, check_value(field, &path, &value)?);
        }
    }
    for field in fields.iter().filter(|f| f.active && f.required) {
        if !values.contains_key(&field.name) {
            return Err(AppError::bad_input(
                format!("customFields.{}", field.name),
                "is required",
            ));
        }
    }
    Ok(Value::Object(values))
}

/// A custom field of the module equals `equals` (a string, number or boolean).
#[derive(async_graphql::InputObject, Clone, Debug)]
#[graphql(name = "CustomFieldFilter")]
pub struct Condition {
    pub name: String,
    pub equals: async_graphql::Json<Value>,
}

/// Adds custom-field conditions to a list query. JSON is read differently by each database.
pub fn filter<E: EntityTrait>(
    mut select: Select<E>,
    backend: DatabaseBackend,
    column: E::Column,
    conditions: Option<&Vec<Condition>>,
) -> AppResult<Select<E>> {
    let table = E::default().table_name().to_owned();
    let column = column.as_str().to_owned();
    for condition in conditions.into_iter().flatten() {
        if !valid_name(&condition.name) {
            return Err(AppError::bad_input(
                "filter.customFields.name",
                "not a custom field name",
            ));
        }
        let as_text = match (&condition.equals.0, backend) {
            (Value::String(s), _) => s.clone(),
            (Value::Bool(b), DatabaseBackend::Sqlite) => if *b { "1" } else { "0" }.to_owned(),
            (Value::Bool(b), _) => b.to_string(),
            (Value::Number(n), _) => n.to_string(),
            _ => {
                return Err(AppError::bad_input(
                    "filter.customFields.equals",
                    "compare with a string, number or boolean",
                ));
            }
        };
        let expr: SimpleExpr = match backend {
            DatabaseBackend::Postgres => Expr::cust_with_values(
                format!(r#"("{table}"."{column}" ->> $1) = $2"#),
                [condition.name.clone(), as_text],
            ),
            _ => Expr::cust_with_values(
                format!(r#"CAST(json_extract("{table}"."{column}", ?) AS TEXT) = ?"#),
                [format!("$.{}", condition.name), as_text],
            ),
        };
        select = select.filter(expr);
    }
    Ok(select)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_json_keys() {
        assert!(valid_name("npwpNumber"));
        assert!(valid_name("tier_2"));
        for bad in ["", "2fast", "has space", "quote'", "a.b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
