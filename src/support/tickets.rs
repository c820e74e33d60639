//! Tickets: complaints and service requests, from opening to resolution. Closing a ticket
//! stamps when it was resolved; reopening clears it.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection, DatabaseExecutor,
    QueryFilter, Select,
};
use uuid::Uuid;

use entity::crm::{account, contact};
use entity::support::ticket::{ActiveModel, Column, Entity, Model};

use crate::auth::Principal;
use crate::custom_fields;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::{Module, StatusField, Subject};
use crate::permissions::Access;
use crate::picklists;
use crate::process::binding::{self, starts_in};
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::reports::sources::{Computed, FieldKind, Formula};
use crate::sequences;
use crate::validation::required_text;
use crate::validation::{Patch, text_patch};

crate::record!(entity::support::ticket, Module::Tickets, |m| m.title.clone(),
    search: [Title, TicketNo]);

pub const OPEN: &str = "Open";
pub const CLOSED: &str = "Closed";

#[derive(Default)]
pub struct TicketFields {
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub title: Option<String>,
    pub description: Patch<String>,
    pub account_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub product: Patch<String>,
    pub priority: Patch<String>,
    pub severity: Patch<String>,
    pub category: Patch<String>,
    pub status: Option<String>,
    /// The user working on it.
    pub owner_id: Option<Uuid>,
    pub resolution: Patch<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "TicketFilterInput")]
pub struct TicketFilter {
    pub title: Option<StringFilter>,
    pub ticket_no: Option<StringFilter>,
    pub status: Option<StringFilter>,
    pub priority: Option<StringFilter>,
    pub severity: Option<StringFilter>,
    pub category: Option<StringFilter>,
    pub account_id: Option<IdFilter>,
    pub contact_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    /// `true`: tickets not closed; `false`: closed ones.
    pub open: Option<bool>,
    pub opened_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<custom_fields::Condition>>,
}

impl ListFilter<Entity> for TicketFilter {
    fn apply(&self, select: Select<Entity>, backend: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::Title, self.title.as_ref());
        select = filters::text(select, Column::TicketNo, self.ticket_no.as_ref());
        select = filters::text(select, Column::Status, self.status.as_ref());
        select = filters::text(select, Column::Priority, self.priority.as_ref());
        select = filters::text(select, Column::Severity, self.severity.as_ref());
        select = filters::text(select, Column::Category, self.category.as_ref());
        let account_id = self.account_id.as_ref();
        select = filters::id(select, Column::AccountId, account_id, "filter.accountId")?;
        let contact_id = self.contact_id.as_ref();
        select = filters::id(select, Column::ContactId, contact_id, "filter.contactId")?;
        select = filters::id(
            select,
            Column::OwnerId,
            self.owner_id.as_ref(),
            "filter.ownerId",
        )?;
        select = match self.open {
            Some(true) => select.filter(Column::Status.ne(CLOSED)),
            Some(false) => select.filter(Column::Status.eq(CLOSED)),
            None => select,
        };
        select = filters::range(select, Column::CreatedAt, self.opened_at.as_ref());
        custom_fields::filter(
            select,
            backend,
            Column::CustomFields,
            self.custom_fields.as_ref(),
        )
    }
}

/// What a list of tickets can be sorted by.
// The GraphQL API uses this enum as it is, under the name TicketOrderField.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "TicketOrderField")]
pub enum TicketOrder {
    TicketNo,
    Title,
    Priority,
    Status,
    #[graphql(name = "OPENED_AT")]
    CreatedAt,
    UpdatedAt,
}

order_by!(TicketOrderBy, TicketOrder);

impl OrderField for TicketOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            TicketOrder::TicketNo => Column::TicketNo,
            TicketOrder::Title => Column::Title,
            TicketOrder::Priority => Column::Priority,
            TicketOrder::Status => Column::Status,
            TicketOrder::CreatedAt => Column::CreatedAt,
            TicketOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

impl Fields<Entity> for TicketFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        if let (Some(before), Some(_)) = (before, &fields.status) {
            binding::refuse_direct_change(db, actor, Module::Tickets, before.id, "status").await?;
        }
        let was_closed = before.is_some_and(|b| b.status == CLOSED);
        let (current, given) = (before.map(|b| &b.custom_fields), fields.custom_fields);
        let module = Module::Tickets;
        custom_fields::edit(db, scope, module, current, given, &mut row.custom_fields).await?;
        if let Some(title) = fields.title {
            row.title = Set(required_text("title", &title, 255)?);
        }
        if let Some(description) = text_patch("description", fields.description, 20_000)? {
            row.description = Set(description);
        }
        if let Some(account_id) = fields.account_id {
            if let Some(id) = account_id {
                records::require_reference::<account::Entity>(db, scope, "accountId", id).await?;
            }
            row.account_id = Set(account_id);
        }
        if let Some(contact_id) = fields.contact_id {
            if let Some(id) = contact_id {
                records::require_reference::<contact::Entity>(db, scope, "contactId", id).await?;
            }
            row.contact_id = Set(contact_id);
        }
        if let Some(product) = text_patch("product", fields.product, 255)? {
            row.product = Set(product);
        }
        for (picklist, field, value, column) in [
            (
                "ticketPriority",
                "priority",
                fields.priority,
                &mut row.priority,
            ),
            (
                "ticketSeverity",
                "severity",
                fields.severity,
                &mut row.severity,
            ),
            (
                "ticketCategory",
                "category",
                fields.category,
                &mut row.category,
            ),
        ] {
            if let Some(value) = value {
                picklists::check(db, scope, picklist, field, value.as_deref()).await?;
                *column = Set(value);
            }
        }
        if let Some(status) = fields.status {
            picklists::check(db, scope, "ticketStatus", "status", Some(&status)).await?;
            let closing = status == CLOSED;
            if closing && !was_closed {
                row.resolved_at = Set(Some(Utc::now()));
            } else if !closing && was_closed {
                row.resolved_at = Set(None);
            }
            row.status = Set(status);
        }
        if let Some(owner_id) = fields.owner_id {
            row.owner_id = Set(require_owner(db, scope, owner_id).await?);
        }
        if let Some(resolution) = text_patch("resolution", fields.resolution, 20_000)? {
            row.resolution = Set(resolution);
        }
        Ok(())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    mut fields: TicketFields,
) -> AppResult<Model> {
    actor.require(Module::Tickets, Access::Write)?;
    if fields.title.is_none() {
        return Err(AppError::bad_input("title", "must not be empty"));
    }
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    // A process bound to tickets decides where a new ticket starts.
    match binding::bound_initial_state(&txn, &scope, Module::Tickets).await? {
        Some(initial) => {
            if fields.status.as_ref().is_some_and(|s| *s != initial) {
                return Err(starts_in("status", &initial));
            }
            fields.status = Some(initial);
        }
        None => {
            fields.status.get_or_insert_with(|| OPEN.to_owned());
        }
    }
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        description: Set(None),
        account_id: Set(None),
        contact_id: Set(None),
        product: Set(None),
        priority: Set(None),
        severity: Set(None),
        category: Set(None),
        owner_id: Set(actor.user_id),
        resolution: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(&txn, actor, None, &mut row).await?;
    row.ticket_no = Set(sequences::next_number(&txn, &scope, "TT").await?);
    let created = records::insert::<Entity>(&txn, actor, row).await?;
    binding::start_for_record(&txn, actor, Module::Tickets, created.id).await?;
    txn.commit().await?;
    Ok(created)
}

/// Sets one field from a process action (`setField`), inside the caller's transaction, with
/// the same validation as an update. The status is the process's own, so it is not settable.
pub async fn set_field_in(
    txn: &impl Conn,
    actor: &Principal,
    id: Uuid,
    field: &str,
    value: &serde_json::Value,
) -> AppResult<()> {
    let text = || value.as_str().map(str::to_owned);
    let mut fields = TicketFields::default();
    match field {
        "title" => fields.title = text(),
        "description" => fields.description = Some(text()),
        "product" => fields.product = Some(text()),
        "priority" => fields.priority = Some(text()),
        "severity" => fields.severity = Some(text()),
        "category" => fields.category = Some(text()),
        "resolution" => fields.resolution = Some(text()),
        _ => {
            return Err(AppError::bad_input(
                "transition",
                format!("setField: '{field}' cannot be set by a process"),
            ));
        }
    }
    let before = records::get::<Entity>(txn, &actor.scope(), id).await?;
    let version = before.version;
    records::edit_in(txn, actor, before, version, fields).await?;
    Ok(())
}

/// Tickets are records a bound process may drive (the built-in `ticket-lifecycle`).
pub static DECLARATION: records::Records<Entity> = records::Records::driven_by(&TicketProcess)
    .filtered_by::<TicketFilter>()
    .computing(&[Computed {
        name: "hoursToResolve",
        label: "Hours to resolve",
        kind: FieldKind::Decimal,
        sql: Formula::HoursBetween("{t}.created_at", "{t}.resolved_at"),
    }]);

/// How a bound process drives a ticket: its state is the ticket's status.
pub struct TicketProcess;

impl Subject for TicketProcess {
    fn status(&self) -> StatusField {
        StatusField {
            picklist: "ticketStatus",
            field: "status",
        }
    }

    fn settable_fields(&self) -> &'static [&'static str] {
        &[
            "title",
            "description",
            "product",
            "priority",
            "severity",
            "category",
            "resolution",
        ]
    }

    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            let changes = ActiveModel {
                status: Set(state.to_owned()),
                resolved_at: Set((state == CLOSED).then(Utc::now)),
                ..Default::default()
            };
            records::change::<Entity>(txn, actor, id, changes)
                .await
                .map(drop)
        })
    }

    fn set_field<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        field: &'a str,
        value: &'a serde_json::Value,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(set_field_in(txn, actor, id, field, value))
    }
}
