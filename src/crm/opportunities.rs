//! Opportunities (Vtiger's potentials): deals moving through sales stages, each stage with a
//! default probability.

use async_graphql::InputObject;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, DatabaseBackend, DatabaseConnection, DatabaseExecutor, Select};
use uuid::Uuid;

use entity::crm::opportunity::{ActiveModel, Column, Entity, Model};
use entity::crm::{account, contact};

use crate::auth::Principal;
use crate::custom_fields;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, ListFilter, OrderField, RangeFilter, StringFilter, order_by};
use crate::modules::{Module, StatusField, Subject};
use crate::money;
use crate::permissions::Access;
use crate::picklists;
use crate::process::binding::{self, starts_in};
use crate::records::require_owner;
use crate::records::{self, Fields};
use crate::reports::sources::{Computed, FieldKind, Formula};
use crate::sequences;
use crate::validation::required_text;
use crate::validation::{Patch, text_patch};

crate::record!(entity::crm::opportunity, Module::Opportunities, |m| m.name.clone(),
    search: [Name, OpportunityNo]);

pub const FIRST_STAGE: &str = "Prospecting";
pub const DEFAULT_CURRENCY: &str = "USD";

/// Vtiger's default probability of each default sales stage.
pub fn default_probability(stage: &str) -> Option<i32> {
    Some(match stage {
        "Prospecting" => 10,
        "Qualification" => 20,
        "Needs Analysis" => 25,
        "Value Proposition" => 30,
        "Id. Decision Makers" => 40,
        "Perception Analysis" => 50,
        "Proposal or Price Quote" => 65,
        "Negotiation or Review" => 80,
        "Closed Won" => 100,
        "Closed Lost" => 0,
        _ => return None,
    })
}

#[derive(Default)]
pub struct OpportunityFields {
    /// Custom field values by name; `null` removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub name: Option<String>,
    pub account_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub amount: Patch<Decimal>,
    pub currency: Option<String>,
    pub expected_close_date: Patch<NaiveDate>,
    pub sales_stage: Option<String>,
    /// Without it, a stage change takes the stage's default probability.
    pub probability: Option<i32>,
    pub lead_source: Patch<String>,
    pub next_step: Patch<String>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
}

#[derive(InputObject, Default)]
#[graphql(name = "OpportunityFilterInput")]
pub struct OpportunityFilter {
    pub name: Option<StringFilter>,
    pub sales_stage: Option<StringFilter>,
    pub account_id: Option<IdFilter>,
    pub contact_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub amount: Option<RangeFilter<Decimal>>,
    pub expected_close_date: Option<RangeFilter<NaiveDate>>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Custom fields that must equal the given values.
    pub custom_fields: Option<Vec<custom_fields::Condition>>,
}

impl ListFilter<Entity> for OpportunityFilter {
    fn apply(&self, select: Select<Entity>, backend: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::Name, self.name.as_ref());
        select = filters::text(select, Column::SalesStage, self.sales_stage.as_ref());
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
        select = filters::amount(
            select,
            Column::Amount,
            self.amount.as_ref(),
            "filter.amount",
        )?;
        let closing = self.expected_close_date.as_ref();
        select = filters::range(select, Column::ExpectedCloseDate, closing);
        select = filters::range(select, Column::CreatedAt, self.created_at.as_ref());
        custom_fields::filter(
            select,
            backend,
            Column::CustomFields,
            self.custom_fields.as_ref(),
        )
    }
}

/// What a list of opportunities can be sorted by.
// The GraphQL API uses this enum as it is, under the name OpportunityOrderField.
#[derive(Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "OpportunityOrderField")]
pub enum OpportunityOrder {
    Name,
    OpportunityNo,
    Amount,
    ExpectedCloseDate,
    SalesStage,
    Probability,
    CreatedAt,
    UpdatedAt,
}

order_by!(OpportunityOrderBy, OpportunityOrder);

impl OrderField for OpportunityOrder {
    type Entity = Entity;
    fn column(self) -> Column {
        match self {
            OpportunityOrder::Name => Column::Name,
            OpportunityOrder::OpportunityNo => Column::OpportunityNo,
            OpportunityOrder::Amount => Column::Amount,
            OpportunityOrder::ExpectedCloseDate => Column::ExpectedCloseDate,
            OpportunityOrder::SalesStage => Column::SalesStage,
            OpportunityOrder::Probability => Column::Probability,
            OpportunityOrder::CreatedAt => Column::CreatedAt,
            OpportunityOrder::UpdatedAt => Column::UpdatedAt,
        }
    }
}

fn currency(value: &str) -> AppResult<String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::bad_input(
            "currency",
            "must be a three-letter ISO 4217 code",
        ));
    }
    Ok(code)
}

impl Fields<Entity> for OpportunityFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        if let (Some(before), Some(_)) = (before, &fields.sales_stage) {
            let (id, stage) = (before.id, "salesStage");
            binding::refuse_direct_change(db, actor, Module::Opportunities, id, stage).await?;
        }
        let (current, given) = (before.map(|b| &b.custom_fields), fields.custom_fields);
        let module = Module::Opportunities;
        custom_fields::edit(db, scope, module, current, given, &mut row.custom_fields).await?;
        if let Some(name) = fields.name {
            row.name = Set(required_text("name", &name, 255)?);
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
        if let Some(amount) = fields.amount {
            let units = amount.map(|a| money::non_negative_units("amount", a));
            row.amount = Set(units.transpose()?);
        }
        if let Some(code) = fields.currency {
            row.currency = Set(currency(&code)?);
        }
        if let Some(date) = fields.expected_close_date {
            row.expected_close_date = Set(date);
        }
        if let Some(stage) = fields.sales_stage {
            picklists::check(db, scope, "salesStage", "salesStage", Some(&stage)).await?;
            if fields.probability.is_none()
                && let Some(probability) = default_probability(&stage)
            {
                row.probability = Set(probability);
            }
            row.sales_stage = Set(stage);
        }
        if let Some(probability) = fields.probability {
            if !(0..=100).contains(&probability) {
                return Err(AppError::bad_input(
                    "probability",
                    "must be between 0 and 100",
                ));
            }
            row.probability = Set(probability);
        }
        if let Some(source) = fields.lead_source {
            picklists::check(db, scope, "leadSource", "leadSource", source.as_deref()).await?;
            row.lead_source = Set(source);
        }
        if let Some(next_step) = text_patch("nextStep", fields.next_step, 255)? {
            row.next_step = Set(next_step);
        }
        if let Some(owner_id) = fields.owner_id {
            row.owner_id = Set(require_owner(db, scope, owner_id).await?);
        }
        if let Some(description) = text_patch("description", fields.description, 10_000)? {
            row.description = Set(description);
        }
        Ok(())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: OpportunityFields,
) -> AppResult<Model> {
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = create_in(&txn, actor, fields).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates the record inside the caller's transaction (lead conversion uses it).
pub async fn create_in(
    txn: &impl Conn,
    actor: &Principal,
    mut fields: OpportunityFields,
) -> AppResult<Model> {
    actor.require(Module::Opportunities, Access::Write)?;
    if fields.name.is_none() {
        return Err(AppError::bad_input("name", "must not be empty"));
    }
    let scope = actor.scope();
    let now = Utc::now();
    match binding::bound_initial_state(txn, &scope, Module::Opportunities).await? {
        Some(initial) => {
            if fields.sales_stage.as_ref().is_some_and(|s| *s != initial) {
                return Err(starts_in("salesStage", &initial));
            }
            fields.sales_stage = Some(initial);
        }
        None => {
            fields
                .sales_stage
                .get_or_insert_with(|| FIRST_STAGE.to_owned());
        }
    }
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        account_id: Set(None),
        contact_id: Set(None),
        amount: Set(None),
        currency: Set(DEFAULT_CURRENCY.to_owned()),
        expected_close_date: Set(None),
        probability: Set(0),
        lead_source: Set(None),
        next_step: Set(None),
        owner_id: Set(actor.user_id),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(txn, actor, None, &mut row).await?;
    row.opportunity_no = Set(sequences::next_number(txn, &scope, "POT").await?);
    let created = records::insert::<Entity>(txn, actor, row).await?;
    binding::start_for_record(txn, actor, Module::Opportunities, created.id).await?;
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
    let mut fields = OpportunityFields::default();
    match field {
        "nextStep" => fields.next_step = Some(text()),
        "description" => fields.description = Some(text()),
        "probability" => fields.probability = value.as_i64().and_then(|p| i32::try_from(p).ok()),
        "amount" => {
            let amount = match value {
                serde_json::Value::String(s) => s.parse().ok(),
                serde_json::Value::Number(n) => n.to_string().parse().ok(),
                _ => None,
            };
            fields.amount = Some(amount);
        }
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

/// Opportunities are records a bound process may drive.
pub static DECLARATION: records::Records<Entity> = records::Records::driven_by(&OpportunityProcess)
    .filtered_by::<OpportunityFilter>()
    .importable()
    .computing(&[Computed {
        name: "weightedAmount",
        label: "Weighted amount",
        kind: FieldKind::Decimal,
        // Amounts are integers of 1/10 000 units: this rounds down to that unit.
        sql: Formula::Sql("{t}.amount * {t}.probability / 100"),
    }]);

/// How a bound process drives an opportunity: its state is the sales stage, which also sets
/// the stage's default probability.
pub struct OpportunityProcess;

impl Subject for OpportunityProcess {
    fn status(&self) -> StatusField {
        StatusField {
            picklist: "salesStage",
            field: "salesStage",
        }
    }

    fn settable_fields(&self) -> &'static [&'static str] {
        &["nextStep", "description", "probability", "amount"]
    }

    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            let mut changes = ActiveModel {
                sales_stage: Set(state.to_owned()),
                ..Default::default()
            };
            if let Some(probability) = default_probability(state) {
                changes.probability = Set(probability);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_stage_has_a_probability() {
        let (_, stages) = picklists::DEFAULTS
            .iter()
            .find(|(name, _)| *name == "salesStage")
            .unwrap();
        for stage in stages.iter() {
            assert!(default_probability(stage).is_some(), "{stage}");
        }
        assert_eq!(default_probability("Closed Won"), Some(100));
        assert_eq!(default_probability("Our own stage"), None);
    }
}
