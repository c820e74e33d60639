//! The actions a transition runs, in the transition's transaction: create a task or a note, start
//! a process, set a field, convert a document, emit an event.

use chrono::{NaiveDate, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value};
use uuid::Uuid;

use entity::process::instance;

use super::definition::{Action, Transition};
use super::guards::{cel_context, evaluate, record_json, settings_json, to_json};
use super::instances::start_in;
use super::published::latest;
use crate::auth::{Principal, Role};
use crate::calendar::{self, TaskFields};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::{self, Module, Subject};
use crate::news::{self, RelatedRecord};
use crate::records;
use crate::tenancy::TenantScope;

/// Runs a transition's actions in the caller's transaction.
pub(super) async fn run_actions(
    txn: &impl Conn,
    actor: &Principal,
    instance: &instance::Model,
    transition: &Transition,
    input: &Value,
    variables: &Value,
) -> AppResult<()> {
    if transition.actions.is_empty() {
        return Ok(());
    }
    let scope = actor.scope();
    let record = record_json(txn, &scope, instance).await?;
    let related = match (
        instance.record_module.as_deref().and_then(Module::parse),
        instance.record_id,
    ) {
        (Some(module), Some(id)) => Some(RelatedRecord { module, id }),
        _ => None,
    };
    let settings = settings_json(txn, &scope).await?;
    let context = cel_context(&record, variables, input, actor, &settings)?;
    let failed =
        |what: &str, e: String| AppError::bad_input("input", format!("{what} failed: {e}"));
    for action in &transition.actions {
        match action {
            Action::CreateTask {
                subject,
                due_in_days,
                assignee,
                assignee_role,
            } => {
                let subject =
                    text_of(evaluate(subject, &context).map_err(|e| failed("createTask", e))?);
                let owner = match assignee {
                    None if assignee_role.is_some() => {
                        let role = assignee_role
                            .as_deref()
                            .and_then(Role::parse)
                            .unwrap_or(Role::Admin);
                        Some(first_with_role(txn, &scope, role).await?)
                    }
                    None if actor.user_id.is_nil() => Some(instance.started_by),
                    None => None,
                    Some(expr) => Some(user_id_of(
                        &evaluate(expr, &context).map_err(|e| failed("createTask", e))?,
                    )?),
                };
                let fields = TaskFields {
                    subject: Some(subject),
                    due_date: Some(due_in_days.and_then(|d| due_date(Utc::now().date_naive(), d))),
                    related: Some(related),
                    owner_id: owner,
                    ..Default::default()
                };
                calendar::create_task_in(txn, actor, fields).await?;
            }
            Action::StartProcess { key } => {
                let definition = latest(txn, &scope, key).await?.ok_or_else(|| {
                    AppError::bad_input(
                        "transition",
                        format!("startProcess: no process definition '{key}'"),
                    )
                })?;
                start_in(txn, actor, &definition, related, Map::new()).await?;
            }
            Action::SetField { field, value } => {
                let value = to_json(&evaluate(value, &context).map_err(|e| failed("setField", e))?);
                let Some((subject, id)) = subject_of(related) else {
                    return Err(AppError::bad_input(
                        "transition",
                        "setField works on processes about a record with settable fields",
                    ));
                };
                let txn = txn.executor();
                subject.set_field(&txn, actor, id, field, &value).await?;
            }
            Action::CreateNote { title, body } => {
                let Some(record) = related else {
                    return Err(AppError::bad_input(
                        "transition",
                        "createNote: the process is about no record",
                    ));
                };
                let text = |source: &str| -> AppResult<String> {
                    Ok(text_of(
                        evaluate(source, &context).map_err(|e| failed("createNote", e))?,
                    ))
                };
                news::create_in(txn, actor, &text(title)?, &text(body)?, Some(record)).await?;
            }
            Action::Convert { to, status } => {
                let (Some((subject, id)), Some(to)) = (subject_of(related), Module::parse(to))
                else {
                    return Err(AppError::bad_input(
                        "transition",
                        "convert works on processes about a quote or sales order",
                    ));
                };
                let txn = txn.executor();
                (subject.convert(&txn, actor, id, to, status.as_deref())).await?;
            }
            Action::Emit { event } => {
                records::append_event(
                    txn,
                    actor,
                    Module::Processes,
                    instance.id,
                    "emitted",
                    &[event.as_str()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// A CEL result as the text of a task or note: strings as they are, anything else as CEL
/// shows it.
fn text_of(value: cel::Value) -> String {
    match value {
        cel::Value::String(s) => s.to_string(),
        other => format!("{other:?}"),
    }
}

/// A CEL result that must name a user: a UUID string.
fn user_id_of(value: &cel::Value) -> AppResult<Uuid> {
    match value {
        cel::Value::String(s) => Uuid::parse_str(s).ok(),
        _ => None,
    }
    .ok_or_else(|| AppError::bad_input("input", "createTask: the assignee is not a user id"))
}

/// The day a task created `today` is due, `days` later (bounded at publish time).
fn due_date(today: NaiveDate, days: u32) -> Option<NaiveDate> {
    today.checked_add_days(chrono::Days::new(u64::from(days)))
}

/// How a bound process drives the record a process is about, and its id.
fn subject_of(related: Option<RelatedRecord>) -> Option<(&'static dyn Subject, Uuid)> {
    let related = related?;
    Some((modules::subject(related.module)?, related.id))
}

/// The longest-standing active user with `role`, who gets tasks addressed to the role.
async fn first_with_role(txn: &impl Conn, scope: &TenantScope, role: Role) -> AppResult<Uuid> {
    use entity::platform::user;
    let users = scope
        .select::<user::Entity>()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::CreatedAt)
        .all(txn)
        .await?;
    users
        .iter()
        .find(|u| crate::platform::users::roles_of(u).contains(&role))
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::bad_input(
                "transition",
                format!("createTask: no active user has the role {}", role.as_str()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn task_and_note_text_is_the_string_or_what_cel_shows() {
        assert_eq!(
            text_of(cel::Value::String(Arc::new("Call back".into()))),
            "Call back"
        );
        assert_eq!(text_of(cel::Value::Int(3)), "Int(3)");
    }

    #[test]
    fn an_assignee_must_be_a_user_id() {
        let id = Uuid::now_v7();
        let given = cel::Value::String(Arc::new(id.to_string()));
        assert_eq!(user_id_of(&given).unwrap(), id);
        for wrong in [
            cel::Value::String(Arc::new("bob".into())),
            cel::Value::Int(7),
            cel::Value::Null,
        ] {
            let err = user_id_of(&wrong).unwrap_err();
            assert!(matches!(err, AppError::BadInput { .. }), "{err:?}");
        }
    }

    #[test]
    fn due_dates_count_days_and_never_overflow() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 30).unwrap();
        assert_eq!(due_date(today, 0), Some(today));
        assert_eq!(due_date(today, 3), NaiveDate::from_ymd_opt(2027, 1, 2));
        assert_eq!(due_date(NaiveDate::MAX, 1), None);
    }

    #[test]
    fn field_and_conversion_actions_reach_only_modules_a_process_can_drive() {
        crate::registry::install();
        let about = |module| {
            Some(RelatedRecord {
                module,
                id: Uuid::now_v7(),
            })
        };
        for drivable in [
            Module::Tickets,
            Module::Leads,
            Module::Opportunities,
            Module::Quotes,
        ] {
            assert!(subject_of(about(drivable)).is_some(), "{drivable:?}");
        }
        for other in [Module::Accounts, Module::Notes, Module::Processes] {
            assert!(subject_of(about(other)).is_none(), "{other:?}");
        }
        assert!(subject_of(None).is_none());
        let tickets = subject_of(about(Module::Tickets)).unwrap().0;
        assert!(tickets.settable_fields().contains(&"priority"));
        assert!(!tickets.settable_fields().contains(&"status"));
    }
}
