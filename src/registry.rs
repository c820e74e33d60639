//! Every business module, registered once. The platform (tenancy, search, the recycle bin,
//! references between records, the process engine) reaches a module only through the
//! declaration listed here; adding a module is adding its files and one line below (see
//! `docs/adding-a-module.md`).

use crate::modules::{self, Declaration};
use crate::{calendar, crm, news, payroll, process, sales, support};

/// Registers every module. Idempotent: the first call wins.
pub fn install() {
    let all: Vec<&'static dyn Declaration> = vec![
        &crm::accounts::DECLARATION,
        &crm::contacts::DECLARATION,
        &crm::leads::DECLARATION,
        &crm::opportunities::DECLARATION,
        &support::tickets::DECLARATION,
        &support::faq::DECLARATION,
        &news::DECLARATION,
        &calendar::DECLARATION,
        &process::instances::DECLARATION,
        &sales::products::DECLARATION,
        &sales::catalogue::SERVICES,
        &sales::catalogue::VENDORS,
        &sales::documents::QUOTES,
        &sales::documents::SALES_ORDERS,
        &sales::documents::INVOICES,
        &sales::documents::PURCHASE_ORDERS,
        &payroll::DECLARATION,
    ];
    modules::install(all);
}
