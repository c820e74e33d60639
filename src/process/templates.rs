//! Built-in process templates, published into every tenant as version 1 of their key. Each
//! is bound to its module and freely editable: publishing a new version of the key replaces
//! it (and may drop the binding).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::platform::tenant;
use entity::process::definition;

use super::definition::validate;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::platform::tenants::offered;
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

/// What a tenant that has been offered every template has in `tenants.built_in_templates`.
fn all_keys() -> String {
    offered::list(templates().iter().map(|(key, ..)| *key))
}

/// Publishes the templates a tenant has not been offered and does not have, in the caller's
/// transaction, and records that it has been offered them all (so that a start need not
/// look at its definitions again until an upgrade adds a template).
pub async fn install(txn: &impl Conn, scope: &TenantScope, published_by: Uuid) -> AppResult<()> {
    let offered = offered::keys(txn, scope, tenant::Column::BuiltInTemplates).await?;
    let present: Vec<String> = scope
        .select::<definition::Entity>()
        .select_only()
        .column(definition::Column::Key)
        .distinct()
        .into_tuple()
        .all(txn)
        .await?;
    for (key, name, body) in templates() {
        if offered.iter().chain(&present).any(|k| k == key) {
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
    offered::record(txn, scope, tenant::Column::BuiltInTemplates, &all_keys()).await
}

/// Gives every existing tenant the templates it has not been offered (run with the
/// migrations): after an upgrade that adds a template, all; otherwise none.
pub async fn install_everywhere(db: &impl Conn) -> AppResult<()> {
    let column = tenant::Column::BuiltInTemplates;
    for tenant_id in offered::lacking(db, column, &all_keys()).await? {
        install(db, &TenantScope::new(tenant_id), Uuid::nil()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offered_keys_are_every_templates_sorted() {
        let keys = all_keys();
        assert_eq!(keys.split(',').count(), templates().len());
        assert!(keys.split(',').is_sorted(), "{keys}");
    }

    #[test]
    fn every_template_is_a_sound_definition() {
        // Bindings are checked against the registered modules.
        crate::registry::install();
        for (key, _, body) in templates() {
            assert!(
                validate(&body).is_ok(),
                "{key}: {:?}",
                validate(&body).err()
            );
        }
    }
}
