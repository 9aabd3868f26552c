//! The data channels between two engines: both open as soon as the connection connects, with
//! the one negotiation that made it (each description carries an `m=application` section and no
//! renegotiation follows); chat text both ways; 20 MB of bytes in 16 KiB chunks one way under
//! flow control (refused above the high-water mark, resumed on the buffered-low event) arriving
//! whole and in order (SHA-256); hanging up with megabytes still waiting to be sent.

mod common;

use std::time::{Duration, Instant};

use std::sync::Arc;

use common::{relay, send_all, until_state, Forward, Message, Relayed, SERIAL};
use hearth_engine::{
    DataKind, DataState, Engine, EngineError, EngineEvent, Peer, CHAT, FILES, HIGH_WATER,
};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// How long a data channel may take to open, or a message to arrive (two busy shared cores).
const WAIT: Duration = Duration::from_secs(60);

/// The next event of `others` that `wanted` accepts; fails after [`WAIT`].
async fn until_event(
    others: &mut mpsc::UnboundedReceiver<EngineEvent>,
    what: &str,
    wanted: impl Fn(&EngineEvent) -> bool,
) -> EngineEvent {
    let wait = async {
        while let Some(event) = others.recv().await {
            if wanted(&event) {
                return event;
            }
        }
        panic!("{what}: no more events");
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"))
}

/// Both data channels of one side open (in any order).
async fn until_open(others: &mut mpsc::UnboundedReceiver<EngineEvent>, side: &str) {
    let mut open = Vec::new();
    while open.len() < 2 {
        let event = until_event(others, &format!("{side}'s data channels open"), |e| {
            matches!(e, EngineEvent::DataState { .. })
        })
        .await;
        if let EngineEvent::DataState { channel, state } = event {
            assert_eq!(state, DataState::Open, "{side}: channel {channel} closed");
            assert!(
                !open.contains(&channel),
                "{side}: channel {channel} opened twice"
            );
            open.push(channel);
        }
    }
    open.sort();
    assert_eq!(open, vec![CHAT, FILES]);
}

/// The next message of `inbox`; fails after [`WAIT`].
async fn next_message(inbox: &mut mpsc::UnboundedReceiver<Message>) -> Message {
    tokio::time::timeout(WAIT, inbox.recv())
        .await
        .expect("no message in time")
        .expect("the inbox ended")
}

/// One side of a call: its engine, its connection, what its observer saw, and its events.
struct End {
    engine: Arc<Engine>,
    peer: Arc<Peer>,
    seen: Arc<Forward>,
    relayed: Relayed,
}

/// Two engines, A calling B, connected with one offer and answer whose descriptions both carry
/// the data channels' `m=application`.
async fn call() -> (End, End) {
    let a = common::side();
    let b = common::side();
    let mut a_relayed = relay(a.events, a.peer.id(), b.peer.clone());
    let mut b_relayed = relay(b.events, b.peer.id(), a.peer.clone());
    send_all(&a.peer);
    send_all(&b.peer);

    let offer = a.peer.create_offer(false).await.expect("offer");
    assert!(
        offer.sdp.contains("m=application"),
        "the offer has no data section:\n{}",
        offer.sdp
    );
    a.peer
        .set_local_description(&offer)
        .await
        .expect("a: offer");
    b.peer
        .set_remote_description(&offer)
        .await
        .expect("b: offer");
    let answer = b.peer.create_answer().await.expect("answer");
    assert!(
        answer.sdp.contains("m=application"),
        "the answer has no data section:\n{}",
        answer.sdp
    );
    b.peer
        .set_local_description(&answer)
        .await
        .expect("b: answer");
    a.peer
        .set_remote_description(&answer)
        .await
        .expect("a: answer");

    until_state(&mut a_relayed.states, "connected").await;
    until_state(&mut b_relayed.states, "connected").await;
    (
        End {
            engine: a.engine,
            peer: a.peer,
            seen: a.seen,
            relayed: a_relayed,
        },
        End {
            engine: b.engine,
            peer: b.peer,
            seen: b.seen,
            relayed: b_relayed,
        },
    )
}

/// Nothing more to negotiate: no `negotiation-needed` waiting, both sides stable.
fn no_renegotiation(relayed: &mut Relayed, peer: &Peer, side: &str) {
    while let Ok(event) = relayed.others.try_recv() {
        assert_ne!(
            event,
            EngineEvent::NegotiationNeeded,
            "{side} needs another negotiation"
        );
    }
    assert_eq!(peer.signaling_state(), "stable", "{side}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channels_open_with_the_connection_and_chat_goes_both_ways() {
    let _one_at_a_time = SERIAL.lock().await;
    let (mut a, mut b) = call().await;
    // Sending before the channel opens is refused as closed, never queued unseen.
    let early = a.peer.send_data(CHAT, DataKind::Text, b"too early");
    assert!(
        matches!(early, Ok(_) | Err(EngineError::DataClosed(CHAT))),
        "{early:?}"
    );
    until_open(&mut a.relayed.others, "a").await;
    until_open(&mut b.relayed.others, "b").await;
    // Let any late negotiation-needed arrive, then check there was none.
    tokio::time::sleep(Duration::from_millis(500)).await;
    no_renegotiation(&mut a.relayed, &a.peer, "a");
    no_renegotiation(&mut b.relayed, &b.peer, "b");

    let mut a_inbox = a.seen.inbox();
    let mut b_inbox = b.seen.inbox();
    if early.is_ok() {
        // Sent just as it opened: it arrives first.
        let (_, channel, _, text) = next_message(&mut b_inbox).await;
        assert_eq!((channel, text.as_slice()), (CHAT, b"too early".as_slice()));
    }
    let hello = "Hello <b>B</b> ✓";
    a.peer
        .send_data(CHAT, DataKind::Text, hello.as_bytes())
        .expect("a sends");
    let (peer, channel, kind, text) = next_message(&mut b_inbox).await;
    assert_eq!(peer, b.peer.id());
    assert_eq!((channel, kind), (CHAT, DataKind::Text));
    assert_eq!(String::from_utf8(text).expect("UTF-8"), hello);

    b.peer
        .send_data(CHAT, DataKind::Text, "and back to A".as_bytes())
        .expect("b sends");
    b.peer
        .send_data(CHAT, DataKind::Binary, &[0, 1, 2, 255])
        .expect("b sends bytes");
    let (peer, channel, kind, text) = next_message(&mut a_inbox).await;
    assert_eq!((peer, channel, kind), (a.peer.id(), CHAT, DataKind::Text));
    assert_eq!(text, b"and back to A");
    let (_, channel, kind, bytes) = next_message(&mut a_inbox).await;
    assert_eq!((channel, kind), (CHAT, DataKind::Binary));
    assert_eq!(bytes, vec![0, 1, 2, 255]);

    // What is refused, and why.
    assert!(matches!(
        a.peer.send_data(7, DataKind::Text, b"x"),
        Err(EngineError::NoDataChannel(7))
    ));
    assert!(matches!(
        a.peer.send_data(CHAT, DataKind::Text, &[0xff, 0xfe]),
        Err(EngineError::DataNotText)
    ));
    assert!(matches!(
        a.peer.send_data(
            FILES,
            DataKind::Binary,
            &vec![0; hearth_engine::MAX_MESSAGE + 1]
        ),
        Err(EngineError::DataTooLarge(_))
    ));

    // Ending the connection says the channels closed, and sending is refused.
    a.engine.remove_peer(a.peer.id());
    let closed = until_event(&mut a.relayed.others, "a's channels closed", |e| {
        matches!(
            e,
            EngineEvent::DataState {
                state: DataState::Closed,
                ..
            }
        )
    })
    .await;
    assert!(matches!(closed, EngineEvent::DataState { .. }));
    assert!(a.peer.send_data(CHAT, DataKind::Text, b"gone").is_err());
    a.engine.close();
    b.engine.close();
}

/// 16 KiB, as the page sends files.
const CHUNK: usize = 16 * 1024;
/// 20 MB.
const FILE: usize = 20 * 1000 * 1000;

/// Pseudo-random bytes the chunks are cut from.
fn noise() -> Vec<u8> {
    (0..CHUNK * 64)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect()
}

/// The chunk at `offset`: cut from `noise` and starting with its offset, so a lost, doubled or
/// reordered chunk changes the hash.
fn chunk(noise: &[u8], offset: usize) -> Vec<u8> {
    let len = CHUNK.min(FILE - offset);
    let start = offset % (noise.len() - CHUNK);
    let mut bytes = noise[start..start + len].to_vec();
    let stamp = (offset as u64).to_le_bytes();
    let n = stamp.len().min(len);
    bytes[..n].copy_from_slice(&stamp[..n]);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_megabytes_cross_under_flow_control_and_arrive_whole() {
    let _one_at_a_time = SERIAL.lock().await;
    let (mut a, mut b) = call().await;
    until_open(&mut a.relayed.others, "a").await;
    until_open(&mut b.relayed.others, "b").await;
    let mut inbox = b.seen.inbox();

    // B hashes what arrives as it arrives.
    let receiving = tokio::spawn(async move {
        let mut hash = Sha256::new();
        let mut received = 0;
        while received < FILE {
            let (_, channel, kind, bytes) = next_message(&mut inbox).await;
            assert_eq!((channel, kind), (FILES, DataKind::Binary));
            received += bytes.len();
            hash.update(&bytes);
        }
        assert_eq!(received, FILE, "more bytes than were sent");
        (hash.finalize().to_vec(), Instant::now())
    });

    // The file's hash, before the clock starts.
    let noise = noise();
    let mut sent_hash = Sha256::new();
    for offset in (0..FILE).step_by(CHUNK) {
        sent_hash.update(chunk(&noise, offset));
    }

    let start = Instant::now();
    let (mut offset, mut waits, mut refused, mut peak) = (0, 0, 0, 0);
    while offset < FILE {
        let bytes = chunk(&noise, offset);
        match a.peer.send_data(FILES, DataKind::Binary, &bytes) {
            Ok(buffered) => {
                offset += bytes.len();
                peak = peak.max(buffered);
                if buffered > HIGH_WATER {
                    waits += 1;
                    wait_for_low(&mut a.relayed, &a.peer).await;
                }
            }
            Err(EngineError::DataBusy(_)) => {
                refused += 1;
                wait_for_low(&mut a.relayed, &a.peer).await;
            }
            Err(e) => panic!("sending at {offset}: {e}"),
        }
    }
    let queued = start.elapsed();
    let (received_hash, done) = tokio::time::timeout(Duration::from_secs(300), receiving)
        .await
        .expect("the file did not arrive within 300 s")
        .expect("the receiver");
    assert_eq!(received_hash, sent_hash.finalize().to_vec(), "SHA-256");
    let seconds = done.duration_since(start).as_secs_f64();
    eprintln!(
        "20 MB engine to engine: queued in {queued:?}, arrived in {seconds:.1} s, {:.1} MB/s; waited for buffered-low {waits} \
         times, refused {refused} times, at most {peak} bytes buffered",
        FILE as f64 / 1e6 / seconds
    );
    assert!(
        waits + refused > 0,
        "the sender never reached the high-water mark: flow control untested"
    );
    assert!(
        peak <= HIGH_WATER + CHUNK as u64,
        "{peak} bytes waited, above the high-water mark"
    );
    a.engine.close();
    b.engine.close();
}

/// Waits for the files channel's buffered-low event (a stale one from earlier only means the
/// next send is refused and waits again).
async fn wait_for_low(relayed: &mut Relayed, peer: &Peer) {
    until_event(
        &mut relayed.others,
        &format!(
            "buffered-low with {:?} bytes waiting",
            peer.data_buffered(FILES)
        ),
        |e| *e == EngineEvent::DataBufferedLow { channel: FILES },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_with_megabytes_waiting_ends_at_once() {
    let _one_at_a_time = SERIAL.lock().await;
    let (mut a, mut b) = call().await;
    until_open(&mut a.relayed.others, "a").await;
    until_open(&mut b.relayed.others, "b").await;
    let chunk = vec![1u8; 60_000];
    while a.peer.send_data(FILES, DataKind::Binary, &chunk).is_ok() {}
    let waiting = a.peer.data_buffered(FILES).expect("buffered");
    assert!(waiting > HIGH_WATER, "only {waiting} bytes waiting");

    // GStreamer 1.22 alone took about four minutes here (its SCTP encoder waits for room).
    let start = Instant::now();
    assert!(a.engine.remove_peer(a.peer.id()));
    a.engine.close();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "hanging up took {took:?}");
    b.engine.close();
}

/// An offer as Chromium makes it for the page (sound, picture, and the two pre-negotiated data
/// channels: one `m=application` section), trimmed of what does not matter here.
const BROWSER_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1 2\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS browser\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Hx3q\r
a=ice-pwd:Ue1mBkLJ9Fv0b3WqTZAKt4nS\r
a=ice-options:trickle\r
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3F:56:3F:3D:DE:0B:5C:B1:27:6D:62:16\r
a=setup:actpass\r
a=mid:0\r
a=sendrecv\r
a=msid:browser audio-track\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=ssrc:1001 cname:browser\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Hx3q\r
a=ice-pwd:Ue1mBkLJ9Fv0b3WqTZAKt4nS\r
a=ice-options:trickle\r
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3F:56:3F:3D:DE:0B:5C:B1:27:6D:62:16\r
a=setup:actpass\r
a=mid:1\r
a=sendrecv\r
a=msid:browser video-track\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 goog-remb\r
a=rtcp-fb:96 transport-cc\r
a=rtcp-fb:96 ccm fir\r
a=rtcp-fb:96 nack\r
a=rtcp-fb:96 nack pli\r
a=ssrc:2002 cname:browser\r
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
c=IN IP4 0.0.0.0\r
a=ice-ufrag:Hx3q\r
a=ice-pwd:Ue1mBkLJ9Fv0b3WqTZAKt4nS\r
a=ice-options:trickle\r
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3F:56:3F:3D:DE:0B:5C:B1:27:6D:62:16\r
a=setup:actpass\r
a=mid:2\r
a=sctp-port:5000\r
a=max-message-size:262144\r
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_offer_with_a_data_section_is_answered_with_one() {
    let _one_at_a_time = SERIAL.lock().await;
    let b = common::side();
    let offer = hearth_engine::SessionDescription {
        kind: "offer".into(),
        sdp: BROWSER_OFFER.into(),
    };
    b.peer
        .set_remote_description(&offer)
        .await
        .expect("the browser's offer");
    let answer = b.peer.create_answer().await.expect("answer");
    let sections: Vec<&str> = answer.sdp.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(sections.len(), 3, "{}", answer.sdp);
    assert!(sections[0].starts_with("m=audio"), "{sections:?}");
    assert!(sections[1].starts_with("m=video"), "{sections:?}");
    assert!(
        sections[2].starts_with("m=application") && sections[2].contains("webrtc-datachannel"),
        "{sections:?}"
    );
    assert!(answer.sdp.contains("a=sctp-port:5000"), "{}", answer.sdp);
    b.peer
        .set_local_description(&answer)
        .await
        .expect("the answer applies");
    assert_eq!(b.peer.signaling_state(), "stable");
    b.engine.close();
}
