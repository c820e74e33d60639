//! GraphQL over WebSocket, `graphql-transport-ws` protocol, with the protocol's close codes:
//! 4400 bad message, 4401 subscribe before acknowledgement, 4403 token refused,
//! 4406 wrong subprotocol, 4408 no `connection_init` in time, 4409 duplicate subscription id,
//! 4429 repeated `connection_init`. The token travels in the `connection_init` payload.

use std::collections::HashMap;

use async_graphql::Request;
use async_graphql::parser::types::OperationType;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{HttpState, session_for};
use crate::graphql::{Session, ensure_error_codes, is_request_error, operation_type};

const PROTOCOL: &str = "graphql-transport-ws";

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

pub async fn handler(State(state): State<HttpState>, upgrade: WebSocketUpgrade) -> Response {
    let upgrade = upgrade.protocols([PROTOCOL]);
    let protocol_ok = upgrade.selected_protocol().is_some();
    upgrade.on_upgrade(move |socket| async move {
        if protocol_ok {
            Connection::new(state).run(socket).await;
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

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

struct Connection {
    state: HttpState,
    init_received: bool,
    session: Option<Session>,
    operations: HashMap<String, JoinHandle<()>>,
}

/// What to do after a client message.
enum Next {
    Continue,
    Close(u16, String),
}

impl Connection {
    fn new(state: HttpState) -> Self {
        Self {
            state,
            init_received: false,
            session: None,
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

        let closing = loop {
            tokio::select! {
                _ = &mut init_deadline, if !self.init_received => {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
                _ = shutdown.changed() => break Some((1001, "Server shutting down".to_owned())),
                message = incoming.next() => {
                    let message = match message {
                        Some(Ok(message)) => message,
                        Some(Err(_)) | None => break None,
                    };
                    match self.on_message(message, &outgoing).await {
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
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(id, *payload, outgoing),
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
        let authorization = payload.as_ref().and_then(|p| {
            ["Authorization", "authorization"]
                .iter()
                .find_map(|key| p.get(key).and_then(|v| v.as_str()))
        });
        let session = match session_for(&self.state.app, authorization).await {
            Ok(session) if session.principal().is_some() => session,
            _ => return Next::Close(4403, "Forbidden".into()),
        };
        self.session = Some(session);
        let _ = outgoing
            .send(text(json!({ "type": "connection_ack" })))
            .await;
        Next::Continue
    }

    fn on_subscribe(
        &mut self,
        id: String,
        mut request: Request,
        outgoing: &mpsc::Sender<Message>,
    ) -> Next {
        let Some(session) = self.session.clone() else {
            return Next::Close(4401, "Unauthorized".into());
        };
        self.operations
            .retain(|_, operation| !operation.is_finished());
        if self.operations.contains_key(&id) {
            return Next::Close(4409, format!("Subscriber for {id} already exists"));
        }
        let mutation = matches!(
            operation_type(&mut request),
            Ok(Some(OperationType::Mutation))
        );
        let scope = session.principal().map(|p| p.scope());
        let schema = self.state.schema.clone();
        let app = self.state.app.clone();
        let outgoing = outgoing.clone();
        let operation_id = id.clone();
        let task = tokio::spawn(async move {
            let request = crate::graphql::prepare(request, &app, session);
            let mut responses = Box::pin(schema.execute_stream(request));
            let mut first = true;
            while let Some(mut response) = responses.next().await {
                ensure_error_codes(&mut response);
                let message = if first && is_request_error(&response) {
                    // Nothing ran: the protocol's `error` message, and no `complete`.
                    let _ = outgoing
                        .send(text(json!({ "type": "error", "id": operation_id, "payload": response.errors })))
                        .await;
                    return;
                } else {
                    json!({ "type": "next", "id": operation_id, "payload": response })
                };
                first = false;
                if outgoing.send(text(message)).await.is_err() {
                    return;
                }
            }
            if let (true, Some(scope)) = (mutation, scope) {
                app.log_committed(&scope).await;
            }
            let _ = outgoing
                .send(text(json!({ "type": "complete", "id": operation_id })))
                .await;
        });
        self.operations.insert(id, task);
        Next::Continue
    }
}
