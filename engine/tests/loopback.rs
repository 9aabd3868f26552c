//! Two engines in one process, test sources, descriptions and candidates handed across directly:
//! both connect, see each other's picture and hear each other, and mute and video-off work.

mod common;

use std::time::Duration;

use common::{engine, negotiate, relay, until, until_state};
use hearth_engine::MediaKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_call_each_other_with_picture_and_sound() {
    let (a, a_events, a_seen) = engine();
    let (b, b_events, b_seen) = engine();
    let mut a_states = relay(a_events, b.clone()).states;
    let mut b_states = relay(b_events, a.clone()).states;

    // As the page does when it attaches its tracks.
    for engine in [&a, &b] {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            engine.set_sending(kind, true).expect("sending");
        }
    }
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

    until_state(&mut a_states, "connected").await;
    until_state(&mut b_states, "connected").await;

    // At least 60 frames each way, and the other side's tone heard.
    for (name, engine) in [("a", &a), ("b", &b)] {
        let progress = until(engine, &format!("{name} receives 60 frames"), |p| {
            p.remote_frames >= 60
        })
        .await;
        assert!(progress.local_frames > 0, "{name} shows no preview");
        let heard = until(engine, &format!("{name} hears the tone"), |p| {
            p.remote_level_db.is_some_and(|db| db > -30.0)
        })
        .await;
        assert!(heard.remote_level_db.is_some_and(|db| db < 0.1));
    }
    for seen in [&a_seen, &b_seen] {
        let sizes = seen.remote_sizes.lock().expect("sizes").clone();
        assert!(
            sizes.iter().all(|&(w, h)| (w, h) == (640, 480)),
            "remote sizes {sizes:?}"
        );
    }

    // Stats in the browser's shape, as the UI's stats panel reads them.
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

    // Mute: the other side's level falls to silence. Video off: its frames stop coming.
    a.set_sending(MediaKind::Audio, false).expect("mute");
    until(&b, "b hears silence after a mutes", |p| {
        p.remote_level_db.is_some_and(|db| db < -80.0)
    })
    .await;
    a.set_sending(MediaKind::Audio, true).expect("unmute");
    until(&b, "b hears a again", |p| {
        p.remote_level_db.is_some_and(|db| db > -30.0)
    })
    .await;

    // Video off also closes the camera: a's own preview stops with it.
    a.set_sending(MediaKind::Video, false).expect("video off");
    a.set_camera(false).expect("camera off");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = b.progress().remote_frames;
    let preview = a.progress().local_frames;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        b.progress().remote_frames <= stopped + 1,
        "frames kept coming with the video off"
    );
    assert!(
        a.progress().local_frames <= preview + 1,
        "the camera kept capturing with the video off"
    );
    a.set_camera(true).expect("camera on");
    a.set_sending(MediaKind::Video, true).expect("video on");
    until(&b, "b sees a again", |p| p.remote_frames > stopped + 20).await;
    until(&a, "a's preview comes back", |p| {
        p.local_frames > preview + 20
    })
    .await;

    // `restartIce()`: the engine asks webrtcbin for an offer with `ice-restart`. GStreamer 1.22's
    // webrtcbin keeps the same ICE credentials (measured: the ufrag does not change), so this is
    // a renegotiation, not a new ICE session; what matters is that the call survives it.
    negotiate(&a, &b, true).await;
    let before = b.progress().remote_frames;
    until(&b, "b sees a after the restart", |p| {
        p.remote_frames > before + 30
    })
    .await;
    assert_ne!(a.connection_state(), "failed");

    a.close();
    b.close();
    assert!(
        a.create_offer(false).await.is_err(),
        "a closed engine still negotiates"
    );
}

#[tokio::test]
async fn bad_descriptions_are_errors_not_crashes() {
    let (a, _events, _seen) = engine();
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
    a.close();
}
