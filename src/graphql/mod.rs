//! The GraphQL layer: thin resolvers that read arguments, take the caller from the context,
//! call one domain function and map the result.

mod batch;
mod calendar;
mod changes;
mod crm;
mod error;
mod guard;
mod integrations;
mod loaders;
mod news;
mod pagination;
mod payroll;
mod platform;
mod process;
mod records;
mod reports;
mod sales;
mod support;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{
    Context, MergedObject, MergedSubscription, Request, Response, Schema, SchemaBuilder,
    ServerError,
};

use crate::app::SharedApp;
use crate::auth::Principal;
use crate::config::Limits;
use crate::error::AppError;

pub use error::{CODE_PARSE_FAILED, CODE_VALIDATION_FAILED, ensure_error_codes, is_request_error};

#[derive(MergedObject, Default)]
pub struct Query(
    platform::PlatformQuery,
    records::RecordsQuery,
    crm::accounts::AccountQuery,
    crm::contacts::ContactQuery,
    crm::leads::LeadQuery,
    crm::opportunities::OpportunityQuery,
    support::tickets::TicketQuery,
    support::faq::FaqQuery,
    news::NewsQuery,
    calendar::CalendarQuery,
    process::ProcessQuery,
    sales::catalogue::CatalogueQuery,
    sales::documents::DocumentQuery,
    sales::products::ProductQuery,
    payroll::EmployeeQuery,
    payroll::PayrollQuery,
    integrations::IntegrationsQuery,
    reports::ReportQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    platform::PlatformMutation,
    records::RecordsMutation,
    crm::accounts::AccountMutation,
    crm::contacts::ContactMutation,
    crm::leads::LeadMutation,
    crm::opportunities::OpportunityMutation,
    support::tickets::TicketMutation,
    support::faq::FaqMutation,
    news::NewsMutation,
    calendar::CalendarMutation,
    process::ProcessMutation,
    sales::catalogue::CatalogueMutation,
    sales::documents::DocumentMutation,
    sales::products::ProductMutation,
    payroll::PayrollMutation,
    integrations::IntegrationsMutation,
    reports::ReportMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    platform::PlatformSubscription,
    changes::ChangeSubscription,
    process::ProcessSubscription,
    payroll::PayrollSubscription,
    integrations::IntegrationsSubscription,
    reports::ReportSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Who sent a request: set per request by the HTTP and WebSocket layers.
#[derive(Clone, Debug)]
pub struct Session {
    principal: Option<Principal>,
    /// When the token or key that signed the caller in expires (`None`: never).
    expires_at: Option<DateTime<Utc>>,
    /// Why a presented token was refused, to tell the client more than "sign in".
    rejection: Option<&'static str>,
    /// The client's address, for throttling sign-in attempts.
    client: IpAddr,
}

impl Session {
    pub fn anonymous(client: IpAddr) -> Self {
        Self {
            principal: None,
            expires_at: None,
            rejection: None,
            client,
        }
    }

    pub fn signed_in(
        principal: Principal,
        expires_at: Option<DateTime<Utc>>,
        client: IpAddr,
    ) -> Self {
        Self {
            principal: Some(principal),
            expires_at,
            rejection: None,
            client,
        }
    }

    pub fn rejected(reason: &'static str, client: IpAddr) -> Self {
        Self {
            principal: None,
            expires_at: None,
            rejection: Some(reason),
            client,
        }
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    pub fn client(&self) -> IpAddr {
        self.client
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    pub fn rejection(&self) -> Option<&'static str> {
        self.rejection
    }

    /// The verified caller, or UNAUTHENTICATED saying why.
    pub fn require_principal(&self) -> Result<&Principal, AppError> {
        self.principal.as_ref().ok_or(AppError::Unauthenticated(
            self.rejection.unwrap_or(NO_TOKEN),
        ))
    }
}

const NO_TOKEN: &str = "authentication required: send a bearer token";

fn builder(limits: &Limits) -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(limits.query_depth)
    .limit_recursive_depth(guard::MAX_NESTING)
}

/// The API served to clients: every document passes the request guard (cost, aliases, NUL
/// characters), then runs on the schema.
#[derive(Clone)]
pub struct Api {
    schema: AppSchema,
    guard: Arc<guard::RequestGuard>,
}

impl Api {
    pub fn new(app: SharedApp) -> Self {
        let guard = guard::RequestGuard::new::<Query, Mutation, Subscription>(&app.limits);
        Self {
            schema: builder(&app.limits).data(app).finish(),
            guard: Arc::new(guard),
        }
    }

    pub async fn execute(&self, mut request: Request) -> Response {
        match self.guard.check(&mut request) {
            Ok(()) => self.schema.execute(request).await,
            Err(refused) => Response::from_errors(vec![refused]),
        }
    }

    pub fn execute_stream(&self, mut request: Request) -> BoxStream<'static, Response> {
        match self.guard.check(&mut request) {
            Ok(()) => self.schema.execute_stream(request),
            Err(refused) => {
                futures_util::stream::once(async move { Response::from_errors(vec![refused]) })
                    .boxed()
            }
        }
    }
}

/// The SDL, as `bpaas schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder(&Limits::default()).finish().sdl()
}

/// Attaches the caller's session, and for a signed-in caller the dataloaders of their tenant.
pub fn prepare(
    request: async_graphql::Request,
    app: &SharedApp,
    session: Session,
) -> async_graphql::Request {
    let request = match session.principal() {
        Some(principal) => request.data(loaders::Loaders::new(&app.db, &principal.scope())),
        None => request,
    };
    request.data(session)
}

/// Context accessors every resolver uses.
pub(crate) trait ContextExt {
    fn app(&self) -> &SharedApp;
    /// The verified caller, or UNAUTHENTICATED.
    fn principal(&self) -> Result<&Principal, AppError>;
    /// A dataloader of the caller's tenant, if the caller may read the module it reads
    /// (else FORBIDDEN): the one place relations check access.
    fn loader<L: loaders::GuardedLoader>(
        &self,
    ) -> Result<Arc<batch::Batcher<uuid::Uuid, L>>, AppError>;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &SharedApp {
        self.data_unchecked::<SharedApp>()
    }

    fn principal(&self) -> Result<&Principal, AppError> {
        match self.data_opt::<Session>() {
            Some(session) => session.require_principal(),
            None => Err(AppError::Unauthenticated(NO_TOKEN)),
        }
    }

    fn loader<L: loaders::GuardedLoader>(
        &self,
    ) -> Result<Arc<batch::Batcher<uuid::Uuid, L>>, AppError> {
        let principal = self.principal()?;
        if let Some(module) = L::MODULE {
            principal.require(module, crate::permissions::Access::Read)?;
        }
        self.data_opt::<loaders::Loaders>()
            .ok_or_else(|| AppError::internal("dataloaders missing from the request"))?
            .get::<L>()
    }
}

/// Parses the document (async-graphql keeps the parse) and finds the operation to run.
pub fn operation_type(request: &mut Request) -> Result<Option<OperationType>, ServerError> {
    let name = request.operation_name.clone();
    let document = request.parsed_query()?;
    Ok(operation(document, name.as_deref()).map(|op| op.ty))
}

/// The operation a request runs: the named one, or the only one.
fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let found = match &document.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name),
            None if ops.len() == 1 => ops.values().next(),
            None => None,
        },
    };
    found.map(|op| &op.node)
}

/// The root fields a request's operation selects (through fragments too), each once, for the
/// metrics. Names come from the client's document: count them only once the operation has
/// passed validation, when every one is a field of the schema.
pub fn root_fields(request: &mut Request) -> Vec<String> {
    fn collect(
        document: &ExecutableDocument,
        set: &SelectionSet,
        depth: u8,
        out: &mut Vec<String>,
    ) {
        if depth > 4 {
            return; // Fragment cycles are refused by validation; never recurse on them.
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if !out.iter().any(|seen| seen == name) {
                        out.push(name.to_owned());
                    }
                }
                Selection::InlineFragment(inline) => {
                    collect(document, &inline.node.selection_set.node, depth + 1, out)
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        collect(document, &fragment.node.selection_set.node, depth + 1, out);
                    }
                }
            }
        }
    }
    let name = request.operation_name.clone();
    let mut fields = Vec::new();
    if let Ok(document) = request.parsed_query()
        && let Some(op) = operation(document, name.as_deref())
    {
        collect(document, &op.selection_set.node, 0, &mut fields);
    }
    fields
}

/// Reads a GraphQL `ID` argument as a UUID.
pub(crate) use crate::validation::parse_id;
