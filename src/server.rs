//! Building the application and serving it until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::{App, SharedApp};
use crate::auth::api_keys::KeyCache;
use crate::auth::token::TokenKeys;
use crate::config::Config;
use crate::events::{Caches, EventBus};
use crate::permissions::MatrixCache;
use crate::platform::users::UserCache;
use crate::{db, http};

/// Connections of the pool that timers and other background jobs use.
const JOBS_POOL_SIZE: u32 = 4;

/// Connects to the database, applies migrations and loads the token keys.
pub async fn build_app(config: &Config) -> Result<SharedApp, String> {
    crate::registry::install();
    let limits = &config.limits;
    let mut db = db::connect_pool(
        &config.database_url,
        limits.db_acquire_timeout,
        limits.db_pool_size,
    )
    .await
    .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let jobs_db = db::connect_pool(
        &config.database_url,
        limits.db_acquire_timeout,
        JOBS_POOL_SIZE,
    )
    .await
    .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    db::migrate(&db)
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    let tokens = TokenKeys::load(&config.auth, &config.database_url)?;
    // Entries a subscriber may fall behind its feed by before it reads the log itself; the
    // feed keeps this many of its newest entries in memory.
    let events = EventBus::new(256);
    let shutdown = watch::channel(false).0;
    let permissions = Arc::new(MatrixCache::default());
    let api_keys = Arc::new(KeyCache::default());
    let on_postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let users = Arc::new(UserCache::new(on_postgres));
    if on_postgres {
        let caches = Caches {
            matrix: permissions.clone(),
            keys: api_keys.clone(),
            users: users.clone(),
        };
        tokio::spawn(crate::events::relay_replica_notices(
            config.database_url.clone(),
            events.clone(),
            caches,
            shutdown.subscribe(),
        ));
    }
    let app = Arc::new(App {
        db,
        jobs_db,
        tokens,
        events,
        limits: config.limits.clone(),
        shutdown,
        statements,
        workers: Default::default(),
        login_throttle: Default::default(),
        ws_connections: Default::default(),
        permissions,
        api_keys,
        users,
        metrics: Default::default(),
        webhooks: config.webhooks.clone(),
    });
    tokio::spawn(crate::process::timers::run(
        app.clone(),
        app.shutdown.subscribe(),
    ));
    tokio::spawn(crate::integrations::delivery::run(
        app.clone(),
        app.shutdown.subscribe(),
    ));
    tokio::spawn(crate::reports::schedules::run(
        app.clone(),
        app.shutdown.subscribe(),
    ));
    Ok(app)
}

/// Serves until `shutdown` resolves, then stops accepting, closes WebSockets (1001) and lets
/// in-flight requests finish, for at most the shutdown timeout: a client that never finishes
/// sending its request does not hold the server up.
pub async fn serve(
    listener: TcpListener,
    app: SharedApp,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = http::router(app.clone());
    let (signalled, signal) = tokio::sync::oneshot::channel();
    let stopping = app.clone();
    let graceful = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        stopping.shutdown.send_replace(true);
        let _ = signalled.send(());
        tracing::info!("shutting down: finishing in-flight requests");
    });
    let limit = app.limits.shutdown_timeout;
    let deadline = async move {
        if signal.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(limit).await;
    };
    tokio::select! {
        served = graceful => served,
        _ = deadline => {
            tracing::warn!(?limit, "shutting down: requests still in flight after the timeout");
            Ok(())
        }
    }
}

/// Starts a server on `bind` in the background and returns its address (tests, embedding).
pub async fn spawn(config: &Config) -> Result<(SocketAddr, SharedApp), String> {
    let app = build_app(config).await?;
    let listener = TcpListener::bind(&config.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let served = app.clone();
    // Stops when the app is told to shut down (tests do that when they end).
    let mut stop = app.shutdown.subscribe();
    let stopped = async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
    };
    tokio::spawn(async move {
        if let Err(err) = serve(listener, served, stopped).await {
            tracing::error!(%err, "server stopped");
        }
    });
    Ok((addr, app))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
