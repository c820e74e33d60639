//! Per-request dataloaders: relation fields batch their lookups into one statement per
//! relation, whatever the page size. Every loader is built on the caller's tenant scope, and
//! names the module it reads: `ContextExt::loader` refuses it (FORBIDDEN) to a caller whose
//! roles may not read that module, so no relation resolver checks access by hand.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::dataloader::Loader;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use entity::calendar::{event, event_invitee, task};
use entity::crm::{account, contact, opportunity};
use entity::news::{comment, note};
use entity::payroll::{additional_pay, salary_assignment};
use entity::platform::user;
use entity::sales::{document_line, tax_class};
use entity::support::ticket;

use super::batch::Batcher;
use crate::error::AppError;
use crate::modules::Module;
use crate::records::{self, Record};
use crate::tenancy::{Identified, TenantScope};

/// Which rows of an entity a loader may return, and the module whose read right guards them:
/// the live records of a module, or for other rows, `None` when every signed-in user of the
/// tenant may see them (users, tax classes) or when they are read only through a parent the
/// caller has already read (the lines of a document).
pub trait ReadAs: Identified {
    const MODULE: Option<Module>;
    fn base(scope: &TenantScope) -> Select<Self>;
}

impl<E: Record> ReadAs for E {
    const MODULE: Option<Module> = Some(E::MODULE);
    fn base(scope: &TenantScope) -> Select<E> {
        records::live::<E>(scope)
    }
}

macro_rules! read_as {
    ($($entity:path => $module:expr),* $(,)?) => {
        $(impl ReadAs for $entity {
            const MODULE: Option<Module> = $module;
            fn base(scope: &TenantScope) -> Select<Self> {
                scope.select::<Self>()
            }
        })*
    };
}

read_as! {
    user::Entity => None,
    comment::Entity => Some(Module::Notes),
    event_invitee::Entity => Some(Module::Calendar),
    tax_class::Entity => None,
    document_line::Entity => None,
    salary_assignment::Entity => Some(Module::Payroll),
    additional_pay::Entity => Some(Module::Payroll),
}

/// A loader of the caller's tenant, and the module a caller must be allowed to read to use it.
pub trait GuardedLoader: Loader<Uuid, Error = async_graphql::Error> {
    const MODULE: Option<Module>;
    fn new(db: &DatabaseConnection, scope: &TenantScope) -> Self;
}

impl<E: ReadAs> GuardedLoader for ById<E>
where
    E::Model: Clone + Send + Sync + 'static,
{
    const MODULE: Option<Module> = <E as ReadAs>::MODULE;
    fn new(db: &DatabaseConnection, scope: &TenantScope) -> Self {
        ById {
            db: db.clone(),
            base: E::base(scope),
        }
    }
}

impl<E: ReadAs, G: Grouping<E>> GuardedLoader for Children<E, G>
where
    E::Model: Clone + Send + Sync + 'static,
{
    const MODULE: Option<Module> = <E as ReadAs>::MODULE;
    fn new(db: &DatabaseConnection, scope: &TenantScope) -> Self {
        Children {
            db: db.clone(),
            base: E::base(scope),
            grouping: PhantomData,
        }
    }
}

/// Demand is the quantity on open sales orders: reading it reads sales orders.
impl GuardedLoader for DemandOfProduct {
    const MODULE: Option<Module> = Some(Module::SalesOrders);
    fn new(db: &DatabaseConnection, scope: &TenantScope) -> Self {
        DemandOfProduct {
            db: db.clone(),
            scope: *scope,
        }
    }
}

/// The loaders of one request of a signed-in caller, each made the first time a field asks
/// for it: a request pays only for the relations it selects.
pub struct Loaders {
    db: DatabaseConnection,
    scope: TenantScope,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, scope: &TenantScope) -> Self {
        Loaders {
            db: db.clone(),
            scope: *scope,
            made: Mutex::default(),
        }
    }

    /// The request's loader of kind `L`.
    pub fn get<L: GuardedLoader>(&self) -> Result<Arc<Batcher<Uuid, L>>, AppError> {
        let made = self
            .made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(TypeId::of::<L>())
            .or_insert_with(|| Arc::new(Batcher::new(L::new(&self.db, &self.scope))))
            .clone();
        made.downcast::<Batcher<Uuid, L>>()
            .map_err(|_| AppError::internal("a loader stored under another type"))
    }
}

/// Records by id, from a base selection (live records only, or all users).
pub struct ById<E: Identified> {
    db: DatabaseConnection,
    base: Select<E>,
}

impl<E> Loader<Uuid> for ById<E>
where
    E: Identified,
    E::Model: Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, Self::Error> {
        let rows = self
            .base
            .clone()
            .filter(E::id_column().is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|m| (E::id_of(&m), m)).collect())
    }
}

/// A one-to-many relation: which column of `E` points at the parent.
pub trait Grouping<E: Identified>: Send + Sync + 'static {
    fn column() -> E::Column;
    fn order() -> E::Column;
    fn key(model: &E::Model) -> Option<Uuid>;
}

/// At most this many children of one parent come with it (the first in the relation's order);
/// the module's own list, which pages and filters, reaches the rest.
pub const CHILDREN_CAP: u64 = 100;

/// The live children of each parent id, at most [`CHILDREN_CAP`] each.
pub struct Children<E: Identified, G> {
    db: DatabaseConnection,
    base: Select<E>,
    grouping: PhantomData<G>,
}

impl<E, G> Loader<Uuid> for Children<E, G>
where
    E: Identified,
    E::Model: Clone + Send + Sync + 'static,
    G: Grouping<E>,
{
    type Value = Vec<E::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<E::Model>>, Self::Error> {
        // Rank the children within each parent in the database, so that a parent with a
        // million children costs no more than one with a hundred.
        let ranked = self
            .base
            .clone()
            .filter(G::column().is_in(keys.iter().copied()))
            .select_only()
            .column(E::id_column())
            .expr_as(
                Expr::cust_with_exprs(
                    // sea-query numbers placeholders for PostgreSQL only.
                    match self.db.get_database_backend() {
                        DbBackend::Postgres => {
                            "ROW_NUMBER() OVER (PARTITION BY $1 ORDER BY $2, $3)"
                        }
                        _ => "ROW_NUMBER() OVER (PARTITION BY ? ORDER BY ?, ?)",
                    },
                    [
                        Expr::col(G::column()),
                        Expr::col(G::order()),
                        Expr::col(E::id_column()),
                    ],
                ),
                "child_rank",
            )
            .into_query();
        let capped = Query::select()
            .column(("ranked", E::id_column()))
            .from_subquery(ranked, "ranked")
            .and_where(Expr::col(("ranked", "child_rank")).lte(CHILDREN_CAP))
            .to_owned();
        let rows = self
            .base
            .clone()
            .filter(E::id_column().in_subquery(capped))
            .order_by_asc(G::order())
            .order_by_asc(E::id_column())
            .all(&self.db)
            .await
            .map_err(AppError::from)?;
        let mut groups: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
        for row in rows {
            if let Some(key) = G::key(&row) {
                groups.entry(key).or_default().push(row);
            }
        }
        Ok(groups)
    }
}

pub struct AssignmentsOfEmployee;
impl Grouping<salary_assignment::Entity> for AssignmentsOfEmployee {
    fn column() -> salary_assignment::Column {
        salary_assignment::Column::EmployeeId
    }
    fn order() -> salary_assignment::Column {
        salary_assignment::Column::EffectiveFrom
    }
    fn key(model: &salary_assignment::Model) -> Option<Uuid> {
        Some(model.employee_id)
    }
}

pub struct AdditionalPayOfEmployee;
impl Grouping<additional_pay::Entity> for AdditionalPayOfEmployee {
    fn column() -> additional_pay::Column {
        additional_pay::Column::EmployeeId
    }
    fn order() -> additional_pay::Column {
        additional_pay::Column::StartsOn
    }
    fn key(model: &additional_pay::Model) -> Option<Uuid> {
        Some(model.employee_id)
    }
}

pub struct ContactsOfAccount;
impl Grouping<contact::Entity> for ContactsOfAccount {
    fn column() -> contact::Column {
        contact::Column::AccountId
    }
    fn order() -> contact::Column {
        contact::Column::LastName
    }
    fn key(model: &contact::Model) -> Option<Uuid> {
        model.account_id
    }
}

pub struct OpportunitiesOfAccount;
impl Grouping<opportunity::Entity> for OpportunitiesOfAccount {
    fn column() -> opportunity::Column {
        opportunity::Column::AccountId
    }
    fn order() -> opportunity::Column {
        opportunity::Column::ExpectedCloseDate
    }
    fn key(model: &opportunity::Model) -> Option<Uuid> {
        model.account_id
    }
}

pub struct TicketsOfContact;
impl Grouping<ticket::Entity> for TicketsOfContact {
    fn column() -> ticket::Column {
        ticket::Column::ContactId
    }
    fn order() -> ticket::Column {
        ticket::Column::CreatedAt
    }
    fn key(model: &ticket::Model) -> Option<Uuid> {
        model.contact_id
    }
}

pub struct TicketsOfAccount;
impl Grouping<ticket::Entity> for TicketsOfAccount {
    fn column() -> ticket::Column {
        ticket::Column::AccountId
    }
    fn order() -> ticket::Column {
        ticket::Column::CreatedAt
    }
    fn key(model: &ticket::Model) -> Option<Uuid> {
        model.account_id
    }
}

pub struct NotesOfRecord;
impl Grouping<note::Entity> for NotesOfRecord {
    fn column() -> note::Column {
        note::Column::RelatedId
    }
    fn order() -> note::Column {
        note::Column::CreatedAt
    }
    fn key(model: &note::Model) -> Option<Uuid> {
        model.related_id
    }
}

pub struct CommentsOfRecord;
impl Grouping<comment::Entity> for CommentsOfRecord {
    fn column() -> comment::Column {
        comment::Column::RelatedId
    }
    fn order() -> comment::Column {
        comment::Column::CreatedAt
    }
    fn key(model: &comment::Model) -> Option<Uuid> {
        Some(model.related_id)
    }
}

pub struct InviteesOfEvent;
impl Grouping<event_invitee::Entity> for InviteesOfEvent {
    fn column() -> event_invitee::Column {
        event_invitee::Column::EventId
    }
    fn order() -> event_invitee::Column {
        event_invitee::Column::Id
    }
    fn key(model: &event_invitee::Model) -> Option<Uuid> {
        Some(model.event_id)
    }
}

pub struct EventsOfRecord;
impl Grouping<event::Entity> for EventsOfRecord {
    fn column() -> event::Column {
        event::Column::RelatedId
    }
    fn order() -> event::Column {
        event::Column::StartAt
    }
    fn key(model: &event::Model) -> Option<Uuid> {
        model.related_id
    }
}

pub struct TasksOfRecord;
impl Grouping<task::Entity> for TasksOfRecord {
    fn column() -> task::Column {
        task::Column::RelatedId
    }
    fn order() -> task::Column {
        task::Column::DueDate
    }
    fn key(model: &task::Model) -> Option<Uuid> {
        model.related_id
    }
}

pub struct ChildAccounts;
impl Grouping<account::Entity> for ChildAccounts {
    fn column() -> account::Column {
        account::Column::ParentId
    }
    fn order() -> account::Column {
        account::Column::Name
    }
    fn key(model: &account::Model) -> Option<Uuid> {
        model.parent_id
    }
}

pub struct LinesOfDocument;
impl Grouping<document_line::Entity> for LinesOfDocument {
    fn column() -> document_line::Column {
        document_line::Column::DocumentId
    }
    fn order() -> document_line::Column {
        document_line::Column::Position
    }
    fn key(model: &document_line::Model) -> Option<Uuid> {
        Some(model.document_id)
    }
}

/// What open sales orders ask of each product (`product.quantityInDemand`).
pub struct DemandOfProduct {
    db: DatabaseConnection,
    scope: TenantScope,
}

impl Loader<Uuid> for DemandOfProduct {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, Self::Error> {
        Ok(crate::sales::products::quantity_in_demand(&self.db, &self.scope, keys).await?)
    }
}
