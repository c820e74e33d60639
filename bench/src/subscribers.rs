//! The subscriber figure: N WebSocket subscribers spread over T tenants on one server process,
//! its memory (RSS) once they are connected, how fast an idle commit reaches them, and a
//! burst of commits across tenants at a fixed rate: mutation latency and delivery latency.
//!
//! The server runs as a child process (this binary, `serve`), so that its RSS is its own and
//! not the load generator's.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use uuid::Uuid;

use bpaas::config::Config;

use crate::Args;

/// Idle commits, one at a time, to time delivery when nothing else happens.
const IDLE_COMMITS: usize = 30;
/// Connections opened at once while the subscribers connect.
const CONNECTING_AT_ONCE: usize = 64;

const SUBSCRIPTION: &str = "subscription { changes(modules: [ACCOUNTS]) { sequence recordId } }";
const CREATE: &str = "mutation($n: String!) { createAccount(input: {name: $n}) { id } }";

/// Sends the commits: each creates an account in a tenant, as its administrator.
#[derive(Clone)]
struct Committer {
    http: reqwest::Client,
    url: String,
    tokens: Arc<Vec<String>>,
}

/// One commit: when its request was sent and answered, and the record it created.
struct Commit {
    tenant: usize,
    sent: Instant,
    answered: Instant,
    record_id: String,
}

pub async fn run(args: &Args) -> Result<(), String> {
    let secret = format!("bench-{}-{}", Uuid::now_v7(), Uuid::now_v7());
    let tokens = Arc::new(seed(args, &secret).await?);
    let addr = free_address()?;
    let mut server = ServerProcess::start(args, &secret, addr)?;
    server.wait_ready(addr).await?;
    let before = server.rss_kib()?;

    eprintln!("connecting {} subscribers…", args.subscribers);
    let (stop, stopped) = watch::channel(false);
    let subscribers = connect_all(args, &tokens, addr, stopped).await?;
    // Let every subscription reach the log before anything is timed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected = server.rss_kib()?;

    let committer = Committer {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| e.to_string())?,
        url: format!("http://{addr}/graphql"),
        tokens: tokens.clone(),
    };
    let tenant_count = tokens.len();

    let mut idle = Vec::new();
    for n in 0..IDLE_COMMITS {
        idle.push(committer.clone().commit(n % tenant_count, n).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let rate = args.burst_rate.max(1);
    eprintln!("burst: {rate} commits/s for {} s…", args.seconds);
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate as u32);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let burst_started = Instant::now();
    let mut requests = JoinSet::new();
    let total = rate * args.seconds as usize;
    for n in 0..total {
        ticks.tick().await;
        let request = committer.clone().commit(n % tenant_count, IDLE_COMMITS + n);
        requests.spawn(request);
    }
    let mut burst = Vec::with_capacity(total);
    let mut errors = 0;
    while let Some(done) = requests.join_next().await {
        match done.map_err(|e| e.to_string())? {
            Ok(commit) => burst.push(commit),
            Err(error) => {
                if errors == 0 {
                    eprintln!("first burst error: {error}");
                }
                errors += 1;
            }
        }
    }
    let burst_seconds = burst_started.elapsed().as_secs_f64();
    // Deliveries still under way arrive now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_burst = server.rss_kib()?;
    let _ = stop.send(true);
    let mut received: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut subscribers = subscribers;
    while let Some(done) = subscribers.join_next().await {
        for (record_id, at) in done.map_err(|e| e.to_string())? {
            received.entry(record_id).or_default().push(at);
        }
    }
    server.stop();

    let per_tenant = args.subscribers / tenant_count;
    println!(
        "{} subscribers over {} tenants ({} per tenant) on {}",
        args.subscribers,
        tenant_count,
        per_tenant,
        crate::backend_name(backend(&args.database_url))
    );
    println!(
        "server RSS: {:.0} MB before, {:.0} MB connected ({:.1} KiB per subscriber), {:.0} MB after the burst",
        before as f64 / 1024.0,
        connected as f64 / 1024.0,
        connected.saturating_sub(before) as f64 / args.subscribers.max(1) as f64,
        after_burst as f64 / 1024.0
    );
    let (idle_latencies, idle_missing) = deliveries(&idle, &received, args, tenant_count);
    println!(
        "idle commit -> client: p50 {:.1} ms, p99 {:.1} ms ({} deliveries, {} missing)",
        percentile(&idle_latencies, 0.5),
        percentile(&idle_latencies, 0.99),
        idle_latencies.len(),
        idle_missing
    );
    let mut mutations: Vec<u64> = burst
        .iter()
        .map(|c| (c.answered - c.sent).as_micros() as u64)
        .collect();
    mutations.sort_unstable();
    let (burst_latencies, burst_missing) = deliveries(&burst, &received, args, tenant_count);
    println!(
        "burst: {:.0} commits/s ({} errors); mutation p50 {:.1} ms, p99 {:.1} ms; \
         delivery p50 {:.1} ms, p99 {:.1} ms ({} deliveries, {} missing)",
        burst.len() as f64 / burst_seconds,
        errors,
        percentile(&mutations, 0.5),
        percentile(&mutations, 0.99),
        percentile(&burst_latencies, 0.5),
        percentile(&burst_latencies, 0.99),
        burst_latencies.len(),
        burst_missing
    );
    Ok(())
}

fn backend(url: &str) -> sea_orm::DbBackend {
    if url.starts_with("postgres") {
        sea_orm::DbBackend::Postgres
    } else {
        sea_orm::DbBackend::Sqlite
    }
}

/// Sorted delivery latencies (from the commit's request) of every subscriber of each commit's
/// tenant, and how many of the expected deliveries never came.
fn deliveries(
    commits: &[Commit],
    received: &HashMap<String, Vec<Instant>>,
    args: &Args,
    tenant_count: usize,
) -> (Vec<u64>, usize) {
    let mut latencies = Vec::new();
    let mut missing = 0;
    for commit in commits {
        let expected = (0..args.subscribers)
            .filter(|s| s % tenant_count == commit.tenant)
            .count();
        let arrivals = received
            .get(&commit.record_id)
            .map_or(&[][..], Vec::as_slice);
        missing += expected.saturating_sub(arrivals.len());
        latencies.extend(
            arrivals
                .iter()
                .map(|at| at.saturating_duration_since(commit.sent).as_micros() as u64),
        );
    }
    latencies.sort_unstable();
    (latencies, missing)
}

fn percentile(sorted_us: &[u64], p: f64) -> f64 {
    let Some(last) = sorted_us.len().checked_sub(1) else {
        return 0.0;
    };
    sorted_us[(last as f64 * p).round() as usize] as f64 / 1000.0
}

/// Tenants with an administrator's token each, through the service layer; the server process
/// is started afterwards on the same database with the same token secret.
async fn seed(args: &Args, secret: &str) -> Result<Vec<String>, String> {
    let mut config = Config::new("127.0.0.1:0", args.database_url.clone());
    config.auth.jwt_secret = Some(secret.to_owned());
    let app = bpaas::server::build_app(&config).await?;
    let run = Uuid::now_v7().simple().to_string();
    let mut tokens = Vec::new();
    for n in 0..args.subscriber_tenants.max(1) {
        let slug = format!("subs-{}-{n}", &run[run.len() - 8..]);
        let (_, _, token) = crate::new_tenant(&app, &slug).await?;
        tokens.push(token);
        eprint!("\r{} tenants", tokens.len());
    }
    eprintln!();
    let _ = app.shutdown.send(true);
    Ok(tokens)
}

fn free_address() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// The server under test: this binary again, as `bpaas serve`.
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    fn start(args: &Args, secret: &str, addr: SocketAddr) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("serve")
            .env("BPAAS_DATABASE_URL", &args.database_url)
            .env("BPAAS_BIND", addr.to_string())
            .env("BPAAS_JWT_SECRET", secret)
            .env("BPAAS_DB_POOL_SIZE", args.connections.to_string())
            // One administrator per tenant holds all of that tenant's subscribers.
            .env("BPAAS_WS_MAX_CONNECTIONS_PER_USER", "1000000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        Ok(Self { child })
    }

    async fn wait_ready(&mut self, addr: SocketAddr) -> Result<(), String> {
        let url = format!("http://{addr}/readyz");
        for _ in 0..300 {
            if let Ok(response) = reqwest::get(&url).await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the server did not become ready".into())
    }

    /// Resident memory of the server process, in KiB (Linux).
    fn rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("cannot read the server's memory: {e}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmRSS".to_owned())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

type Arrivals = Vec<(String, Instant)>;

/// Opens every subscriber; each runs as a task until `stopped`, then returns what it received.
async fn connect_all(
    args: &Args,
    tokens: &[String],
    addr: SocketAddr,
    stopped: watch::Receiver<bool>,
) -> Result<JoinSet<Arrivals>, String> {
    let at_once = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut connecting = JoinSet::new();
    for n in 0..args.subscribers {
        let token = tokens[n % tokens.len()].clone();
        let at_once = at_once.clone();
        connecting.spawn(async move {
            let _permit = at_once.acquire_owned().await.map_err(|e| e.to_string())?;
            subscribe(addr, &token).await
        });
    }
    let mut subscribers = JoinSet::new();
    while let Some(done) = connecting.join_next().await {
        let socket = done.map_err(|e| e.to_string())??;
        subscribers.spawn(listen(socket, stopped.clone()));
        if subscribers.len() % 1000 == 0 {
            eprint!("\r{} connected", subscribers.len());
        }
    }
    eprintln!();
    Ok(subscribers)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(addr: SocketAddr, token: &str) -> Result<Socket, String> {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // The load generator's own buffers stay small too: 10,000 clients live in this process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false)
            .await
            .map_err(|e| e.to_string())?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    match socket.next().await {
        Some(Ok(Message::Text(ack))) if ack.contains("connection_ack") => {}
        other => return Err(format!("no connection_ack: {other:?}")),
    }
    let subscribe = json!({ "type": "subscribe", "id": "1", "payload": { "query": SUBSCRIPTION } });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(socket)
}

/// Notes when each change arrives, by record id.
async fn listen(mut socket: Socket, mut stopped: watch::Receiver<bool>) -> Arrivals {
    let mut arrivals = Vec::new();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            message = socket.next() => {
                let Some(Ok(Message::Text(text))) = message else { break };
                let at = Instant::now();
                let Ok(message) = serde_json::from_str::<Json>(text.as_str()) else { continue };
                let record_id = &message["payload"]["data"]["changes"]["recordId"];
                if let Some(record_id) = record_id.as_str() {
                    arrivals.push((record_id.to_owned(), at));
                }
            }
        }
    }
    let _ = socket.close(None).await;
    arrivals
}

impl Committer {
    async fn commit(self, tenant: usize, n: usize) -> Result<Commit, String> {
        let sent = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.tokens[tenant])
            .json(&json!({ "query": CREATE, "variables": { "n": format!("Burst {n}") } }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Json = response.json().await.map_err(|e| e.to_string())?;
        let answered = Instant::now();
        let record_id = body["data"]["createAccount"]["id"]
            .as_str()
            .ok_or_else(|| format!("createAccount failed: {body}"))?
            .to_owned();
        Ok(Commit {
            tenant,
            sent,
            answered,
            record_id,
        })
    }
}
