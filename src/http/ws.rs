//! GraphQL over WebSocket, `graphql-transport-ws` protocol, with the protocol's close codes:
//! 4400 bad message, 4401 subscribe before acknowledgement, 4403 token refused,
//! 4406 wrong subprotocol (also the legacy `graphql-ws`), 4408 no `connection_init` in time,
//! 4409 duplicate subscription id, 4429 repeated `connection_init` or too many connections for
//! the user. The token travels in the `connection_init` payload; it is checked again before
//! every operation, whenever the user changes and at an interval, and the connection closes
//! with 4403 once the user is deactivated, the token revoked or expired.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use async_graphql::Request;
use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use uuid::Uuid;

use super::{HttpState, bearer_token, session_for};
use crate::app::SharedApp;
use crate::events::{self, Seen};
use crate::graphql::{Session, ensure_error_codes, is_request_error, operation_type};
use crate::integrations::idempotency::{self, Claim};
use crate::platform::users;

const PROTOCOL: &str = "graphql-transport-ws";
/// The protocol of the unmaintained `subscriptions-transport-ws` library.
const LEGACY_PROTOCOL: &str = "graphql-ws";

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

pub async fn handler(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The legacy `graphql-ws` protocol is accepted at the handshake only to be told clearly,
    // with 4406, that it is not spoken here; otherwise its clients see a failed handshake.
    let limits = &state.app.limits;
    // Small buffers: an idle subscriber should cost little. A message is a GraphQL request,
    // so it may be as large as an HTTP request body and no larger.
    let upgrade = upgrade
        .protocols([PROTOCOL, LEGACY_PROTOCOL])
        .read_buffer_size(limits.ws_read_buffer_bytes)
        .write_buffer_size(limits.ws_write_buffer_bytes)
        .max_message_size(limits.body_bytes)
        .max_frame_size(limits.body_bytes);
    let protocol_ok = upgrade
        .selected_protocol()
        .is_some_and(|p| p.as_bytes() == PROTOCOL.as_bytes());
    upgrade.on_upgrade(move |socket| async move {
        if protocol_ok {
            Connection::new(state, client.ip()).run(socket).await;
        } else {
            let mut socket = socket;
            let _ = socket.send(close(4406, "Subprotocol not acceptable")).await;
        }
    })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// A `next` message, written straight from the response so that fields keep the order of the
/// query.
fn next_message(id: &str, response: &async_graphql::Response) -> Message {
    #[derive(serde::Serialize)]
    struct Next<'a> {
        r#type: &'static str,
        id: &'a str,
        payload: &'a async_graphql::Response,
    }
    let next = Next {
        r#type: "next",
        id,
        payload: response,
    };
    match serde_json::to_string(&next) {
        Ok(body) => Message::Text(body.into()),
        Err(_) => {
            text(json!({ "type": "error", "id": id, "payload": [{ "message": "internal error" }] }))
        }
    }
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

/// Holds one of a user's connection slots; gives it back when the connection ends.
struct ConnectionSlot {
    app: SharedApp,
    user_id: Uuid,
}

impl ConnectionSlot {
    /// Takes a slot, unless the user already holds as many connections as allowed.
    fn take(app: &SharedApp, user_id: Uuid) -> Option<ConnectionSlot> {
        let mut open = app.ws_connections.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(user_id).or_insert(0);
        if *count >= app.limits.ws_max_connections_per_user {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            app: app.clone(),
            user_id,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .app
            .ws_connections
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

/// What the connection knows once `connection_init` has been accepted.
struct SignedIn {
    token: String,
    session: Session,
    /// When the token expires: the connection ends then.
    expires_at: tokio::time::Instant,
    /// The tenant's log (changes made on any replica), to notice at once that this user was
    /// deactivated or a token or key revoked; `None` if it could not be followed.
    log: Option<events::Watch>,
    _slot: ConnectionSlot,
}

struct Connection {
    state: HttpState,
    client: IpAddr,
    init_received: bool,
    signed_in: Option<SignedIn>,
    operations: HashMap<String, JoinHandle<()>>,
}

/// What to do after a client message.
enum Next {
    Continue,
    Close(u16, String),
}

const FORBIDDEN: u16 = 4403;

impl Connection {
    fn new(state: HttpState, client: IpAddr) -> Self {
        Self {
            state,
            client,
            init_received: false,
            signed_in: None,
            operations: HashMap::new(),
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let (mut sink, mut incoming) = socket.split();
        // Operations run as tasks and write through this channel; one writer owns the socket.
        let (outgoing, mut outbox) = mpsc::channel::<Message>(64);
        let writer = tokio::spawn(async move {
            while let Some(message) = outbox.recv().await {
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let init_deadline = tokio::time::sleep(self.state.app.limits.ws_init_timeout);
        tokio::pin!(init_deadline);
        let mut shutdown = self.state.app.shutdown.subscribe();
        let mut recheck = tokio::time::interval(self.state.app.limits.ws_recheck_interval);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let closing = loop {
            let expires_at = self.signed_in.as_ref().map(|s| s.expires_at);
            tokio::select! {
                _ = &mut init_deadline, if !self.init_received => {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
                _ = shutdown.changed() => break Some((1001, "Server shutting down".to_owned())),
                _ = sleep_until_some(expires_at) => {
                    break Some((FORBIDDEN, "Token expired".to_owned()));
                }
                changed = next_user_change(&mut self.signed_in) => {
                    let own = self.signed_in.as_ref().and_then(|s| s.session.principal());
                    if let Some(own) = own.filter(|p| p.user_id == changed) {
                        // The change's notice can arrive before the writer has dropped the
                        // verified API keys (here or on the replica that made it): re-verify.
                        self.state.app.api_keys.invalidate(own.tenant_id);
                        if let Next::Close(code, reason) = Box::pin(self.recheck()).await {
                            break Some((code, reason));
                        }
                    }
                }
                _ = recheck.tick(), if self.signed_in.is_some() => {
                    if let Next::Close(code, reason) = Box::pin(self.recheck()).await {
                        break Some((code, reason));
                    }
                }
                message = incoming.next() => {
                    let message = match message {
                        Some(Ok(message)) => message,
                        Some(Err(error)) => break refused_read(error),
                        None => break None,
                    };
                    // Boxed, like the checks above: the work of a message (database reads
                    // included) is allocated while it runs, not kept in every idle connection.
                    match Box::pin(self.on_message(message, &outgoing)).await {
                        Next::Continue => {}
                        Next::Close(code, reason) => break Some((code, reason)),
                    }
                }
            }
        };
        for (_, operation) in self.operations.drain() {
            operation.abort();
        }
        if let Some((code, reason)) = closing {
            let _ = outgoing.send(close(code, &reason)).await;
        }
        drop(outgoing);
        let _ = writer.await;
    }

    /// Authenticates the token again, reading the user's row (not the replica's copy): the user
    /// must still be active and the token not revoked. The fresh principal (roles, grants)
    /// serves the operations that follow.
    async fn recheck(&mut self) -> Next {
        let Some(signed_in) = &mut self.signed_in else {
            return Next::Continue;
        };
        if let Some(own) = signed_in.session.principal() {
            self.state.app.users.forget(own.user_id);
        }
        match session_for(&self.state.app, Some(&signed_in.token), self.client).await {
            Ok(session) if session.principal().is_some() => {
                signed_in.session = session;
                Next::Continue
            }
            Ok(_) => Next::Close(FORBIDDEN, "Forbidden".into()),
            // The database is unreachable: keep the connection; the next check decides.
            Err(_) => Next::Continue,
        }
    }

    async fn on_message(&mut self, message: Message, outgoing: &mpsc::Sender<Message>) -> Next {
        let raw = match message {
            Message::Text(raw) => raw,
            Message::Close(_) => return Next::Close(1000, "Normal closure".into()),
            Message::Ping(_) | Message::Pong(_) => return Next::Continue,
            Message::Binary(_) => {
                return Next::Close(4400, "Binary messages are not supported".into());
            }
        };
        let message: ClientMessage = match serde_json::from_str(raw.as_str()) {
            Ok(message) => message,
            Err(_) => return Next::Close(4400, "Invalid message received".into()),
        };
        match message {
            ClientMessage::ConnectionInit { payload } => self.on_init(payload, outgoing).await,
            ClientMessage::Ping { payload } => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                let _ = outgoing.send(text(pong)).await;
                Next::Continue
            }
            ClientMessage::Pong { .. } => Next::Continue,
            ClientMessage::Subscribe { id, payload } => {
                if self.signed_in.is_none() {
                    return Next::Close(4401, "Unauthorized".into());
                }
                if let Next::Close(code, reason) = self.recheck().await {
                    return Next::Close(code, reason);
                }
                self.on_subscribe(id, *payload, outgoing).await
            }
            ClientMessage::Complete { id } => {
                if let Some(operation) = self.operations.remove(&id) {
                    operation.abort();
                }
                Next::Continue
            }
        }
    }

    async fn on_init(
        &mut self,
        payload: Option<serde_json::Value>,
        outgoing: &mpsc::Sender<Message>,
    ) -> Next {
        if self.init_received {
            return Next::Close(4429, "Too many initialisation requests".into());
        }
        self.init_received = true;
        let Some(token) = payload.as_ref().and_then(|p| {
            ["Authorization", "authorization"]
                .iter()
                .find_map(|key| p.get(key).and_then(|v| v.as_str()))
        }) else {
            return Next::Close(FORBIDDEN, "Forbidden".into());
        };
        let token = bearer_token(token).to_owned();
        let app = &self.state.app;
        let session = match session_for(app, Some(&token), self.client).await {
            Ok(session) if session.principal().is_some() => session,
            _ => return Next::Close(FORBIDDEN, "Forbidden".into()),
        };
        let Some(principal) = session.principal() else {
            return Next::Close(FORBIDDEN, "Forbidden".into());
        };
        let Some(slot) = ConnectionSlot::take(app, principal.user_id) else {
            return Next::Close(4429, "Too many connections for this user".into());
        };
        let seconds_left = session.expires_at().map_or(i64::MAX, |at| {
            at.timestamp()
                .saturating_sub(chrono::Utc::now().timestamp())
        });
        let expires_at = tokio::time::Instant::now()
            + Duration::from_secs(
                u64::try_from(seconds_left)
                    .unwrap_or(0)
                    .min(MAX_SESSION_SECONDS),
            );
        // Unreadable log: no watch; the interval still re-checks.
        let log = events::Watch::start(&app.db, &app.events, &principal.scope())
            .await
            .ok();
        self.signed_in = Some(SignedIn {
            log,
            token,
            session,
            expires_at,
            _slot: slot,
        });
        let _ = outgoing
            .send(text(json!({ "type": "connection_ack" })))
            .await;
        Next::Continue
    }

    async fn on_subscribe(
        &mut self,
        id: String,
        mut request: Request,
        outgoing: &mpsc::Sender<Message>,
    ) -> Next {
        let Some(session) = self.signed_in.as_ref().map(|s| s.session.clone()) else {
            return Next::Close(4401, "Unauthorized".into());
        };
        self.operations
            .retain(|_, operation| !operation.is_finished());
        if self.operations.contains_key(&id) {
            return Next::Close(4409, format!("Subscriber for {id} already exists"));
        }
        let limit = self.state.app.limits.ws_max_operations;
        if self.operations.len() >= limit {
            let error = json!({
                "message": format!("at most {limit} operations may run at once on one connection"),
                "extensions": { "code": "RATE_LIMITED" }
            });
            let _ = outgoing.send(error_message(&id, [error])).await;
            return Next::Continue;
        }
        let mutation = matches!(
            operation_type(&mut request),
            Ok(Some(OperationType::Mutation))
        );
        let scope = session.principal().map(|p| p.scope());
        let idempotent = idempotency_claim(mutation, &request, &session);
        let api = self.state.api.clone();
        let app = self.state.app.clone();
        let operation_id = id.clone();
        let sender = outgoing.clone();
        let operation = async move {
            if let Some((scope, key, fingerprint)) = &idempotent {
                // Boxed: the task lives as long as the subscription, the claim only briefly.
                match Box::pin(idempotency::begin(&app.db, scope, key, fingerprint)).await {
                    Ok(Claim::Run) => {}
                    Ok(Claim::Replay(stored)) => {
                        let _ = sender.send(replayed(&operation_id, &stored)).await;
                        let complete = json!({ "type": "complete", "id": operation_id });
                        let _ = sender.send(text(complete)).await;
                        return;
                    }
                    Err(err) => {
                        let error = super::error_json(&err);
                        let _ = sender.send(error_message(&operation_id, [error])).await;
                        return;
                    }
                }
            }
            let request = crate::graphql::prepare(request, &app, session);
            let mut responses = api.execute_stream(request);
            let mut first = true;
            while let Some(mut response) = responses.next().await {
                ensure_error_codes(&mut response);
                if let Some((scope, key, _)) = &idempotent {
                    let answer = serde_json::to_string(&response).ok();
                    let kept = answer.filter(|_| response.errors.is_empty());
                    let finish = idempotency::finish(&app.db, scope, key, kept.as_deref());
                    if let Err(err) = Box::pin(finish).await {
                        tracing::warn!(code = err.code(), "could not store an idempotent answer");
                    }
                }
                let message = if first && is_request_error(&response) {
                    // Nothing ran: the protocol's `error` message, and no `complete`.
                    let _ = sender
                        .send(error_message(&operation_id, &response.errors))
                        .await;
                    return;
                } else {
                    next_message(&operation_id, &response)
                };
                first = false;
                if sender.send(message).await.is_err() {
                    return;
                }
            }
            if let (true, Some(scope)) = (mutation, scope) {
                app.log_committed(&scope);
            }
            let _ = sender
                .send(text(json!({ "type": "complete", "id": operation_id })))
                .await;
        };
        let outgoing = outgoing.clone();
        let operation_id = id.clone();
        // A bug that panics ends this one operation with INTERNAL, not the connection.
        let task = tokio::spawn(async move {
            if let Err(panic) = AssertUnwindSafe(operation).catch_unwind().await {
                let error = super::internal_error(&super::panic_message(panic.as_ref()), None);
                let _ = outgoing.send(error_message(&operation_id, [error])).await;
            }
        });
        self.operations.insert(id, task);
        Next::Continue
    }
}

/// The close frame for a message that could not be read: 1009 for one larger than a request
/// may be; none for a broken connection.
fn refused_read(error: axum::Error) -> Option<(u16, String)> {
    let inner = error.into_inner();
    let too_big = matches!(
        inner.downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    );
    too_big.then(|| (1009, "Message too big".to_owned()))
}

/// Tokens may live long; a connection is re-checked every interval anyway, and this bounds the
/// timer so that the arithmetic cannot overflow.
const MAX_SESSION_SECONDS: u64 = 366 * 24 * 3600;

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The id of the next user of the tenant who changed, or this connection's own user when
/// changes may have gone by unseen (so that it is checked again); pending before sign-in and
/// without a watch on the log (the interval still re-checks).
async fn next_user_change(signed_in: &mut Option<SignedIn>) -> Uuid {
    let Some(SignedIn {
        log: Some(log),
        session,
        ..
    }) = signed_in
    else {
        return std::future::pending().await;
    };
    loop {
        match log.next().await {
            Some(Seen::Entry(entry)) if entry.module == users::USERS => return entry.record_id,
            Some(Seen::Entry(_)) => {}
            Some(Seen::Missed) => {
                if let Some(own) = session.principal() {
                    return own.user_id;
                }
            }
            None => break,
        }
    }
    if let Some(signed_in) = signed_in.as_mut() {
        signed_in.log = None;
    }
    std::future::pending().await
}

/// The protocol's `error` message for one operation.
/// For a mutation whose `extensions.idempotencyKey` is set: the tenant, the key and the
/// request's fingerprint (HTTP clients send the `Idempotency-Key` header instead).
fn idempotency_claim(
    mutation: bool,
    request: &Request,
    session: &crate::graphql::Session,
) -> Option<(crate::tenancy::TenantScope, String, String)> {
    let principal = session.principal().filter(|_| mutation)?;
    let key = match request.extensions.get("idempotencyKey")? {
        async_graphql::Value::String(key) => key.clone(),
        // Not text: refused by `begin` like any other bad key.
        _ => String::new(),
    };
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    let operation = request.operation_name.as_deref().unwrap_or_default();
    let described = format!("{}\n{operation}\n{variables}", request.query);
    let fingerprint = idempotency::fingerprint(principal.user_id, described.as_bytes());
    Some((principal.scope(), key, fingerprint))
}

/// The stored answer of the first operation with the same idempotency key.
fn replayed(id: &str, stored: &str) -> Message {
    let payload: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    text(json!({ "type": "next", "id": id, "payload": payload }))
}

fn error_message(id: &str, errors: impl serde::Serialize) -> Message {
    text(json!({ "type": "error", "id": id, "payload": errors }))
}
