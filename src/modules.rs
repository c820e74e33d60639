//! The business modules, and what the platform asks of each.
//!
//! A module is named once in [`modules!`] below (its id in the API, permissions and history)
//! and declares itself once with a [`Declaration`] listed in [`crate::registry`]. Tenancy,
//! search, the recycle bin, references between records, the process engine's `record` and its
//! bound processes all go through the declaration: none of them knows the modules by name.
//! See `docs/adding-a-module.md`.

use std::sync::OnceLock;

use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseExecutor};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::config::Limits;
use crate::error::{AppError, AppResult};
use crate::export::CsvStream;
use crate::imports::{ImportOptions, ImportReport, Progress};
use crate::pagination::{Page, PageArgs};
use crate::records::Recycled;
use crate::reports::sources::Source;
use crate::search::Hit;
use crate::tenancy::TenantScope;

/// Names the modules: `Variant = "id", "what one record is called", [roles that write it by
/// default besides admins and managers];`.
macro_rules! modules {
    ($($variant:ident = $id:literal, $record:literal, [$($writer:literal),*];)*) => {
        /// A business module. Its id is what permissions, history and picklists are keyed by.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
        pub enum Module {
            $($variant,)*
        }

        impl Module {
            pub const ALL: [Module; [$($id),*].len()] = [$(Module::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Module::$variant => $id,)*
                }
            }

            /// What one record of the module is called in messages.
            pub fn record_name(self) -> &'static str {
                match self {
                    $(Module::$variant => $record,)*
                }
            }

            /// The roles (by name) that may write the module unless the tenant says otherwise;
            /// admins and managers always may.
            pub fn default_writers(self) -> &'static [&'static str] {
                match self {
                    $(Module::$variant => &[$($writer),*],)*
                }
            }
        }
    };
}

modules! {
    Accounts = "accounts", "account", ["sales"];
    Contacts = "contacts", "contact", ["sales"];
    Leads = "leads", "lead", ["sales"];
    Opportunities = "opportunities", "opportunity", ["sales"];
    Tickets = "tickets", "ticket", ["support"];
    Faq = "faq", "FAQ entry", ["support"];
    Notes = "notes", "note", ["sales", "support"];
    Calendar = "calendar", "calendar entry", ["sales", "support"];
    Processes = "processes", "process", ["sales", "support"];
    Products = "products", "product", [];
    Services = "services", "service", [];
    Vendors = "vendors", "vendor", [];
    Quotes = "quotes", "quote", ["sales"];
    SalesOrders = "salesOrders", "sales order", ["sales"];
    Invoices = "invoices", "invoice", ["sales"];
    PurchaseOrders = "purchaseOrders", "purchase order", [];
    Payroll = "payroll", "employee", [];
}

impl Module {
    /// Whether only the roles that write the module read it by default: pay is private.
    pub fn confidential(self) -> bool {
        self == Module::Payroll
    }

    pub fn parse(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// What a module tells the platform about its records. Most modules are one entity and use
/// [`crate::records::Records`]; a module of several entities (the calendar) or with records
/// that carry more than their row (sales documents with their lines) implements it itself.
pub trait Declaration: Send + Sync + 'static {
    fn module(&self) -> Module;

    /// The live record as its process guards see it (`record.…` in CEL): `None` when the
    /// caller's tenant has no such live record.
    fn load_json<'a>(
        &'a self,
        db: &'a DatabaseExecutor<'a>,
        scope: &'a TenantScope,
        id: Uuid,
    ) -> BoxFuture<'a, AppResult<Option<Value>>>;

    /// Records whose searchable text contains `text` (lower case), at most `limit`.
    fn search<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        text: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, AppResult<Vec<Hit>>>;

    /// The module's recycle bin, most recently deleted first.
    fn recycle_bin<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        args: &'a PageArgs,
        limits: &'a Limits,
    ) -> BoxFuture<'a, AppResult<Page<Recycled>>>;

    /// How a bound process drives the module's records, if one can.
    fn subject(&self) -> Option<&dyn Subject> {
        None
    }

    /// The module's live records as CSV (a header row, then a chunk per page), filtered by
    /// `filter` in the shape of the module's GraphQL list filter.
    fn export_csv<'a>(
        &'a self,
        _db: &'a DatabaseConnection,
        _actor: &'a Principal,
        _filter: Option<&'a Value>,
    ) -> BoxFuture<'a, AppResult<CsvStream>> {
        let module = self.module().as_str();
        Box::pin(async move {
            Err(AppError::bad_input(
                "module",
                format!("{module} cannot be exported as CSV"),
            ))
        })
    }

    /// What reports can read of the module: its records, and parts of them such as lines
    /// (see [`crate::reports::sources`]).
    fn report_sources(&self) -> Vec<Source> {
        Vec::new()
    }

    /// Imports rows of a CSV file as records of the module (see [`crate::imports`]).
    fn import_csv<'a>(
        &'a self,
        _db: &'a DatabaseConnection,
        _actor: &'a Principal,
        _csv: &'a [u8],
        _options: &'a ImportOptions,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, AppResult<ImportReport>> {
        let module = self.module();
        Box::pin(async move { Err(crate::imports::not_importable(module)) })
    }
}

/// A module whose records a process can be bound to: each new record starts the process and
/// the record's status mirrors the process state.
pub trait Subject: Send + Sync {
    /// The status field the state is mirrored into, and the picklist of its values.
    fn status(&self) -> StatusField;

    /// The fields a `setField` action may set.
    fn settable_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Writes a new state into the record's status, as a versioned change with history.
    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>>;

    /// Sets one of [`Self::settable_fields`] (a `setField` action).
    fn set_field<'a>(
        &'a self,
        _txn: &'a DatabaseExecutor<'a>,
        _actor: &'a Principal,
        _id: Uuid,
        _field: &'a str,
        _value: &'a Value,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async {
            Err(AppError::bad_input(
                "transition",
                "setField works on processes about a record with settable fields",
            ))
        })
    }

    /// Makes a record of module `to` from this one (a `convert` action), then moves it to
    /// `status` if given.
    fn convert<'a>(
        &'a self,
        _txn: &'a DatabaseExecutor<'a>,
        _actor: &'a Principal,
        _id: Uuid,
        _to: Module,
        _status: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async {
            Err(AppError::bad_input(
                "transition",
                "convert works on processes about a quote or sales order",
            ))
        })
    }
}

/// A record's status field: its JSON name and the picklist its values come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusField {
    pub picklist: &'static str,
    pub field: &'static str,
}

static DECLARATIONS: OnceLock<Vec<&'static dyn Declaration>> = OnceLock::new();

/// Registers the modules; [`crate::registry::install`] calls this once at start-up.
pub fn install(declarations: Vec<&'static dyn Declaration>) {
    DECLARATIONS.get_or_init(|| declarations);
}

/// The declaration of `module`.
pub fn declaration(module: Module) -> AppResult<&'static dyn Declaration> {
    DECLARATIONS
        .get()
        .and_then(|all| all.iter().copied().find(|d| d.module() == module))
        .ok_or_else(|| AppError::internal(format!("module {} is not registered", module.as_str())))
}

/// How a bound process drives `module`, if one can.
pub fn subject(module: Module) -> Option<&'static dyn Subject> {
    declaration(module).ok().and_then(|d| d.subject())
}
