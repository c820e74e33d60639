//! Picklists: per-tenant lists of allowed values (industry, lead source, …), seeded with
//! Vtiger's defaults the first time a tenant uses them. Admins add, rename, reorder and retire
//! values; a retired value stays on old records but cannot be chosen again.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::platform::picklist_value;

use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// Every picklist a tenant has, with Vtiger's default values.
pub const DEFAULTS: &[(&str, &[&str])] = &[
    (
        "industry",
        &[
            "Apparel",
            "Banking",
            "Biotechnology",
            "Chemicals",
            "Communications",
            "Construction",
            "Consulting",
            "Education",
            "Electronics",
            "Energy",
            "Engineering",
            "Entertainment",
            "Environmental",
            "Finance",
            "Food & Beverage",
            "Government",
            "Healthcare",
            "Hospitality",
            "Insurance",
            "Machinery",
            "Manufacturing",
            "Media",
            "Not For Profit",
            "Recreation",
            "Retail",
            "Shipping",
            "Technology",
            "Telecommunications",
            "Transportation",
            "Utilities",
            "Other",
        ],
    ),
    (
        "accountType",
        &[
            "Analyst",
            "Competitor",
            "Customer",
            "Integrator",
            "Investor",
            "Partner",
            "Press",
            "Prospect",
            "Reseller",
            "Other",
        ],
    ),
    (
        "leadSource",
        &[
            "Cold Call",
            "Existing Customer",
            "Self Generated",
            "Employee",
            "Partner",
            "Public Relations",
            "Direct Mail",
            "Conference",
            "Trade Show",
            "Web Site",
            "Word of mouth",
            "Other",
        ],
    ),
    (
        "leadStatus",
        &[
            "Attempted to Contact",
            "Cold",
            "Contact in Future",
            "Contacted",
            "Hot",
            "Junk Lead",
            "Lost Lead",
            "Not Contacted",
            "Pre Qualified",
            "Qualified",
            "Warm",
        ],
    ),
    (
        "rating",
        &[
            "Acquired",
            "Active",
            "Market Failed",
            "Project Cancelled",
            "Shutdown",
        ],
    ),
    (
        "salesStage",
        &[
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal or Price Quote",
            "Negotiation or Review",
            "Closed Won",
            "Closed Lost",
        ],
    ),
    ("ticketPriority", &["Low", "Normal", "High", "Urgent"]),
    (
        "quoteStatus",
        &["Draft", "Sent", "Accepted", "Rejected", "Expired"],
    ),
    (
        "salesOrderStatus",
        &["Created", "Approved", "Delivered", "Cancelled"],
    ),
    (
        "invoiceStatus",
        &["Created", "Issued", "Partially Paid", "Paid", "Cancelled"],
    ),
    (
        "purchaseOrderStatus",
        &[
            "Created",
            "Approved",
            "Ordered",
            "Received",
            "Billed",
            "Paid",
            "Cancelled",
        ],
    ),
    ("ticketSeverity", &["Minor", "Major", "Feature", "Critical"]),
    (
        "ticketCategory",
        &["Big Problem", "Small Problem", "Other Problem"],
    ),
    (
        "ticketStatus",
        &["Open", "In Progress", "Wait For Response", "Closed"],
    ),
    ("faqCategory", &["General"]),
    (
        "payRunStatus",
        &["Draft", "Calculated", "Approved", "Paid", "Cancelled"],
    ),
    ("faqStatus", &["Draft", "Published", "Obsolete"]),
    ("eventType", &["Meeting", "Call"]),
    ("eventStatus", &["Planned", "Held", "Not Held"]),
    ("taskPriority", &["High", "Medium", "Low"]),
    (
        "taskStatus",
        &[
            "Not Started",
            "In Progress",
            "Completed",
            "Pending Input",
            "Deferred",
            "Planned",
        ],
    ),
];

fn defaults_of(picklist: &str) -> AppResult<&'static [&'static str]> {
    DEFAULTS
        .iter()
        .find(|(name, _)| *name == picklist)
        .map(|(_, values)| *values)
        .ok_or_else(|| AppError::bad_input("picklist", format!("no picklist named '{picklist}'")))
}

/// Seeds the defaults on first use; concurrent first uses insert each value once.
async fn ensure_seeded(db: &impl Conn, scope: &TenantScope, picklist: &str) -> AppResult<()> {
    let defaults = defaults_of(picklist)?;
    let seeded = scope
        .select::<picklist_value::Entity>()
        .filter(picklist_value::Column::Picklist.eq(picklist))
        .one(db)
        .await?
        .is_some();
    if seeded {
        return Ok(());
    }
    let rows = defaults
        .iter()
        .enumerate()
        .map(|(position, value)| picklist_value::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            picklist: Set(picklist.to_owned()),
            value: Set((*value).to_owned()),
            position: Set(position as i32),
            active: Set(true),
        });
    picklist_value::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                picklist_value::Column::TenantId,
                picklist_value::Column::Picklist,
                picklist_value::Column::Value,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The values of a picklist in display order, retired ones included (they say so).
pub async fn values(
    db: &DatabaseConnection,
    scope: &TenantScope,
    picklist: &str,
) -> AppResult<Vec<picklist_value::Model>> {
    ensure_seeded(db, scope, picklist).await?;
    Ok(scope
        .select::<picklist_value::Entity>()
        .filter(picklist_value::Column::Picklist.eq(picklist))
        .order_by_asc(picklist_value::Column::Position)
        .order_by_asc(picklist_value::Column::Value)
        .all(db)
        .await?)
}

/// Checks that `value`, when given, is an active value of `picklist`.
pub async fn check(
    db: &impl Conn,
    scope: &TenantScope,
    picklist: &str,
    field: &str,
    value: Option<&str>,
) -> AppResult<()> {
    let Some(value) = value else {
        return Ok(());
    };
    ensure_seeded(db, scope, picklist).await?;
    let allowed = scope
        .select::<picklist_value::Entity>()
        .filter(picklist_value::Column::Picklist.eq(picklist))
        .filter(picklist_value::Column::Value.eq(value))
        .filter(picklist_value::Column::Active.eq(true))
        .one(db)
        .await?
        .is_some();
    if allowed {
        Ok(())
    } else {
        Err(AppError::bad_input(
            field,
            format!("'{value}' is not a value of the {picklist} picklist"),
        ))
    }
}

pub async fn add(
    db: &DatabaseConnection,
    actor: &Principal,
    picklist: &str,
    value: &str,
) -> AppResult<picklist_value::Model> {
    actor.require_admin()?;
    let value = required_text("value", value, 200)?;
    let scope = actor.scope();
    let current = values(db, &scope, picklist).await?;
    if current.iter().any(|v| v.value == value) {
        return Err(AppError::bad_input(
            "value",
            "the picklist already has this value",
        ));
    }
    let position = current.iter().map(|v| v.position + 1).max().unwrap_or(0);
    Ok(picklist_value::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        picklist: Set(picklist.to_owned()),
        value: Set(value),
        position: Set(position),
        active: Set(true),
    }
    .insert(db)
    .await?)
}

async fn get(db: &impl Conn, scope: &TenantScope, id: Uuid) -> AppResult<picklist_value::Model> {
    scope
        .by_id::<picklist_value::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("picklist value"))
}

/// Renames a value. Records keep the text they were saved with.
pub async fn rename(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    value: &str,
) -> AppResult<picklist_value::Model> {
    actor.require_admin()?;
    let value = required_text("value", value, 200)?;
    let scope = actor.scope();
    let mut row = get(db, &scope, id).await?.into_active_model();
    row.value = Set(value);
    row.update(db)
        .await
        .map_err(|err| match AppError::from(err) {
            AppError::Conflict(_) => {
                AppError::bad_input("value", "the picklist already has this value")
            }
            other => other,
        })
}

/// Retires (or brings back) a value.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    active: bool,
) -> AppResult<picklist_value::Model> {
    actor.require_admin()?;
    let mut row = get(db, &actor.scope(), id).await?.into_active_model();
    row.active = Set(active);
    Ok(row.update(db).await?)
}

/// Puts the values of a picklist in the given order; `ids` must name each value once.
pub async fn reorder(
    db: &DatabaseConnection,
    actor: &Principal,
    picklist: &str,
    ids: &[Uuid],
) -> AppResult<Vec<picklist_value::Model>> {
    actor.require_admin()?;
    let scope = actor.scope();
    let current = values(db, &scope, picklist).await?;
    let mut wanted: Vec<Uuid> = ids.to_vec();
    wanted.sort();
    let mut existing: Vec<Uuid> = current.iter().map(|v| v.id).collect();
    existing.sort();
    if wanted != existing {
        return Err(AppError::bad_input(
            "ids",
            "give every value of the picklist exactly once",
        ));
    }
    let txn = records::begin_write(db, &actor.scope()).await?;
    for (position, id) in ids.iter().enumerate() {
        scope
            .update::<picklist_value::Entity>()
            .col_expr(picklist_value::Column::Position, (position as i32).into())
            .filter(picklist_value::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    values(db, &scope, picklist).await
}
