//! Two engines in one process, test sources, descriptions and candidates handed across directly:
//! both connect, see each other's picture and hear each other, and mute and video-off work.

mod common;

use std::time::Duration;

use common::{negotiate, relay, send_all, side, stays_still, until, until_state, Side};
use hearth_engine::{FrameOrigin, MediaKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_call_each_other_with_picture_and_sound() {
    let Side {
        engine: a_engine,
        peer: a,
        events: a_events,
        seen: a_seen,
    } = side();
    let Side {
        engine: b_engine,
        peer: b,
        events: b_events,
        seen: b_seen,
    } = side();
    let a_relayed = relay(a_events, a.id(), b.clone());
    let (mut a_states, mut a_signaling) = (a_relayed.states, a_relayed.signaling);
    let mut b_states = relay(b_events, b.id(), a.clone()).states;

    send_all(&a);
    send_all(&b);
    let offer = a.create_offer(false).await.expect("offer");
    assert_eq!(offer.kind, "offer");
    assert!(
        offer.sdp.contains("VP8/90000") && offer.sdp.contains("OPUS/48000"),
        "{}",
        offer.sdp
    );
    a.set_local_description(&offer)
        .await
        .expect("a: local offer");
    assert_eq!(a.signaling_state(), "have-local-offer");
    b.set_remote_description(&offer)
        .await
        .expect("b: remote offer");
    assert_eq!(b.signaling_state(), "have-remote-offer");
    let answer = b.create_answer().await.expect("answer");
    b.set_local_description(&answer)
        .await
        .expect("b: local answer");
    a.set_remote_description(&answer)
        .await
        .expect("a: remote answer");
    assert_eq!(a.signaling_state(), "stable");
    assert_eq!(b.signaling_state(), "stable");
    // The signaling state reaches the owner as webrtcbin changes it.
    for wanted in ["have-local-offer", "stable"] {
        let state = tokio::time::timeout(Duration::from_secs(5), a_signaling.recv())
            .await
            .expect("a signaling state event");
        assert_eq!(state.as_deref(), Some(wanted));
    }

    until_state(&mut a_states, "connected").await;
    until_state(&mut b_states, "connected").await;

    // At least 60 frames each way, and the other side's tone heard.
    for (name, peer) in [("a", &a), ("b", &b)] {
        let progress = until(
            || peer.progress(),
            &format!("{name} receives 60 frames"),
            |p| p.remote_frames >= 60,
        )
        .await;
        assert!(progress.local_frames > 0, "{name} shows no preview");
        assert_eq!(progress.camera_opens, 1);
        let heard = until(
            || peer.progress(),
            &format!("{name} hears the tone"),
            |p| p.remote_level_db.is_some_and(|db| db > -30.0),
        )
        .await;
        assert!(heard.remote_level_db.is_some_and(|db| db < 0.1));
    }
    for (seen, from) in [(&a_seen, a.id()), (&b_seen, b.id())] {
        let sizes = seen.remote_sizes.lock().expect("sizes").clone();
        assert!(
            sizes.iter().all(|&(w, h)| (w, h) == (640, 360)),
            "remote sizes {sizes:?}"
        );
        // Remote frames are tagged with the connection they came on.
        let origins = seen.remote_origins();
        assert!(
            !origins.is_empty()
                && origins
                    .keys()
                    .all(|o| matches!(o, FrameOrigin::Remote { peer, .. } if *peer == from)),
            "{origins:?}"
        );
    }

    // Stats in the browser's shape, as the UI's stats panel reads them; nothing made up.
    let stats = a.stats().await.expect("stats");
    let inbound_video = stats
        .iter()
        .find(|s| s["type"] == "inbound-rtp" && s["kind"] == "video")
        .unwrap_or_else(|| panic!("no inbound video in {stats:#?}"));
    assert!(
        inbound_video["packetsReceived"].as_u64().unwrap_or(0) > 0,
        "{inbound_video:#?}"
    );
    let inbound_audio = stats
        .iter()
        .find(|s| s["type"] == "inbound-rtp" && s["kind"] == "audio")
        .unwrap_or_else(|| panic!("no inbound audio in {stats:#?}"));
    assert_ne!(inbound_audio["ssrc"], inbound_video["ssrc"]);
    let outbound_video = stats
        .iter()
        .find(|s| s["type"] == "outbound-rtp" && s["kind"] == "video")
        .unwrap_or_else(|| panic!("no outbound video in {stats:#?}"));
    assert!(outbound_video["bytesSent"].as_u64().unwrap_or(0) > 0);
    // The engine adds one entry of its own, the measured microphone; no candidate pair state
    // or level is made up where webrtcbin gives none.
    let own: Vec<_> = stats
        .iter()
        .filter(|s| s["id"].as_str().is_some_and(|id| id.starts_with("hearth-")))
        .collect();
    assert_eq!(own.len(), 1, "{own:#?}");
    assert!(stats
        .iter()
        .filter(|s| s["type"] == "candidate-pair")
        .all(|s| s.get("state").is_none() && s.get("currentRoundTripTime").is_none()));
    let microphone = stats
        .iter()
        .find(|s| s["type"] == "media-source")
        .unwrap_or_else(|| panic!("no measured microphone in {stats:#?}"));
    let level = microphone["audioLevel"].as_f64().unwrap_or(-1.0);
    assert!(level > 0.05 && level <= 1.0, "the tone's level {level}");

    // Mute: the other side's level falls to silence, and the measured microphone level with it.
    a_engine.set_microphone_enabled(false).expect("mute");
    until(
        || b.progress(),
        "b hears silence after a mutes",
        |p| p.remote_level_db.is_some_and(|db| db < -80.0),
    )
    .await;
    let stats = a.stats().await.expect("stats");
    let muted = stats
        .iter()
        .find(|s| s["type"] == "media-source")
        .and_then(|s| s["audioLevel"].as_f64());
    assert!(muted.is_some_and(|l| l < 0.001), "muted level {muted:?}");
    a_engine.set_microphone_enabled(true).expect("unmute");
    until(
        || b.progress(),
        "b hears a again",
        |p| p.remote_level_db.is_some_and(|db| db > -30.0),
    )
    .await;

    // Video off also closes the camera: a's own preview stops with it.
    a.set_sending(MediaKind::Video, false).expect("video off");
    a_engine.set_camera(false).expect("camera off");
    assert!(!a_engine.camera_on());
    stays_still(
        || b.progress().remote_frames,
        "frames kept coming with the video off",
    )
    .await;
    stays_still(
        || a.progress().local_frames,
        "the camera kept capturing with the video off",
    )
    .await;
    let stopped = b.progress().remote_frames;
    let preview = a.progress().local_frames;
    a_engine.set_camera(true).expect("camera on");
    a.set_sending(MediaKind::Video, true).expect("video on");
    assert_eq!(a.progress().camera_opens, 2);
    until(
        || b.progress(),
        "b sees a again",
        |p| p.remote_frames > stopped + 20,
    )
    .await;
    until(
        || a.progress(),
        "a's preview comes back",
        |p| p.local_frames > preview + 20,
    )
    .await;

    // `restartIce()`: the engine asks webrtcbin for an offer with `ice-restart`. GStreamer 1.22's
    // webrtcbin keeps the same ICE credentials (measured: the ufrag does not change), so this is
    // a renegotiation, not a new ICE session; what matters is that the call survives it.
    negotiate(&a, &b, true).await;
    let before = b.progress().remote_frames;
    until(
        || b.progress(),
        "b sees a after the restart",
        |p| p.remote_frames > before + 30,
    )
    .await;
    assert_ne!(a.connection_state(), "failed");

    a_engine.close();
    b_engine.close();
    assert!(
        a.create_offer(false).await.is_err(),
        "a closed engine still negotiates"
    );
    assert!(a_engine.add_peer(&Default::default()).is_err());
}

#[tokio::test]
async fn bad_descriptions_are_errors_not_crashes() {
    let Side {
        engine, peer: a, ..
    } = side();
    let bad = hearth_engine::SessionDescription {
        kind: "offer".into(),
        sdp: "not sdp at all".into(),
    };
    assert!(a.set_remote_description(&bad).await.is_err());
    let wrong = hearth_engine::SessionDescription {
        kind: "greeting".into(),
        sdp: String::new(),
    };
    assert!(a.set_remote_description(&wrong).await.is_err());
    // An answer with no offer before it is refused by webrtcbin, and reported.
    let offer = a.create_offer(false).await.expect("offer");
    let answer = hearth_engine::SessionDescription {
        kind: "answer".into(),
        sdp: offer.sdp,
    };
    assert!(a.set_remote_description(&answer).await.is_err());
    // No rollback in GStreamer 1.22: refused, not pretended.
    let rollback = hearth_engine::SessionDescription {
        kind: "rollback".into(),
        sdp: String::new(),
    };
    assert!(a.set_remote_description(&rollback).await.is_err());
    engine.close();
}
