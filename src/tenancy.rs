//! Tenant scoping, in exactly one place.
//!
//! Domain services reach tenant-owned tables only through a [`TenantScope`], which adds the
//! tenant condition to every query it builds. A scope is made from a verified [`Principal`]
//! (or by the operator tooling right after it creates a tenant), never from request arguments.
//!
//! [`Principal`]: crate::auth::Principal

use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, Select, UpdateMany};
use uuid::Uuid;

use entity::platform::user;

/// An entity whose rows belong to one tenant.
pub trait TenantOwned: EntityTrait {
    fn tenant_column() -> Self::Column;
    /// The primary key column; ids are UUIDs everywhere.
    fn id_column() -> Self::Column;
}

impl TenantOwned for user::Entity {
    fn tenant_column() -> Self::Column {
        user::Column::TenantId
    }
    fn id_column() -> Self::Column {
        user::Column::Id
    }
}

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
    pub fn by_id<E: TenantOwned>(&self, id: Uuid) -> Select<E> {
        self.select::<E>().filter(E::id_column().eq(id))
    }

    /// An update limited to this tenant's rows.
    pub fn update<E: TenantOwned>(&self) -> UpdateMany<E> {
        E::update_many().filter(E::tenant_column().eq(self.tenant_id))
    }
}
