//! Built-in process templates, published into every tenant as version 1 of their key. Each
//! is bound to its module and freely editable: publishing a new version of the key replaces
//! it (and may drop the binding).

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, QueryStatementBuilder};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::platform::tenant;
use entity::process::definition;

use super::definition::validate;
use crate::db::Conn;
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
        // A pay run's life: calculated (again until approved), approved by a manager, paid.
        // The pay run mutations do each step's work and then move this process.
        (
            "payroll-run",
            "Payroll run",
            json!({
                "binding": "payroll",
                "states": [
                    { "name": "Draft", "initial": true },
                    { "name": "Calculated" },
                    { "name": "Approved" },
                    { "name": "Paid", "final": true },
                    { "name": "Cancelled", "final": true }
                ],
                "transitions": [
                    { "name": "calculate", "from": ["Draft"], "to": "Calculated" },
                    { "name": "recalculate", "from": ["Calculated"], "to": "Calculated" },
                    { "name": "approve", "from": ["Calculated"], "to": "Approved", "roles": ["manager"] },
                    { "name": "pay", "from": ["Approved"], "to": "Paid" },
                    { "name": "cancel", "from": ["Draft", "Calculated", "Approved"], "to": "Cancelled" }
                ],
                "timers": [
                    { "state": "Calculated", "after": "PT48H", "slaBreach": true }
                ]
            }),
        ),
        // Order-to-cash runs across three documents, each with its own bound process: the
        // accepted quote becomes a sales order, the delivered order an issued invoice, and
        // payments settle the invoice.
        (
            "order-to-cash-quote",
            "Order to cash: quote",
            json!({
                "binding": "quotes",
                "states": [
                    { "name": "Draft", "initial": true },
                    { "name": "Sent" },
                    { "name": "Accepted", "final": true },
                    { "name": "Rejected", "final": true },
                    { "name": "Expired", "final": true }
                ],
                "transitions": [
                    { "name": "send", "from": ["Draft"], "to": "Sent", "roles": ["sales", "manager"] },
                    { "name": "accept", "from": ["Sent"], "to": "Accepted", "roles": ["sales", "manager"],
                      "actions": [
                          { "convert": { "to": "salesOrders" } },
                          { "emit": { "event": "quote_accepted" } }
                      ] },
                    { "name": "reject", "from": ["Sent"], "to": "Rejected", "roles": ["sales", "manager"] },
                    { "name": "expire", "from": ["Sent"], "to": "Expired" },
                    { "name": "revise", "from": ["Sent", "Rejected", "Expired"], "to": "Draft", "roles": ["sales", "manager"] }
                ],
                "timers": [
                    { "state": "Sent", "at": "record.validUntil", "transition": "expire" }
                ]
            }),
        ),
        (
            "order-to-cash-order",
            "Order to cash: sales order",
            json!({
                "binding": "salesOrders",
                "states": [
                    { "name": "Created", "initial": true },
                    { "name": "Approved" },
                    { "name": "Delivered", "final": true },
                    { "name": "Cancelled", "final": true }
                ],
                "transitions": [
                    { "name": "approve", "from": ["Created"], "to": "Approved", "roles": ["sales", "manager"] },
                    { "name": "deliver", "from": ["Approved"], "to": "Delivered",
                      "actions": [ { "convert": { "to": "invoices", "status": "Issued" } } ] },
                    { "name": "cancel", "from": ["Created", "Approved"], "to": "Cancelled", "roles": ["sales", "manager"] }
                ]
            }),
        ),
        (
            "order-to-cash-invoice",
            "Order to cash: invoice",
            json!({
                "binding": "invoices",
                "states": [
                    { "name": "Created", "initial": true },
                    { "name": "Issued" },
                    { "name": "Partially Paid" },
                    { "name": "Paid", "final": true },
                    { "name": "Cancelled", "final": true }
                ],
                "transitions": [
                    { "name": "issue", "from": ["Created"], "to": "Issued" },
                    { "name": "payPart", "from": ["Issued"], "to": "Partially Paid" },
                    { "name": "pay", "from": ["Issued", "Partially Paid"], "to": "Paid",
                      "actions": [ { "emit": { "event": "invoice_paid" } } ] },
                    { "name": "cancel", "from": ["Created", "Issued"], "to": "Cancelled", "roles": ["sales", "manager"] }
                ],
                "timers": [
                    { "state": "Issued", "at": "record.dueDate", "slaBreach": true },
                    { "state": "Partially Paid", "at": "record.dueDate", "slaBreach": true }
                ]
            }),
        ),
        (
            "procure-to-pay",
            "Procure to pay",
            json!({
                "binding": "purchaseOrders",
                "states": [
                    { "name": "Created", "initial": true },
                    { "name": "Approved" },
                    { "name": "Ordered" },
                    { "name": "Received" },
                    { "name": "Billed" },
                    { "name": "Paid", "final": true },
                    { "name": "Cancelled", "final": true }
                ],
                "transitions": [
                    { "name": "approve", "from": ["Created"], "to": "Approved", "roles": ["sales", "manager"],
                      "guard": "!has(settings.purchaseApprovalLimit) || record.grandTotal <= settings.purchaseApprovalLimit || 'manager' in user.roles || 'admin' in user.roles",
                      "guardMessage": "the order is above the purchase approval limit: a manager must approve it" },
                    { "name": "order", "from": ["Approved"], "to": "Ordered", "roles": ["sales", "manager"] },
                    { "name": "receive", "from": ["Ordered"], "to": "Received" },
                    { "name": "bill", "from": ["Received"], "to": "Billed", "roles": ["manager"] },
                    { "name": "pay", "from": ["Billed"], "to": "Paid", "roles": ["manager"] },
                    { "name": "cancel", "from": ["Created", "Approved", "Ordered"], "to": "Cancelled", "roles": ["manager"] }
                ]
            }),
        ),
    ]
}

/// Publishes the templates a tenant does not have yet, in the caller's transaction.
pub async fn install(txn: &impl Conn, scope: &TenantScope, published_by: Uuid) -> AppResult<()> {
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

/// Gives every existing tenant the templates it lacks (run with the migrations). One query
/// finds the tenants that lack any (after an upgrade that adds one: all; otherwise none), so
/// that a start costs the same for ten tenants or ten thousand.
pub async fn install_everywhere(db: &impl Conn) -> AppResult<()> {
    let keys: Vec<&str> = templates().iter().map(|(key, _, _)| *key).collect();
    let templates_present = Query::select()
        .expr(Func::count_distinct(Expr::col((
            definition::Entity,
            definition::Column::Key,
        ))))
        .from(definition::Entity)
        .and_where(
            Expr::col((definition::Entity, definition::Column::TenantId))
                .equals((tenant::Entity, tenant::Column::Id)),
        )
        .and_where(Expr::col((definition::Entity, definition::Column::Key)).is_in(keys.clone()))
        .to_owned();
    // The one query across tenants: which ones to serve, each then in its own scope.
    let lacking: Vec<Uuid> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .filter(
            Expr::SubQuery(None, Box::new(templates_present.into_sub_query_statement()))
                .lt(keys.len() as i64),
        )
        .into_tuple()
        .all(db)
        .await?;
    for tenant_id in lacking {
        install(db, &TenantScope::new(tenant_id), Uuid::nil()).await?;
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
