//! The reports every tenant starts with: editable copies, shared with the whole tenant (each
//! still shows only what the viewer's role may read).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::platform::tenant;
use entity::reports::report;

use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::platform::tenants::offered;
use crate::tenancy::TenantScope;

use super::definition::ReportDefinition;

/// `(key, name, description, definition)` of each built-in report.
pub fn reports() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        (
            "pipeline-by-stage",
            "Pipeline by sales stage",
            "Open and closed opportunities per stage: how many, their amount and the amount \
             weighted by probability.",
            json!({
                "kind": "SUMMARY", "source": "opportunities",
                "groupBy": [{ "field": "salesStage" }],
                "aggregates": [
                    { "function": "COUNT" },
                    { "function": "SUM", "field": "amount" },
                    { "function": "SUM", "field": "weightedAmount" }
                ],
                "order": [{ "by": "sum:amount", "direction": "DESC" }]
            }),
        ),
        (
            "won-revenue-by-month",
            "Won revenue by month",
            "Opportunities won, by the month they closed.",
            json!({
                "kind": "SUMMARY", "source": "opportunities",
                "filters": [{ "field": "salesStage", "equals": "Closed Won" }],
                "groupBy": [{ "field": "expectedCloseDate", "bucket": "MONTH" }],
                "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "amount" }]
            }),
        ),
        (
            "leads-by-source-and-status",
            "Leads by source and status",
            "How many leads each source brings, by their status.",
            json!({
                "kind": "MATRIX", "source": "leads",
                "groupBy": [{ "field": "leadSource" }, { "field": "leadStatus" }],
                "aggregates": [{ "function": "COUNT" }]
            }),
        ),
        (
            "tickets-by-status-and-priority",
            "Tickets by status and priority",
            "Open and closed tickets per status and priority, the average hours from opening to \
             resolution, and when the last was resolved.",
            json!({
                "kind": "SUMMARY", "source": "tickets",
                "groupBy": [{ "field": "status" }, { "field": "priority" }],
                "aggregates": [
                    { "function": "COUNT" },
                    { "function": "AVG", "field": "hoursToResolve" },
                    { "function": "MAX", "field": "resolvedAt" }
                ]
            }),
        ),
        (
            "overdue-invoices-aging",
            "Overdue invoices by age",
            "What customers still owe, by how many days the invoice is past its due date.",
            json!({
                "kind": "SUMMARY", "source": "invoices",
                "filters": [
                    { "field": "balance", "min": "0.0001" },
                    { "field": "status", "notEquals": "Cancelled" },
                    { "field": "dueDate", "isNull": false }
                ],
                "groupBy": [{ "field": "dueDate", "bucket": "AGING" }],
                "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "balance" }]
            }),
        ),
        (
            "sales-by-product",
            "Sales by product",
            "Invoiced quantity and net amount per product.",
            json!({
                "kind": "SUMMARY", "source": "invoiceLines",
                "filters": [{ "field": "productId", "isNull": false }],
                "groupBy": [{ "field": "product.name" }],
                "aggregates": [
                    { "function": "SUM", "field": "quantity" },
                    { "function": "SUM", "field": "net" }
                ],
                "order": [{ "by": "sum:net", "direction": "DESC" }]
            }),
        ),
        (
            "sales-by-account",
            "Sales by account",
            "Invoices and their grand total per account.",
            json!({
                "kind": "SUMMARY", "source": "invoices",
                "filters": [{ "field": "status", "notEquals": "Cancelled" }],
                "groupBy": [{ "field": "account.name" }],
                "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "grandTotal" }],
                "order": [{ "by": "sum:grandTotal", "direction": "DESC" }]
            }),
        ),
        (
            "stock-value-by-product",
            "Stock value by product",
            "Quantity in stock and its value at cost, per product.",
            json!({
                "kind": "TABULAR", "source": "products",
                "columns": ["code", "name", "quantityInStock", "costPrice", "stockValue"],
                "filters": [{ "field": "active", "equals": true }],
                "aggregates": [{ "function": "SUM", "field": "stockValue" }],
                "order": [{ "by": "stockValue", "direction": "DESC" }]
            }),
        ),
        (
            "purchase-spend-by-vendor",
            "Purchase spend by vendor",
            "Purchase orders and their grand total per vendor.",
            json!({
                "kind": "SUMMARY", "source": "purchaseOrders",
                "filters": [{ "field": "status", "notEquals": "Cancelled" }],
                "groupBy": [{ "field": "vendor.name" }],
                "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "grandTotal" }],
                "order": [{ "by": "sum:grandTotal", "direction": "DESC" }]
            }),
        ),
        (
            "process-sla-breaches",
            "Process SLA breaches",
            "Process instances that missed their state's deadline, per process and state.",
            json!({
                "kind": "SUMMARY", "source": "processes",
                "filters": [{ "field": "slaBreached", "equals": true }],
                "groupBy": [{ "field": "definitionKey" }, { "field": "state" }],
                "aggregates": [{ "function": "COUNT" }]
            }),
        ),
        (
            "process-time-in-state",
            "Process time in state",
            "How long process instances stay in each state: the median and average hours, and \
             the longest (a stay still going counts until now).",
            json!({
                "kind": "SUMMARY", "source": "processSteps",
                "filters": [{ "field": "entersState", "equals": true }],
                "groupBy": [{ "field": "instance.definitionKey" }, { "field": "toState" }],
                "aggregates": [
                    { "function": "COUNT", "field": "hoursInState" },
                    { "function": "MEDIAN", "field": "hoursInState" },
                    { "function": "AVG", "field": "hoursInState" },
                    { "function": "MAX", "field": "hoursInState" }
                ]
            }),
        ),
        (
            "payroll-cost-by-month",
            "Payroll cost by month and cost centre",
            "Gross pay and the employer's cost of approved and paid pay runs.",
            json!({
                "kind": "SUMMARY", "source": "payslips",
                "filters": [{ "field": "payRun.status", "in": ["Approved", "Paid"] }],
                "groupBy": [
                    { "field": "periodEnd", "bucket": "MONTH" },
                    { "field": "payRun.costCentre" }
                ],
                "aggregates": [
                    { "function": "COUNT" },
                    { "function": "SUM", "field": "gross" },
                    { "function": "SUM", "field": "employerCost" }
                ]
            }),
        ),
    ]
}

/// What a tenant that has been offered every built-in report has in `tenants.built_in_reports`.
fn all_keys() -> String {
    offered::list(reports().iter().map(|(key, ..)| *key))
}

/// Gives the tenant the built-in reports it has not been offered yet, owned by `owner`, in the
/// caller's transaction, and records that it has been offered them all: one it deletes is not
/// given again, one an upgrade adds is.
pub async fn install(txn: &impl Conn, scope: &TenantScope, owner: Uuid) -> AppResult<()> {
    let offered = offered::keys(txn, scope, tenant::Column::BuiltInReports).await?;
    let present: Vec<Option<String>> = scope
        .select::<report::Entity>()
        .select_only()
        .column(report::Column::BuiltIn)
        .filter(report::Column::BuiltIn.is_not_null())
        .into_tuple()
        .all(txn)
        .await?;
    let now = Utc::now();
    for (key, name, description, definition) in reports() {
        if offered
            .iter()
            .chain(present.iter().flatten())
            .any(|k| k == key)
        {
            continue;
        }
        serde_json::from_value::<ReportDefinition>(definition.clone())
            .map_err(|e| AppError::internal(format!("built-in report {key}: {e}")))?;
        let installed = report::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            built_in: Set(Some(key.to_owned())),
            name: Set(name.to_owned()),
            description: Set(Some(description.to_owned())),
            definition: Set(definition),
            sharing: Set("tenant".to_owned()),
            shared_roles: Set(String::new()),
            owner_id: Set(owner),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
        super::saved::keep_version(txn, &installed, owner).await?;
    }
    offered::record(txn, scope, tenant::Column::BuiltInReports, &all_keys()).await
}

/// Offers the built-in reports to every tenant that has not been offered them all (tenants
/// from before reports existed, or before an upgrade added some), with the migrations. One
/// query finds them, so that a start costs the same for ten tenants or ten thousand.
pub async fn install_everywhere(db: &impl Conn) -> AppResult<()> {
    let column = tenant::Column::BuiltInReports;
    for tenant_id in offered::lacking(db, column, &all_keys()).await? {
        install(db, &TenantScope::new(tenant_id), Uuid::nil()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::definition::plan;

    #[test]
    fn every_built_in_report_is_a_sound_definition() {
        crate::registry::install();
        for (key, _, _, body) in reports() {
            let definition: ReportDefinition =
                serde_json::from_value(body).unwrap_or_else(|e| panic!("{key}: {e}"));
            if let Err(problems) = plan(&definition, &Default::default()) {
                panic!("{key}: {problems:?}");
            }
        }
    }
}
