//! Test helpers: the real server on 127.0.0.1:0 and a real WebSocket client, so each test reads as
//! the few steps it checks.
#![allow(dead_code)] // each test file uses its own share of the helpers

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use signaling::Config;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), signaling::ServeError>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::with(Config::default()).await
    }

    pub async fn with(config: Config) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(signaling::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Asks the server to shut down and waits until `serve` has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("serve returns after shutdown");
        result.expect("serve task").expect("serve ok");
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> Value {
        reqwest::get(self.url("/healthz"))
            .await
            .expect("GET /healthz")
            .json()
            .await
            .expect("JSON")
    }

    /// Waits until `/healthz` reports this many rooms; sessions notice closed sockets on their own
    /// schedule, so poll rather than sleep.
    pub async fn wait_for_rooms(&self, rooms: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let health = self.health().await;
            if health["rooms"] == rooms {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "rooms never became {rooms}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client that has come back to `room` as `name` with the `resume` token of an earlier
    /// welcome; returns it with its answer (a welcome, or an error).
    pub async fn resumed(&self, room: &str, name: &str, resume: &str) -> (Client, Value) {
        let mut client = self.client().await;
        client
            .send(json!({"type": "join", "room": room, "name": name, "resume": resume}))
            .await;
        let answer = client.recv().await;
        (client, answer)
    }

    pub async fn client(&self) -> Client {
        Client::connect(self, None).await.expect("connect")
    }

    /// A client that has joined `room` as `name`; returns it with its welcome.
    pub async fn joined(&self, room: &str, name: &str) -> (Client, Value) {
        let mut client = self.client().await;
        client
            .send(json!({"type": "join", "room": room, "name": name}))
            .await;
        let welcome = client.recv_type("welcome").await;
        (client, welcome)
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(
        server: &Server,
        origin: Option<&str>,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let mut request = server.ws_url().into_client_request().expect("request");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().expect("header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Client { ws })
    }

    pub async fn send(&mut self, msg: Value) {
        self.send_text(&msg.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next text frame, as JSON. Fails the test on close, a non-JSON frame, or silence.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("server sent non-JSON {text:?}: {e}"))
    }

    pub async fn recv_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame within the patience")
                .expect("the connection is open")
                .expect("a readable frame");
            match frame {
                Message::Text(text) => return text.as_str().to_owned(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next message, which must have this `type`.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let msg = self.recv().await;
        assert_eq!(msg["type"], kind, "unexpected message {msg}");
        msg
    }

    /// The next message, which must be an error with this code and a non-empty sentence.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let msg = self.recv_type("error").await;
        assert_eq!(msg["code"], code, "unexpected error {msg}");
        assert!(
            msg["message"].as_str().is_some_and(|m| m.len() > 5),
            "error without a sentence: {msg}"
        );
        msg
    }

    /// Proves the connection still works and nothing else is queued: a ping answered by the very
    /// next message.
    pub async fn assert_usable(&mut self) {
        self.send(json!({"type": "ping"})).await;
        self.recv_type("pong").await;
    }

    /// Reads until the server closes; returns its close frame, if any.
    pub async fn recv_close(&mut self) -> Option<CloseFrame> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("close within the patience");
            match frame {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// The `resume` token of a welcome.
pub fn resume(welcome: &Value) -> String {
    welcome["resume"]
        .as_str()
        .expect("welcome has a resume token")
        .to_owned()
}

pub fn id(welcome: &Value) -> String {
    welcome["id"]
        .as_str()
        .expect("welcome has an id")
        .to_owned()
}
