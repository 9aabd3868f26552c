//! One capture shared by several connections: an engine calling two others at once, its camera
//! opened once for both; video off closing the camera for every connection; removing one
//! connection leaving the other running; a capture started with the video off never opening
//! the camera. Both encodings (one encoder shared, one per connection) are exercised.

mod common;

use std::time::Duration;

use common::{
    capture, capture_of, negotiate, relay, send_all, stays_still, until, until_state, Relayer,
    SERIAL,
};
use hearth_engine::{Capture, Encoding, FrameOrigin, MediaKind, PeerConfig};

/// A calls B and C at once (two connections on one capture); B and C each have one.
async fn three_engines(encoding: Encoding) {
    let _one_at_a_time = SERIAL.lock().await;
    let (a, a_events, a_seen) = capture(true, encoding);
    let ab = a.add_peer(&PeerConfig::default()).expect("a to b");
    let ac = a.add_peer(&PeerConfig::default()).expect("a to c");
    assert_ne!(ab.id(), ac.id());
    assert_eq!(a.peer_ids(), vec![ab.id(), ac.id()]);
    let b = common::side();
    let c = common::side();
    let a_relay = Relayer::start(a_events);
    let mut a_relayed = [
        a_relay.route(ab.id(), b.peer.clone()),
        a_relay.route(ac.id(), c.peer.clone()),
    ];
    let mut b_states = relay(b.events, b.peer.id(), ab.clone()).states;
    let mut c_states = relay(c.events, c.peer.id(), ac.clone()).states;
    for peer in [&ab, &ac, &b.peer, &c.peer] {
        send_all(peer);
    }
    negotiate(&ab, &b.peer, false).await;
    negotiate(&c.peer, &ac, false).await;
    for relayed in &mut a_relayed {
        until_state(&mut relayed.states, "connected").await;
    }
    until_state(&mut b_states, "connected").await;
    until_state(&mut c_states, "connected").await;

    // Everyone sees everyone they are connected to; A's camera was opened once for both.
    until(|| b.peer.progress(), "b sees a", |p| p.remote_frames >= 30).await;
    until(|| c.peer.progress(), "c sees a", |p| p.remote_frames >= 30).await;
    until(|| ab.progress(), "a sees b", |p| p.remote_frames >= 30).await;
    until(|| ac.progress(), "a sees c", |p| p.remote_frames >= 30).await;
    until(
        || ac.progress(),
        "a hears c",
        |p| p.remote_level_db.is_some_and(|db| db > -30.0),
    )
    .await;
    assert_eq!(
        a.progress().camera_opens,
        1,
        "the second connection reopened the camera"
    );
    // A's remote frames are keyed by (connection, track): one key per connection here.
    let origins = a_seen.remote_origins();
    for peer in [ab.id(), ac.id()] {
        assert!(
            origins
                .keys()
                .any(|o| matches!(o, FrameOrigin::Remote { peer: p, .. } if *p == peer)),
            "no frames from {peer} in {origins:?}"
        );
    }

    // Video off closes the camera for every connection; on opens it again for both.
    a.set_camera(false).expect("camera off");
    stays_still(|| a.progress().local_frames, "a's camera still captures").await;
    stays_still(
        || b.peer.progress().remote_frames,
        "b still gets a's picture",
    )
    .await;
    stays_still(
        || c.peer.progress().remote_frames,
        "c still gets a's picture",
    )
    .await;
    let (b_stopped, c_stopped) = (
        b.peer.progress().remote_frames,
        c.peer.progress().remote_frames,
    );
    a.set_camera(true).expect("camera on");
    assert_eq!(a.progress().camera_opens, 2);
    until(
        || b.peer.progress(),
        "b sees a again",
        |p| p.remote_frames > b_stopped + 20,
    )
    .await;
    until(
        || c.peer.progress(),
        "c sees a again",
        |p| p.remote_frames > c_stopped + 20,
    )
    .await;

    // C leaves: A removes its connection to C; A and B carry on.
    assert!(a.remove_peer(ac.id()));
    assert!(!a.remove_peer(ac.id()), "removed twice");
    assert_eq!(a.peer_ids(), vec![ab.id()]);
    assert!(
        ac.create_offer(false).await.is_err(),
        "a removed connection negotiates"
    );
    let (b_then, a_then) = (b.peer.progress().remote_frames, ab.progress().remote_frames);
    until(
        || b.peer.progress(),
        "b still sees a",
        |p| p.remote_frames > b_then + 30,
    )
    .await;
    until(
        || ab.progress(),
        "a still sees b",
        |p| p.remote_frames > a_then + 30,
    )
    .await;
    until(
        || b.peer.progress(),
        "b still hears a",
        |p| p.remote_level_db.is_some_and(|db| db > -30.0),
    )
    .await;
    assert_eq!(
        a.progress().camera_opens,
        2,
        "removing a connection touched the camera"
    );

    // D joins the running capture later: no camera reopened, and D sees A while B still does.
    let ad = a.add_peer(&PeerConfig::default()).expect("a to d");
    let d = common::side();
    let mut ad_states = a_relay.route(ad.id(), d.peer.clone()).states;
    let mut d_states = relay(d.events, d.peer.id(), ad.clone()).states;
    send_all(&ad);
    send_all(&d.peer);
    negotiate(&ad, &d.peer, false).await;
    until_state(&mut ad_states, "connected").await;
    until_state(&mut d_states, "connected").await;
    until(|| d.peer.progress(), "d sees a", |p| p.remote_frames >= 30).await;
    until(|| ad.progress(), "a sees d", |p| p.remote_frames >= 30).await;
    let b_now = b.peer.progress().remote_frames;
    until(
        || b.peer.progress(),
        "b still sees a",
        |p| p.remote_frames > b_now + 30,
    )
    .await;
    assert_eq!(
        a.progress().camera_opens,
        2,
        "a new connection reopened the camera"
    );

    a.close();
    for engine in [&b.engine, &c.engine, &d.engine] {
        engine.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_capture_feeds_two_connections_with_a_shared_encoder() {
    three_engines(Encoding::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_capture_feeds_two_connections_with_an_encoder_each() {
    three_engines(Encoding::PerPeer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_started_with_the_video_off_never_opens_the_camera() {
    let _one_at_a_time = SERIAL.lock().await;
    let (a, a_events, _) = capture(false, Encoding::default());
    assert!(!a.camera_on());
    // A call with the camera off: the other side still sees nothing from A and A sees B.
    let ab = a.add_peer(&PeerConfig::default()).expect("a to b");
    let b = common::side();
    let mut a_states = relay(a_events, ab.id(), b.peer.clone()).states;
    let mut b_states = relay(b.events, b.peer.id(), ab.clone()).states;
    send_all(&ab);
    send_all(&b.peer);
    negotiate(&ab, &b.peer, false).await;
    until_state(&mut a_states, "connected").await;
    until_state(&mut b_states, "connected").await;
    until(|| ab.progress(), "a sees b", |p| p.remote_frames >= 30).await;
    until(
        || b.peer.progress(),
        "b hears a",
        |p| p.remote_level_db.is_some_and(|db| db > -30.0),
    )
    .await;
    let progress = ab.progress();
    assert_eq!(
        progress.local_frames, 0,
        "a captured pictures with its video off"
    );
    assert_eq!(
        progress.camera_opens, 0,
        "a opened its camera with its video off"
    );
    assert_eq!(
        b.peer.progress().remote_frames,
        0,
        "b got a picture from a's closed camera"
    );

    // Start Video: the camera opens once and both the preview and b get the picture.
    a.set_camera(true).expect("camera on");
    until(|| ab.progress(), "a's preview", |p| p.local_frames >= 20).await;
    until(|| b.peer.progress(), "b sees a", |p| p.remote_frames >= 20).await;
    assert_eq!(ab.progress().camera_opens, 1);
    ab.set_sending(MediaKind::Video, false).expect("video off");
    a.close();
    b.engine.close();
}

#[tokio::test]
async fn real_devices_with_the_video_off_make_no_camera_source() {
    // Whatever this machine has, a capture of real devices started with the video off makes
    // no camera source element.
    let (a, _events, _) = capture_of(
        Capture::Devices {
            camera: None,
            microphone: None,
        },
        false,
        Encoding::default(),
    );
    let _peer = a.add_peer(&PeerConfig::default()).expect("a connection");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let progress = a.progress();
    assert_eq!(progress.camera_opens, 0);
    assert_eq!(progress.local_frames, 0);
    a.close();
}
