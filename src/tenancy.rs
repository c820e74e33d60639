//! Tenant scoping, in exactly one place.
//!
//! Domain modules reach tenant-owned tables only through a [`TenantScope`], which adds the
//! tenant condition to every query it builds. A scope is made from a verified [`Principal`]
//! (or by the operator tooling right after it creates a tenant), never from request arguments.
//!
//! [`Principal`]: crate::auth::Principal

use sea_orm::{ActiveValue, ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};
use uuid::Uuid;

// Records of a module are declared tenant-owned by `record!`; these are the other tables.
use entity::calendar::event_invitee;
use entity::integrations::{
    api_key, idempotency_key, import_job, import_mapping, webhook, webhook_delivery,
};
use entity::news::comment;
use entity::payroll::{
    additional_pay, pay_component, pay_run, payslip, rule_set, salary_assignment, salary_structure,
};
use entity::platform::{
    custom_field, event_log, picklist_value, record_history, role_permission, user,
};
use entity::process::{definition, instance, step, timer};
use entity::reports::{dashboard, report, schedule, snapshot, version};
use entity::sales::{
    currency, document_line, payment, price_book, price_book_entry, quote_link, stock_movement,
    tax_class,
};

/// An entity whose rows belong to one tenant.
pub trait TenantOwned: EntityTrait {
    fn tenant_column() -> Self::Column;
}

/// A tenant-owned entity with a UUID primary key.
pub trait Identified: TenantOwned {
    fn id_column() -> Self::Column;
    fn id_of(model: &Self::Model) -> Uuid;
}

macro_rules! tenant_owned {
    ($($module:ident),* $(,)?) => {$(
        impl TenantOwned for $module::Entity {
            fn tenant_column() -> Self::Column {
                $module::Column::TenantId
            }
        }
    )*};
}

macro_rules! identified {
    ($($module:ident),* $(,)?) => {$(
        impl Identified for $module::Entity {
            fn id_column() -> Self::Column {
                $module::Column::Id
            }
            fn id_of(model: &Self::Model) -> Uuid {
                model.id
            }
        }
    )*};
}

tenant_owned!(
    user,
    picklist_value,
    record_history,
    role_permission,
    comment,
    event_invitee,
    custom_field,
    event_log,
    definition,
    instance,
    step,
    timer,
    stock_movement,
    tax_class,
    currency,
    price_book,
    price_book_entry,
    document_line,
    payment,
    quote_link,
    pay_component,
    salary_structure,
    salary_assignment,
    additional_pay,
    rule_set,
    pay_run,
    payslip,
    api_key,
    webhook,
    webhook_delivery,
    idempotency_key,
    import_job,
    import_mapping,
    report,
    dashboard,
    schedule,
    snapshot,
    version,
);
identified!(
    user,
    picklist_value,
    record_history,
    comment,
    event_invitee,
    custom_field,
    definition,
    instance,
    step,
    timer,
    stock_movement,
    tax_class,
    currency,
    price_book,
    price_book_entry,
    document_line,
    payment,
    quote_link,
    pay_component,
    salary_structure,
    salary_assignment,
    additional_pay,
    rule_set,
    pay_run,
    payslip,
    api_key,
    webhook,
    webhook_delivery,
    import_job,
    import_mapping,
    report,
    dashboard,
    schedule,
    snapshot,
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: Uuid,
}

impl TenantScope {
    pub(crate) fn new(tenant_id: Uuid) -> Self {
        Self { tenant_id }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The value new rows get for their `tenant_id`.
    pub fn owner(&self) -> ActiveValue<Uuid> {
        ActiveValue::Set(self.tenant_id)
    }

    /// All rows of this tenant.
    pub fn select<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::tenant_column().eq(self.tenant_id))
    }

    /// One row by id; another tenant's row is simply not there.
    pub fn by_id<E: Identified>(&self, id: Uuid) -> Select<E> {
        self.select::<E>().filter(E::id_column().eq(id))
    }

    /// A delete limited to this tenant's rows.
    pub fn delete<E: TenantOwned>(&self) -> DeleteMany<E> {
        E::delete_many().filter(E::tenant_column().eq(self.tenant_id))
    }

    /// An update limited to this tenant's rows.
    pub fn update<E: TenantOwned>(&self) -> UpdateMany<E> {
        E::update_many().filter(E::tenant_column().eq(self.tenant_id))
    }
}
