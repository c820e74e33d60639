//! A small graphql-transport-ws client over a real WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestServer;

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug, PartialEq)]
pub enum Received {
    Json(Value),
    Closed(Option<u16>),
}

impl WsClient {
    pub async fn connect(server: &TestServer) -> WsClient {
        Self::connect_with_protocol(server, Some("graphql-transport-ws")).await
    }

    pub async fn connect_with_protocol(server: &TestServer, protocol: Option<&str>) -> WsClient {
        let mut request = format!("ws://{}/graphql/ws", server.addr)
            .into_client_request()
            .expect("request");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        WsClient { socket }
    }

    /// Connects, sends `connection_init` with the token and expects `connection_ack`.
    pub async fn connect_authenticated(server: &TestServer, token: &str) -> WsClient {
        let mut client = Self::connect(server).await;
        client.init(Some(token)).await;
        assert_eq!(client.next_json().await["type"], "connection_ack");
        client
    }

    pub async fn init(&mut self, token: Option<&str>) {
        let payload = match token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
    }

    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query } }))
            .await;
    }

    pub async fn send(&mut self, message: Value) {
        self.send_raw(&message.to_string()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// The next protocol message or the close code, waiting at most `timeout`.
    pub async fn receive(&mut self, timeout: Duration) -> Option<Received> {
        loop {
            let message = tokio::time::timeout(timeout, self.socket.next())
                .await
                .ok()?;
            return Some(match message {
                Some(Ok(Message::Text(text))) => {
                    Received::Json(serde_json::from_str(&text).expect("JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    Received::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Received::Closed(None),
            });
        }
    }

    pub async fn next_json(&mut self) -> Value {
        match self.receive(Duration::from_secs(10)).await {
            Some(Received::Json(value)) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub async fn close_code(&mut self) -> Option<u16> {
        match self.receive(Duration::from_secs(10)).await {
            Some(Received::Closed(code)) => code,
            other => panic!("expected the connection to close, got {other:?}"),
        }
    }
}
