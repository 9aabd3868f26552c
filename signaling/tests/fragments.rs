//! Frames as the WebSocket layer sees them: an unfinished message is bounded in size by the
//! message limit and in time by the message timeout, whatever control frames the client sends
//! meanwhile; a text frame must be UTF-8.

mod common;

use common::Server;
use futures_util::SinkExt;
use signaling::Config;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// A text frame that is not the last of its message (`first`), or a continuation of one.
fn fragment(payload: &[u8], first: bool) -> Message {
    let opcode = if first { Data::Text } else { Data::Continue };
    Message::Frame(Frame::message(
        payload.to_vec(),
        OpCode::Data(opcode),
        false,
    ))
}

#[tokio::test]
async fn a_message_left_unfinished_is_closed_with_1008_though_the_client_pings() {
    let mut config = Config::default();
    config.limits.message_timeout = Duration::from_millis(300);
    let server = Server::with(config).await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    ada.ws
        .send(fragment(br#"{"type":"signal","data":""#, true))
        .await
        .expect("send");
    let pinging = async {
        loop {
            if ada.ws.send(Message::Ping(vec![1].into())).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), pinging).await;
    let close = ada.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    bob.recv_type("peer-left").await;
}

#[tokio::test]
async fn a_message_that_arrives_whole_in_fragments_is_processed() {
    let mut config = Config::default();
    config.limits.message_timeout = Duration::from_millis(300);
    let server = Server::with(config).await;
    let mut client = server.client().await;
    // Both pieces in one write, so that no pause of a busy machine splits them.
    client
        .ws
        .feed(fragment(br#"{"type":"#, true))
        .await
        .expect("send");
    let last = Frame::message(br#""ping"}"#.to_vec(), OpCode::Data(Data::Continue), true);
    client.ws.feed(Message::Frame(last)).await.expect("send");
    client.ws.flush().await.expect("send");
    client.recv_type("pong").await;
    // Later idle time with nothing unfinished is no reason to close.
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.assert_usable().await;
}

#[tokio::test]
async fn an_unfinished_message_past_the_message_limit_is_closed_with_1009() {
    let server = Server::start().await;
    let mut client = server.client().await;
    let piece = vec![b'x'; 10 * 1024];
    client.ws.send(fragment(&piece, true)).await.expect("send");
    // 100 KiB in all: more than the 64 KiB limit and its 16 KiB of slack.
    for _ in 0..9 {
        if client.ws.send(fragment(&piece, false)).await.is_err() {
            break;
        }
    }
    let close = client.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_is_closed_with_1007() {
    let server = Server::start().await;
    let (mut ada, _) = server.joined("r", "Ada").await;
    let (mut bob, _) = server.joined("r", "Bob").await;
    ada.recv_type("peer-joined").await;
    let bad = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    ada.ws.send(Message::Frame(bad)).await.expect("send");
    let close = ada.recv_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1007);
    bob.recv_type("peer-left").await;
    bob.assert_usable().await;
}
