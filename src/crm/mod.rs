//! Customer data: accounts (organisations) and contacts (people).

pub mod accounts;
pub mod contacts;
pub mod imports;
pub mod leads;
pub mod opportunities;

use crate::error::AppResult;

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
