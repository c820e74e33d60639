//! The business modules whose records roles may read or write.

/// A business module. Its name is what permissions, history and picklists are keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Module {
    Accounts,
    Contacts,
    Leads,
    Opportunities,
    Tickets,
    Faq,
    Notes,
    Calendar,
    Processes,
    Products,
    Services,
    Vendors,
    Quotes,
    SalesOrders,
    Invoices,
    PurchaseOrders,
}

impl Module {
    pub const ALL: [Module; 16] = [
        Module::Accounts,
        Module::Contacts,
        Module::Leads,
        Module::Opportunities,
        Module::Tickets,
        Module::Faq,
        Module::Notes,
        Module::Calendar,
        Module::Processes,
        Module::Products,
        Module::Services,
        Module::Vendors,
        Module::Quotes,
        Module::SalesOrders,
        Module::Invoices,
        Module::PurchaseOrders,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Accounts => "accounts",
            Module::Contacts => "contacts",
            Module::Leads => "leads",
            Module::Opportunities => "opportunities",
            Module::Tickets => "tickets",
            Module::Faq => "faq",
            Module::Notes => "notes",
            Module::Calendar => "calendar",
            Module::Processes => "processes",
            Module::Products => "products",
            Module::Services => "services",
            Module::Vendors => "vendors",
            Module::Quotes => "quotes",
            Module::SalesOrders => "salesOrders",
            Module::Invoices => "invoices",
            Module::PurchaseOrders => "purchaseOrders",
        }
    }

    /// What one record of the module is called in messages.
    pub fn record_name(self) -> &'static str {
        match self {
            Module::Accounts => "account",
            Module::Contacts => "contact",
            Module::Leads => "lead",
            Module::Opportunities => "opportunity",
            Module::Tickets => "ticket",
            Module::Faq => "FAQ entry",
            Module::Notes => "note",
            Module::Calendar => "calendar entry",
            Module::Processes => "process",
            Module::Products => "product",
            Module::Services => "service",
            Module::Vendors => "vendor",
            Module::Quotes => "quote",
            Module::SalesOrders => "sales order",
            Module::Invoices => "invoice",
            Module::PurchaseOrders => "purchase order",
        }
    }

    pub fn parse(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.as_str() == name)
    }
}
