//! bpaas-bench: seeds a database through the service layer, starts the real server on it,
//! drives HTTP load for each workload, then sends the same work as plain SQL at the same
//! concurrency. The ratio between the two is the figure we steer by.
//!
//! `cargo run --release -p bpaas-bench -- --database-url URL [--tenants 50 --accounts 200
//! --contacts 2000 --connections 32 --seconds 15 --payroll-employees 5000]`

mod imports;
mod many_tenants;
mod payroll;
mod reports;
mod subscribers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use serde_json::{Value as Json, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use entity::platform::{tenant, user};

use bpaas::app::SharedApp;
use bpaas::auth::Principal;
use bpaas::config::Config;
use bpaas::crm::{accounts, contacts};
use bpaas::filters::IdFilter;
use bpaas::pagination::PageArgs;
use bpaas::platform::{tenants, users};
use bpaas::process::instances;
use bpaas::support::tickets;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "bpaas over HTTP next to the same SQL sent directly")]
struct Args {
    /// The database to seed and serve (SQLite or PostgreSQL); the bench adds its own tenants.
    #[arg(long, env = "BPAAS_DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 50)]
    tenants: usize,
    /// Accounts per tenant.
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Contacts per tenant, spread over its accounts.
    #[arg(long, default_value_t = 2000)]
    contacts: usize,
    /// Concurrent clients, and the size of both pools.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// How long each workload runs.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Run only these workloads (list, get, create, transition, instances); all but instances
    /// by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Then time the calculation of a pay run of this many employees (0: skip).
    #[arg(long, default_value_t = 0)]
    payroll_employees: usize,
    /// Then time the CSV import of this many contacts (0: skip).
    #[arg(long, default_value_t = 0)]
    import_contacts: usize,
    /// Then time a summary report over this many opportunities (0: skip).
    #[arg(long, default_value_t = 0)]
    report_opportunities: usize,
    /// Instead of the workloads: this many WebSocket subscribers on a server process of their
    /// own, its memory, and how fast commits reach them (0: skip).
    #[arg(long, default_value_t = 0)]
    subscribers: usize,
    /// Tenants the subscribers are spread over.
    #[arg(long, default_value_t = 100)]
    subscriber_tenants: usize,
    /// Commits per second, across the tenants, in the subscribers' burst (for `--seconds`).
    #[arg(long, default_value_t = 200)]
    burst_rate: usize,
    /// Then grow the database by this many tenants and run the workloads again, to compare
    /// (PostgreSQL; 0: skip).
    #[arg(long, default_value_t = 0)]
    many_tenants: usize,
    /// Process instances (tickets, each with its process) in each of those tenants.
    #[arg(long, default_value_t = 1000)]
    instances_per_tenant: usize,
}

/// A seeded tenant, and what the workloads pick from.
struct Tenant {
    id: Uuid,
    admin_id: Uuid,
    token: String,
    accounts: Vec<Uuid>,
    contacts: Vec<Uuid>,
}

/// A ticket whose process one client moves back and forth (wait, respond).
struct Ticket {
    tenant: usize,
    ticket_id: Uuid,
    instance_id: Uuid,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    List,
    Get,
    Create,
    Transition,
    Instances,
}

impl Workload {
    const ALL: [Workload; 5] = [
        Workload::List,
        Workload::Get,
        Workload::Create,
        Workload::Transition,
        Workload::Instances,
    ];

    fn id(self) -> &'static str {
        match self {
            Workload::List => "list",
            Workload::Get => "get",
            Workload::Create => "create",
            Workload::Transition => "transition",
            Workload::Instances => "instances",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Workload::List => "list 50 contacts + account",
            Workload::Get => "get contact + account",
            Workload::Create => "create contact",
            Workload::Transition => "fire transition",
            Workload::Instances => "list 50 process instances",
        }
    }
}

struct Bench {
    tenants: Vec<Tenant>,
    tickets: Vec<Ticket>,
    http: reqwest::Client,
    url: String,
    /// The pool the plain SQL goes through.
    sql: DatabaseConnection,
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Stats {
    fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Of `latencies_us`, which `drive` leaves sorted.
    fn percentile_ms(&self, p: f64) -> f64 {
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return 0.0;
        };
        let at = (last as f64 * p).round() as usize;
        self.latencies_us[at] as f64 / 1000.0
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    // The subscriber figure runs the server as a child process: this binary, as `bpaas serve`.
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return match bpaas::cli::main().await {
            code if code == std::process::ExitCode::SUCCESS => Ok(()),
            _ => Err("the server stopped with an error".into()),
        };
    }
    let args = Args::parse();
    if args.subscribers > 0 {
        return subscribers::run(&args).await;
    }
    let mut config = Config::new("127.0.0.1:0", args.database_url.clone());
    config.auth.jwt_secret = Some(format!("bench-{}-{}", Uuid::now_v7(), Uuid::now_v7()));
    config.limits.db_pool_size = args.connections as u32;
    let (addr, app) = bpaas::server::spawn(&config).await?;
    if args.many_tenants > 0 && app.db.get_database_backend() != DbBackend::Postgres {
        return Err(
            "--many-tenants copies tenants with PostgreSQL's SQL: use a PostgreSQL URL".into(),
        );
    }
    eprintln!("server on {addr}; seeding…");
    let started = Instant::now();
    let tenants = seed(&app, &args).await?;
    let tickets = seed_tickets(&app, &tenants, args.connections).await?;
    // Fresh tables have no statistics yet; a real database would have them.
    app.db
        .execute_unprepared("ANALYZE")
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    let sql = bpaas::db::connect_pool(
        &args.database_url,
        Duration::from_secs(30),
        args.connections as u32,
    )
    .await
    .map_err(|e| e.to_string())?;
    let bench = Arc::new(Bench {
        tenants,
        tickets,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.connections)
            .build()
            .map_err(|e| e.to_string())?,
        url: format!("http://{addr}/graphql"),
        sql,
    });

    println!(
        "{} on {}, {} tenants x {} accounts x {} contacts, {} connections, {} s each",
        env!("CARGO_PKG_NAME"),
        backend_name(bench.sql.get_database_backend()),
        args.tenants,
        args.accounts,
        args.contacts,
        args.connections,
        args.seconds
    );
    let figures = run_workloads(&bench, &args).await;
    if args.many_tenants > 0 {
        many_tenants::run(&app, &bench, &args, &config, figures).await?;
    }
    if args.payroll_employees > 0 {
        payroll::run(&app, addr, args.payroll_employees).await?;
    }
    if args.import_contacts > 0 {
        imports::run(&app, addr, args.import_contacts).await?;
    }
    if args.report_opportunities > 0 {
        reports::run(&app, addr, args.report_opportunities).await?;
    }
    let _ = app.shutdown.send(true);
    Ok(())
}

/// Runs the chosen workloads over HTTP and as plain SQL, prints a line for each and returns
/// the HTTP figures.
async fn run_workloads(bench: &Arc<Bench>, args: &Args) -> Vec<(Workload, Stats)> {
    println!(
        "{:<28} {:>10} {:>9} {:>9}   {:>10} {:>9} {:>9}   {:>6}",
        "workload", "bpaas/s", "p50 ms", "p99 ms", "sql/s", "p50 ms", "p99 ms", "ratio"
    );
    let duration = Duration::from_secs(args.seconds);
    let chosen = Workload::ALL.into_iter().filter(|w| {
        if args.only.is_empty() {
            *w != Workload::Instances
        } else {
            args.only.iter().any(|o| o == w.id())
        }
    });
    let mut figures = Vec::new();
    for workload in chosen {
        let over_http = drive(bench, workload, false, args.connections, duration).await;
        let over_sql = drive(bench, workload, true, args.connections, duration).await;
        let ratio = if over_sql.latencies_us.is_empty() {
            "-".to_owned()
        } else {
            format!(
                "{:.0}%",
                100.0 * over_http.per_second() / over_sql.per_second()
            )
        };
        println!(
            "{:<28} {:>10.0} {:>9.2} {:>9.2}   {:>10.0} {:>9.2} {:>9.2}   {:>6}",
            workload.name(),
            over_http.per_second(),
            over_http.percentile_ms(0.5),
            over_http.percentile_ms(0.99),
            over_sql.per_second(),
            over_sql.percentile_ms(0.5),
            over_sql.percentile_ms(0.99),
            ratio
        );
        for (how, stats) in [("bpaas", &over_http), ("sql", &over_sql)] {
            if let Some(error) = &stats.first_error {
                println!("  {how}: {} errors, first: {error}", stats.errors);
            }
        }
        figures.push((workload, over_http));
    }
    figures
}

fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "PostgreSQL",
        DbBackend::Sqlite => "SQLite",
        _ => "another database",
    }
}

/// Tenants with their accounts and contacts, through the service layer (numbers, history and
/// all), several tenants at a time.
async fn seed(app: &SharedApp, args: &Args) -> Result<Vec<Tenant>, String> {
    let run = Uuid::now_v7().simple().to_string();
    let at_once = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for n in 0..args.tenants {
        let (app, at_once) = (app.clone(), at_once.clone());
        let (accounts, contacts) = (args.accounts.max(1), args.contacts);
        let slug = format!("bench-{}-{n}", &run[run.len() - 8..]);
        tasks.spawn(async move {
            let _permit = at_once.acquire().await.map_err(|e| e.to_string())?;
            seed_tenant(&app, slug, accounts, contacts).await
        });
    }
    let mut tenants = Vec::new();
    while let Some(done) = tasks.join_next().await {
        tenants.push(done.map_err(|e| e.to_string())??);
        eprint!("\r{} of {} tenants", tenants.len(), args.tenants);
    }
    eprintln!();
    Ok(tenants)
}

async fn seed_tenant(
    app: &SharedApp,
    slug: String,
    account_count: usize,
    contact_count: usize,
) -> Result<Tenant, String> {
    let db = &app.db;
    let (tenant, admin, token) = crate::new_tenant(app, &slug).await?;
    let actor = principal(app, &token).await?;
    let mut account_ids = Vec::with_capacity(account_count);
    for n in 0..account_count {
        let fields = accounts::AccountFields {
            name: Some(format!("Account {n}")),
            ..Default::default()
        };
        let account = accounts::create(db, &actor, fields).await;
        account_ids.push(account.map_err(|e| e.message())?.id);
    }
    let mut contact_ids = Vec::new();
    for n in 0..contact_count {
        let fields = contacts::ContactFields {
            first_name: Some(Some(FIRST_NAMES[n % FIRST_NAMES.len()].into())),
            last_name: Some(format!("{} {n}", LAST_NAMES[n % LAST_NAMES.len()])),
            account_id: Some(Some(account_ids[n % account_ids.len()])),
            ..Default::default()
        };
        let contact = contacts::create(db, &actor, fields).await;
        let id = contact.map_err(|e| e.message())?.id;
        // The gets pick from a sample; enough to miss caches a real mix would miss.
        if contact_ids.len() < 200 {
            contact_ids.push(id);
        }
    }
    Ok(Tenant {
        id: tenant.id,
        admin_id: admin.id,
        token,
        accounts: account_ids,
        contacts: contact_ids,
    })
}

/// A new tenant through the service layer, its administrator and a token for them.
async fn new_tenant(
    app: &SharedApp,
    slug: &str,
) -> Result<(tenant::Model, user::Model, String), String> {
    let (tenant, admin) = tenants::create_tenant(
        &app.db,
        tenants::NewTenant {
            slug: slug.to_owned(),
            name: slug.to_owned(),
            admin_email: format!("admin@{slug}.example"),
            admin_password: "bench-admin-password".into(),
        },
    )
    .await
    .map_err(|e| e.message())?;
    let token = app
        .tokens
        .issue(
            admin.id,
            tenant.id,
            &users::roles_of(&admin),
            admin.token_epoch,
        )
        .map_err(|e| e.message())?;
    Ok((tenant, admin, token))
}

/// The admin as the server sees them: through a token, like every client.
async fn principal(app: &SharedApp, token: &str) -> Result<Principal, String> {
    app.authenticate(token)
        .await
        .map(|(principal, _)| principal)
        .map_err(|e| e.message())
}

/// One ticket per client, its bound process started and moved to "In Progress".
async fn seed_tickets(
    app: &SharedApp,
    tenants: &[Tenant],
    count: usize,
) -> Result<Vec<Ticket>, String> {
    let mut tickets = Vec::with_capacity(count);
    for n in 0..count {
        let tenant_index = n % tenants.len();
        let tenant = &tenants[tenant_index];
        let actor = principal(app, &tenant.token).await?;
        let fields = tickets::TicketFields {
            title: Some(format!("Bench ticket {n}")),
            ..Default::default()
        };
        let ticket = tickets::create(&app.db, &actor, fields)
            .await
            .map_err(|e| e.message())?;
        let filter = instances::InstanceFilter {
            record_id: Some(IdFilter {
                equals: Some(ticket.id.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let page = instances::list(&app.db, &actor, &filter, &PageArgs::default(), &app.limits)
            .await
            .map_err(|e| e.message())?;
        let (_, instance) = page
            .items
            .into_iter()
            .next()
            .ok_or("tickets start no process: is the ticket-lifecycle template bound?")?;
        instances::fire(
            &app.db,
            &actor,
            instance.id,
            "start",
            Default::default(),
            instance.version,
        )
        .await
        .map_err(|e| e.message())?;
        tickets.push(Ticket {
            tenant: tenant_index,
            ticket_id: ticket.id,
            instance_id: instance.id,
        });
    }
    Ok(tickets)
}

/// Runs `workload` from `clients` concurrent clients for `duration`.
async fn drive(
    bench: &Arc<Bench>,
    workload: Workload,
    plain_sql: bool,
    clients: usize,
    duration: Duration,
) -> Stats {
    // Each transition client starts from where its process stands now.
    let positions = match workload {
        Workload::Transition => match positions(bench).await {
            Ok(positions) => positions,
            Err(error) => {
                return Stats {
                    errors: 1,
                    first_error: Some(error),
                    elapsed: duration,
                    ..Default::default()
                };
            }
        },
        _ => Vec::new(),
    };
    let positions = Arc::new(positions);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for client in 0..clients {
        let (bench, positions) = (bench.clone(), positions.clone());
        tasks.spawn(async move {
            let mut stats = Stats::default();
            let mut iteration = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let step = Step {
                    client,
                    iteration,
                    position: positions.get(client).copied(),
                };
                let result = if plain_sql {
                    bench.run_sql(workload, &step).await
                } else {
                    bench.run_http(workload, &step).await
                };
                match result {
                    Ok(()) => stats.latencies_us.push(sent.elapsed().as_micros() as u64),
                    Err(error) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert(error);
                    }
                }
                iteration += 1;
            }
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(stats) = done {
            total.latencies_us.extend(stats.latencies_us);
            total.errors += stats.errors;
            if total.first_error.is_none() {
                total.first_error = stats.first_error;
            }
        }
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// Where each client's process stands: (in progress, version).
async fn positions(bench: &Bench) -> Result<Vec<(bool, i32)>, String> {
    let mut positions = Vec::with_capacity(bench.tickets.len());
    for ticket in &bench.tickets {
        let row = bench
            .sql
            .query_one_raw(bench.statement(
                "SELECT state, version FROM process_instances WHERE id = $1",
                vec![ticket.instance_id.into()],
            ))
            .await
            .map_err(|e| e.to_string())?
            .ok_or("a bench process instance is gone")?;
        let state: String = row.try_get("", "state").map_err(|e| e.to_string())?;
        let version: i32 = row.try_get("", "version").map_err(|e| e.to_string())?;
        positions.push((state == IN_PROGRESS, version));
    }
    Ok(positions)
}

const IN_PROGRESS: &str = "In Progress";
const WAITING: &str = "Wait For Response";

/// One request of one client.
struct Step {
    client: usize,
    iteration: u64,
    position: Option<(bool, i32)>,
}

impl Step {
    /// A spread-out pick in `0..len`, the same for both runs of a workload.
    fn pick(&self, salt: u64, len: usize) -> usize {
        let mut x = (self.client as u64) << 32 ^ self.iteration ^ salt.wrapping_mul(0x9E37_79B9);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % len.max(1) as u64) as usize
    }

    /// The transition this step fires: (name, from, to, expected version).
    fn transition(&self) -> Option<(&'static str, &'static str, &'static str, i32)> {
        let (in_progress, version) = self.position?;
        let now_in_progress = in_progress == self.iteration.is_multiple_of(2);
        let version = version.checked_add(i32::try_from(self.iteration).ok()?)?;
        Some(if now_in_progress {
            ("wait", IN_PROGRESS, WAITING, version)
        } else {
            ("respond", WAITING, IN_PROGRESS, version)
        })
    }
}

impl Bench {
    fn tenant(&self, step: &Step) -> &Tenant {
        &self.tenants[step.pick(1, self.tenants.len())]
    }

    async fn run_http(&self, workload: Workload, step: &Step) -> Result<(), String> {
        let (tenant, query, variables) = match workload {
            Workload::List => (
                self.tenant(step),
                "query { contacts(first: 50, orderBy: {field: LAST_NAME}) \
                 { edges { node { id lastName account { id name } } } } }",
                json!({}),
            ),
            Workload::Get => {
                let tenant = self.tenant(step);
                let id = tenant.contacts[step.pick(2, tenant.contacts.len())];
                (
                    tenant,
                    "query($id: ID!) { contact(id: $id) { id lastName account { id name } } }",
                    json!({ "id": id }),
                )
            }
            Workload::Create => {
                let tenant = self.tenant(step);
                let account = tenant.accounts[step.pick(3, tenant.accounts.len())];
                (
                    tenant,
                    "mutation($a: ID!) { createContact(input: {lastName: \"Bench\", accountId: $a}) { id } }",
                    json!({ "a": account }),
                )
            }
            Workload::Instances => (
                self.tenant(step),
                "query { processInstances(first: 50) { edges { node { id state version } } } }",
                json!({}),
            ),
            Workload::Transition => {
                let ticket = &self.tickets[step.client % self.tickets.len()];
                let (name, _, _, version) = step.transition().ok_or("no position")?;
                (
                    &self.tenants[ticket.tenant],
                    "mutation($id: ID!, $t: String!, $v: Int!) \
                     { fireTransition(instanceId: $id, transition: $t, expectedVersion: $v) { version } }",
                    json!({ "id": ticket.instance_id, "t": name, "v": version }),
                )
            }
        };
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&tenant.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Json = response.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() || body.get("errors").is_some() {
            return Err(format!("{status}: {body}"));
        }
        Ok(())
    }

    /// The statements a hand-written handler would send for the same work.
    async fn run_sql(&self, workload: Workload, step: &Step) -> Result<(), String> {
        let db = &self.sql;
        let error = |e: sea_orm::DbErr| e.to_string();
        match workload {
            Workload::List => {
                let tenant = self.tenant(step);
                let rows = db
                    .query_all_raw(self.statement(
                        "SELECT c.id, c.last_name, a.id AS account_id, a.name AS account_name \
                         FROM contacts c LEFT JOIN accounts a \
                         ON a.id = c.account_id AND a.tenant_id = c.tenant_id \
                         WHERE c.tenant_id = $1 AND c.deleted_at IS NULL \
                         ORDER BY c.last_name, c.id LIMIT 50",
                        vec![tenant.id.into()],
                    ))
                    .await
                    .map_err(error)?;
                read_contacts(&rows)
            }
            Workload::Get => {
                let tenant = self.tenant(step);
                let id = tenant.contacts[step.pick(2, tenant.contacts.len())];
                let rows = db
                    .query_all_raw(self.statement(
                        "SELECT c.id, c.last_name, a.id AS account_id, a.name AS account_name \
                         FROM contacts c LEFT JOIN accounts a \
                         ON a.id = c.account_id AND a.tenant_id = c.tenant_id \
                         WHERE c.tenant_id = $1 AND c.id = $2 AND c.deleted_at IS NULL",
                        vec![tenant.id.into(), id.into()],
                    ))
                    .await
                    .map_err(error)?;
                read_contacts(&rows)
            }
            Workload::Create => {
                let tenant = self.tenant(step);
                let account = tenant.accounts[step.pick(3, tenant.accounts.len())];
                let (id, now) = (Uuid::now_v7(), chrono::Utc::now());
                db.execute_raw(self.statement(
                    "INSERT INTO contacts (id, tenant_id, contact_no, last_name, account_id, \
                     email_opt_out, do_not_call, owner_id, custom_fields, version, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    vec![
                        id.into(),
                        tenant.id.into(),
                        id.simple().to_string().into(),
                        "Bench".into(),
                        account.into(),
                        false.into(),
                        false.into(),
                        tenant.admin_id.into(),
                        json!({}).into(),
                        1.into(),
                        now.into(),
                        now.into(),
                    ],
                ))
                .await
                .map_err(error)?;
                Ok(())
            }
            Workload::Instances => {
                let tenant = self.tenant(step);
                let rows = db
                    .query_all_raw(self.statement(
                        "SELECT id, state, version FROM process_instances WHERE tenant_id = $1 \
                         ORDER BY started_at DESC, id DESC LIMIT 50",
                        vec![tenant.id.into()],
                    ))
                    .await
                    .map_err(error)?;
                for row in &rows {
                    let _: String = row.try_get("", "state").map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Workload::Transition => {
                let ticket = &self.tickets[step.client % self.tickets.len()];
                let tenant = &self.tenants[ticket.tenant];
                let (name, from, to, version) = step.transition().ok_or("no position")?;
                let now = chrono::Utc::now();
                let txn = db.begin().await.map_err(error)?;
                let moved = txn
                    .execute_raw(self.statement(
                        "UPDATE process_instances SET state = $1, version = version + 1, \
                         updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND version = $5",
                        vec![
                            to.into(),
                            now.into(),
                            tenant.id.into(),
                            ticket.instance_id.into(),
                            version.into(),
                        ],
                    ))
                    .await
                    .map_err(error)?;
                if moved.rows_affected() != 1 {
                    return Err(format!("instance not at version {version}"));
                }
                txn.execute_raw(self.statement(
                    "INSERT INTO process_steps (id, tenant_id, instance_id, transition, \
                     from_state, to_state, actor_id, input, variables, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    vec![
                        Uuid::now_v7().into(),
                        tenant.id.into(),
                        ticket.instance_id.into(),
                        name.into(),
                        from.into(),
                        to.into(),
                        tenant.admin_id.into(),
                        json!({}).into(),
                        json!({}).into(),
                        now.into(),
                    ],
                ))
                .await
                .map_err(error)?;
                txn.execute_raw(self.statement(
                    "UPDATE tickets SET status = $1, version = version + 1, updated_at = $2 \
                     WHERE tenant_id = $3 AND id = $4",
                    vec![
                        to.into(),
                        now.into(),
                        tenant.id.into(),
                        ticket.ticket_id.into(),
                    ],
                ))
                .await
                .map_err(error)?;
                txn.commit().await.map_err(error)
            }
        }
    }

    /// `sql` with `$1`, `$2`… in order, as the backend wants its placeholders.
    fn statement(&self, sql: &str, values: Vec<Value>) -> Statement {
        let backend = self.sql.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => sql.to_owned(),
            _ => placeholders_as_question_marks(sql),
        };
        Statement::from_sql_and_values(backend, sql, values)
    }
}

/// Reads the rows as a handler would before answering.
fn read_contacts(rows: &[sea_orm::QueryResult]) -> Result<(), String> {
    for row in rows {
        let _: String = row.try_get("", "last_name").map_err(|e| e.to_string())?;
        let _: Option<String> = row.try_get("", "account_name").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn placeholders_as_question_marks(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

const FIRST_NAMES: &[&str] = &[
    "Ayu", "Budi", "Citra", "Dewi", "Eko", "Fajar", "Gita", "Hadi",
];
const LAST_NAMES: &[&str] = &[
    "Santoso", "Wijaya", "Halim", "Gunawan", "Kusuma", "Pratama", "Saputra", "Lestari", "Hidayat",
    "Nugroho",
];
