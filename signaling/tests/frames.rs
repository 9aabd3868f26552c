//! Property test: whatever bytes a client sends as a frame, it gets an error reply (never a panic,
//! never silence) and the connection stays usable.

mod common;

use common::Server;
use futures_util::SinkExt;
use proptest::prelude::*;
use signaling::Config;
use tokio_tungstenite::tungstenite::Message;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_frame_gets_an_error_reply(bytes in proptest::collection::vec(any::<u8>(), 0..2048), as_text in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let mut config = Config::default();
            config.limits.rate_per_sec = 1e6;
            config.limits.rate_burst = 1e6;
            let server = Server::with(config).await;
            let mut client = server.client().await;
            let frame = match (as_text, String::from_utf8(bytes.clone())) {
                (true, Ok(text)) => Message::text(text),
                (true, Err(_)) => Message::text(String::from_utf8_lossy(&bytes).into_owned()),
                (false, _) => Message::binary(bytes.clone()),
            };
            client.ws.send(frame).await.expect("send");
            let reply = client.recv_type("error").await;
            assert!(matches!(reply["code"].as_str(), Some("bad-message" | "bad-room" | "bad-name")), "{reply}");
            client.assert_usable().await;
            server.stop().await;
        });
    }
}
