//! What guards and expressions see, and how they are evaluated: CEL over `record`, `vars`,
//! `input`, `user` and `settings`.

use chrono::Utc;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use entity::process::instance;

use super::definition::Transition;
use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::records;
use crate::tenancy::TenantScope;

/// What guards and variable expressions see.
pub(super) fn cel_context(
    record: &Value,
    vars: &Value,
    input: &Value,
    actor: &Principal,
    settings: &Value,
) -> AppResult<cel::Context<'static, 'static>> {
    let mut context = cel::Context::default();
    let user = json!({
        "id": actor.user_id.to_string(),
        "roles": actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    });
    for (name, value) in [
        ("record", record),
        ("vars", vars),
        ("input", input),
        ("user", &user),
        ("settings", settings),
    ] {
        context
            .add_variable(name, value.clone())
            .map_err(AppError::internal)?;
    }
    Ok(context)
}

pub(super) fn evaluate(source: &str, context: &cel::Context) -> Result<cel::Value, String> {
    let program = cel::Program::compile(source).map_err(|e| e.to_string())?;
    program.execute(context).map_err(|e| e.to_string())
}

/// A CEL result as JSON, to store in the instance's variables.
pub(super) fn to_json(value: &cel::Value) -> Value {
    use cel::Value as V;
    match value {
        V::Null => Value::Null,
        V::Bool(b) => json!(b),
        V::Int(i) => json!(i),
        V::UInt(u) => json!(u),
        V::Float(f) => json!(f),
        V::String(s) => json!(s.as_str()),
        V::List(items) => Value::Array(items.iter().map(to_json).collect()),
        V::Map(map) => Value::Object(
            map.map
                .iter()
                .map(|(key, value)| {
                    let key = match key {
                        cel::objects::Key::String(s) => s.to_string(),
                        cel::objects::Key::Int(i) => i.to_string(),
                        cel::objects::Key::Uint(u) => u.to_string(),
                        cel::objects::Key::Bool(b) => b.to_string(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
        other => json!(format!("{other:?}")),
    }
}

/// Whether the caller's roles allow a transition.
pub(super) fn role_allows(transition: &Transition, actor: &Principal) -> bool {
    transition.roles.is_empty()
        || actor.has_role(Role::Admin)
        || transition
            .roles
            .iter()
            .filter_map(|r| Role::parse(r))
            .any(|r| actor.has_role(r))
}

/// Guard outcome: `Ok(true)` fire, `Ok(false)` refused, `Err` could not evaluate.
pub(super) fn guard_allows(
    transition: &Transition,
    context: &cel::Context,
) -> Result<bool, String> {
    match &transition.guard {
        None => Ok(true),
        Some(guard) => match evaluate(guard, context)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!("the guard gave {other:?}, not true or false")),
        },
    }
}

pub(super) async fn record_json(
    db: &impl Conn,
    scope: &TenantScope,
    instance: &instance::Model,
) -> AppResult<Value> {
    match (
        instance.record_module.as_deref().and_then(Module::parse),
        instance.record_id,
    ) {
        (Some(module), Some(id)) => records::load_related(db, scope, "recordId", module, id).await,
        _ => Ok(Value::Null),
    }
}

/// The tenant's settings, as guards see them (`settings.purchaseApprovalLimit`).
pub(super) async fn settings_json(txn: &impl Conn, scope: &TenantScope) -> AppResult<Value> {
    let tenant = entity::platform::tenant::Entity::find_by_id(scope.tenant_id())
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("tenant of a verified caller is missing"))?;
    let mut settings = json!({
        "baseCurrency": tenant.base_currency,
        "allowNegativeStock": tenant.allow_negative_stock,
    });
    if let Some(limit) = tenant.purchase_approval_limit {
        settings["purchaseApprovalLimit"] = crate::money::to_number(limit);
    }
    Ok(settings)
}

/// A CEL value as a moment: an RFC 3339 time, or a date meaning midnight UTC.
pub(super) fn moment_of(value: &cel::Value) -> Option<chrono::DateTime<Utc>> {
    match value {
        cel::Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                text.parse::<chrono::NaiveDate>()
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn transition(roles: &[&str], guard: Option<&str>) -> Transition {
        serde_json::from_value(json!({
            "name": "approve",
            "from": ["Draft"],
            "to": "Approved",
            "roles": roles,
            "guard": guard,
        }))
        .unwrap()
    }

    fn caller(roles: &[Role]) -> Principal {
        let mut principal = Principal::system(Uuid::now_v7());
        principal.user_id = Uuid::now_v7();
        principal.roles = roles.to_vec();
        principal
    }

    fn context(record: Value, input: Value, actor: &Principal) -> cel::Context<'static, 'static> {
        let settings = json!({ "purchaseApprovalLimit": 5000 });
        cel_context(&record, &json!({ "tries": 2 }), &input, actor, &settings).unwrap()
    }

    #[test]
    fn roles_limit_who_fires_and_admins_always_may() {
        let open = transition(&[], None);
        let managers = transition(&["manager"], None);
        assert!(role_allows(&open, &caller(&[Role::Viewer])));
        assert!(role_allows(
            &managers,
            &caller(&[Role::Sales, Role::Manager])
        ));
        assert!(!role_allows(&managers, &caller(&[Role::Sales])));
        assert!(role_allows(&managers, &caller(&[Role::Admin])));
    }

    #[test]
    fn guards_see_record_variables_input_user_and_settings() {
        let actor = caller(&[Role::Manager]);
        let ctx = context(json!({ "amount": 7000 }), json!({ "reason": "ok" }), &actor);
        let allows = |guard: &str| guard_allows(&transition(&[], Some(guard)), &ctx);
        assert_eq!(
            allows("record.amount > settings.purchaseApprovalLimit"),
            Ok(true)
        );
        assert_eq!(allows("vars.tries < 2"), Ok(false));
        assert_eq!(allows("input.reason == 'ok'"), Ok(true));
        assert_eq!(allows("'manager' in user.roles"), Ok(true));
        assert_eq!(allows(&format!("user.id == '{}'", actor.user_id)), Ok(true));
        assert_eq!(guard_allows(&transition(&[], None), &ctx), Ok(true));
    }

    #[test]
    fn a_guard_that_is_not_a_boolean_or_fails_is_an_error_not_a_yes() {
        let actor = caller(&[Role::Sales]);
        let ctx = context(json!({ "amount": 1 }), json!({}), &actor);
        let allows = |guard: &str| guard_allows(&transition(&[], Some(guard)), &ctx);
        assert!(allows("record.amount").is_err());
        assert!(allows("input.missing == 1").is_err());
        assert!(allows("record.amount >").is_err());
    }

    #[test]
    fn cel_results_become_json_variables() {
        let ctx = context(json!({}), json!({}), &caller(&[]));
        let value = evaluate("{'n': 1, 'list': [true, 'x', 1.5], 'none': null}", &ctx).unwrap();
        assert_eq!(
            to_json(&value),
            json!({ "n": 1, "list": [true, "x", 1.5], "none": null })
        );
    }

    #[test]
    fn moments_are_rfc_3339_times_or_dates_at_midnight_utc() {
        let text = |s: &str| cel::Value::String(std::sync::Arc::new(s.to_owned()));
        assert_eq!(
            moment_of(&text("2026-12-01T08:30:00+07:00"))
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T01:30:00+00:00"
        );
        assert_eq!(
            moment_of(&text("2026-12-01")).unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(moment_of(&text("next week")), None);
        assert_eq!(moment_of(&cel::Value::Int(1)), None);
    }
}
