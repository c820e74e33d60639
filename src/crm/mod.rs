//! Customer data: accounts (organisations) and contacts (people).

pub mod accounts;
pub mod contacts;
pub mod leads;
pub mod opportunities;

use uuid::Uuid;

use entity::platform::user;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};

use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;

/// `None`: leave as it is; `Some(None)`: clear; `Some(Some(v))`: set.
pub type Patch<T> = Option<Option<T>>;

/// Validates an optional text that may be given, cleared or left alone.
pub fn text_patch(field: &str, value: Patch<String>, max: usize) -> AppResult<Patch<String>> {
    value
        .map(|v| crate::validation::optional_text(field, v, max))
        .transpose()
}

/// A postal address, stored flat on the record as Vtiger does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl Address {
    /// Trims every part; `field` names the address input (`billingAddress`, …).
    pub fn validated(self, field: &str) -> AppResult<Address> {
        use crate::validation::optional_text;
        Ok(Address {
            street: optional_text(&format!("{field}.street"), self.street, 255)?,
            city: optional_text(&format!("{field}.city"), self.city, 255)?,
            state: optional_text(&format!("{field}.state"), self.state, 255)?,
            postal_code: optional_text(&format!("{field}.postalCode"), self.postal_code, 255)?,
            country: optional_text(&format!("{field}.country"), self.country, 255)?,
        })
    }
}

/// The owner of a record must be an active user of the tenant.
pub async fn require_owner(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<Uuid> {
    scope
        .by_id::<user::Entity>(id)
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| AppError::ReferenceNotFound {
            field: "ownerId".into(),
            what: "active user",
        })
}
