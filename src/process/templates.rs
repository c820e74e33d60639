//! Built-in process templates, published into every tenant as version 1 of their key. Each
//! is bound to its module and freely editable: publishing a new version of the key replaces
//! it (and may drop the binding).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::platform::tenant;
use entity::process::definition;

use super::definition::validate;
use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;

fn all_but(states: &[&str], excluded: &[&str]) -> Value {
    json!(
        states
            .iter()
            .filter(|s| !excluded.contains(s))
            .collect::<Vec<_>>()
    )
}

/// (key, name, body) of every template.
pub fn templates() -> Vec<(&'static str, &'static str, Value)> {
    let stages = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal or Price Quote",
        "Negotiation or Review",
    ];
    let advance: Vec<Value> = [
        "qualify",
        "analyse-needs",
        "propose-value",
        "identify-decision-makers",
        "analyse-perception",
        "quote",
        "negotiate",
    ]
    .iter()
    .zip(stages.windows(2))
    .map(|(name, pair)| json!({ "name": name, "from": [pair[0]], "to": pair[1], "roles": ["sales", "manager"] }))
    .collect();
    let mut pipeline_transitions = advance;
    pipeline_transitions.push(
        json!({ "name": "win", "from": stages, "to": "Closed Won", "roles": ["sales", "manager"] }),
    );
    pipeline_transitions.push(json!({ "name": "lose", "from": stages, "to": "Closed Lost", "roles": ["sales", "manager"] }));
    let mut pipeline_states: Vec<Value> = stages.iter().map(|s| json!({ "name": s })).collect();
    pipeline_states[0]["initial"] = json!(true);
    pipeline_states.push(json!({ "name": "Closed Won", "final": true }));
    pipeline_states.push(json!({ "name": "Closed Lost", "final": true }));

    let lead_open = ["Not Contacted", "Attempted to Contact", "Contacted"];
    vec![
        (
            "lead-qualification",
            "Lead qualification",
            json!({
                "binding": "leads",
                "states": [
                    { "name": "Not Contacted", "initial": true },
                    { "name": "Attempted to Contact" },
                    { "name": "Contacted" },
                    { "name": "Qualified", "final": true },
                    { "name": "Lost Lead", "final": true },
                    { "name": "Junk Lead", "final": true }
                ],
                "transitions": [
                    { "name": "attempt", "from": ["Not Contacted"], "to": "Attempted to Contact" },
                    { "name": "contact", "from": ["Not Contacted", "Attempted to Contact"], "to": "Contacted" },
                    { "name": "qualify", "from": ["Contacted"], "to": "Qualified" },
                    { "name": "lose", "from": lead_open, "to": "Lost Lead" },
                    { "name": "junk", "from": all_but(&lead_open, &[]), "to": "Junk Lead" }
                ]
            }),
        ),
        (
            "opportunity-pipeline",
            "Opportunity pipeline",
            json!({ "binding": "opportunities", "states": pipeline_states, "transitions": pipeline_transitions }),
        ),
        (
            "ticket-lifecycle",
            "Ticket lifecycle",
            json!({
                "binding": "tickets",
                "states": [
                    { "name": "Open", "initial": true },
                    { "name": "In Progress" },
                    { "name": "Wait For Response" },
                    { "name": "Closed", "final": true }
                ],
                "transitions": [
                    { "name": "start", "from": ["Open"], "to": "In Progress" },
                    { "name": "wait", "from": ["In Progress"], "to": "Wait For Response" },
                    { "name": "respond", "from": ["Wait For Response"], "to": "In Progress" },
                    { "name": "close", "from": ["Open", "In Progress", "Wait For Response"], "to": "Closed",
                      "setVariables": { "resolution": "has(input.resolution) ? input.resolution : ''" } },
                    { "name": "reopen", "from": ["Closed"], "to": "In Progress" }
                ],
                "timers": [
                    { "state": "Open", "after": "PT4H", "slaBreach": true }
                ]
            }),
        ),
    ]
}

/// Publishes the templates a tenant does not have yet, in the caller's transaction.
pub async fn install(
    txn: &impl ConnectionTrait,
    scope: &TenantScope,
    published_by: Uuid,
) -> AppResult<()> {
    for (key, name, body) in templates() {
        let exists = scope
            .select::<definition::Entity>()
            .filter(definition::Column::Key.eq(key))
            .one(txn)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let parsed = validate(&body)
            .map_err(|problems| AppError::internal(format!("template {key}: {problems:?}")))?;
        definition::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            key: Set(key.to_owned()),
            version: Set(1),
            name: Set(name.to_owned()),
            body: Set(body),
            bound_module: Set(parsed.binding),
            published_by: Set(published_by),
            published_at: Set(Utc::now()),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Gives every existing tenant the templates it lacks (run with the migrations).
pub async fn install_everywhere(db: &impl ConnectionTrait) -> AppResult<()> {
    for tenant in tenant::Entity::find().all(db).await? {
        install(db, &TenantScope::new(tenant.id), Uuid::nil()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_a_sound_definition() {
        for (key, _, body) in templates() {
            assert!(
                validate(&body).is_ok(),
                "{key}: {:?}",
                validate(&body).err()
            );
        }
    }
}
