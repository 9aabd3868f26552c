//! Sharing the screen: the picture every connection receives switches from the camera to the
//! screen (a 1280x720 test screen here) in the video track it already has, with no
//! renegotiation, and the preview shows it; stopping brings back the camera as it was (its
//! picture if it was on, nothing if it was off); a screen shared again may have another size;
//! a real X11 screen (an Xvfb of the test's own) is shared at its size. Both encodings (one encoder shared, one per
//! connection) are exercised.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    capture, negotiate, relay, send_all, stays_still, until, until_state, Forward, SERIAL,
};
use hearth_engine::{
    Encoding, Engine, Peer, PeerConfig, ScreenInfo, ScreenSource, HEIGHT, TEST_SCREEN_HEIGHT,
    TEST_SCREEN_WIDTH, WIDTH,
};

const SCREEN: (u32, u32) = (TEST_SCREEN_WIDTH, TEST_SCREEN_HEIGHT);
const CAMERA: (u32, u32) = (WIDTH, HEIGHT);

/// Polls until `size()` is `wanted`; 90 s at most (two busy shared cores).
async fn until_size(size: impl Fn() -> Option<(u32, u32)>, what: &str, wanted: (u32, u32)) {
    for _ in 0..1800 {
        if size() == Some(wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {:?}, not {wanted:?}", size());
}

/// A (camera on if `video`) calls B (camera on), both sending; returns A's engine, A's
/// connection, B's engine, B's connection and what B saw.
async fn call(
    video: bool,
    encoding: Encoding,
) -> (
    Arc<Engine>,
    Arc<Forward>,
    Arc<Peer>,
    Arc<Engine>,
    Arc<Forward>,
) {
    let (a, a_events, a_seen) = capture(video, encoding);
    let ab = a.add_peer(&PeerConfig::default()).expect("a to b");
    let b = common::side();
    let mut a_states = relay(a_events, ab.id(), b.peer.clone()).states;
    let mut b_states = relay(b.events, b.peer.id(), ab.clone()).states;
    send_all(&ab);
    send_all(&b.peer);
    negotiate(&ab, &b.peer, false).await;
    until_state(&mut a_states, "connected").await;
    until_state(&mut b_states, "connected").await;
    (a, a_seen, ab, b.engine, b.seen)
}

async fn share_and_stop_with_the_camera_on(encoding: Encoding) {
    let _one_at_a_time = SERIAL.lock().await;
    let (a, a_seen, ab, b, b_seen) = call(true, encoding).await;
    let b_sees = || b_seen.remote_origins().values().sum::<u64>();
    until(|| ab.progress(), "a's preview", |p| p.local_frames >= 20).await;
    until_size(|| b_seen.last_remote_size(), "b sees a's camera", CAMERA).await;
    let signaling = ab.signaling_state();

    let info = a.share_screen(&ScreenSource::test()).expect("share");
    assert_eq!(
        info,
        ScreenInfo {
            width: SCREEN.0,
            height: SCREEN.1
        }
    );
    assert!(a.sharing_screen());
    until_size(|| b_seen.last_remote_size(), "b sees a's screen", SCREEN).await;
    until_size(
        || *a_seen.local_size.lock().expect("size"),
        "a's preview",
        SCREEN,
    )
    .await;
    until(
        || ab.progress(),
        "a captures the screen",
        |p| p.screen_frames >= 15,
    )
    .await;
    let seen = b_sees();
    until(
        || ab.progress(),
        "b keeps seeing it",
        |_| b_sees() > seen + 10,
    )
    .await;
    // Sharing again while shared changes nothing.
    assert_eq!(a.share_screen(&ScreenSource::test()).expect("again"), info);

    a.stop_screen_share().expect("stop");
    assert!(!a.sharing_screen());
    until_size(
        || b_seen.last_remote_size(),
        "b sees a's camera again",
        CAMERA,
    )
    .await;
    until_size(
        || *a_seen.local_size.lock().expect("size"),
        "a's preview",
        CAMERA,
    )
    .await;
    stays_still(
        || ab.progress().screen_frames,
        "the screen is still captured",
    )
    .await;
    let seen = b_sees();
    until(
        || ab.progress(),
        "b keeps seeing the camera",
        |_| b_sees() > seen + 20,
    )
    .await;
    assert_eq!(ab.progress().camera_opens, 1, "sharing touched the camera");
    assert_eq!(ab.signaling_state(), signaling, "sharing renegotiated");
    // Stopping again changes nothing.
    a.stop_screen_share().expect("stop again");
    a.close();
    b.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_replaces_the_camera_and_back_with_an_encoder_each() {
    share_and_stop_with_the_camera_on(Encoding::PerPeer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_replaces_the_camera_and_back_with_a_shared_encoder() {
    share_and_stop_with_the_camera_on(Encoding::Shared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_was_off_stays_off_after_sharing() {
    let _one_at_a_time = SERIAL.lock().await;
    let (a, _, ab, b, b_seen) = call(false, Encoding::PerPeer).await;
    let b_sees = || b_seen.remote_origins().values().sum::<u64>();
    assert_eq!(b_sees(), 0, "b sees a's closed camera");

    a.share_screen(&ScreenSource::test()).expect("share");
    until_size(|| b_seen.last_remote_size(), "b sees a's screen", SCREEN).await;
    until(|| ab.progress(), "b sees the screen", |_| b_sees() >= 15).await;

    a.stop_screen_share().expect("stop");
    stays_still(b_sees, "b still gets a picture from a's closed camera").await;
    stays_still(|| ab.progress().local_frames, "a still captures").await;
    let progress = ab.progress();
    assert_eq!(
        progress.camera_opens, 0,
        "stopping the share opened the camera"
    );
    assert!(!a.camera_on());

    // Another screen of another size: its size is answered and sent.
    let other = ScreenSource::Test {
        width: 960,
        height: 540,
    };
    let info = a.share_screen(&other).expect("share again");
    assert_eq!((info.width, info.height), (960, 540));
    until_size(
        || b_seen.last_remote_size(),
        "b sees the other screen",
        (960, 540),
    )
    .await;
    a.stop_screen_share().expect("stop");
    a.close();
    b.close();
}

/// An X server of the test's own (Xvfb, which `scripts/setup.sh` installs) on a display it
/// picks itself; stopped when dropped.
struct Xvfb {
    server: std::process::Child,
    display: String,
}

impl Xvfb {
    fn start(width: u32, height: u32) -> Xvfb {
        use std::io::BufRead;
        let mut server = std::process::Command::new("Xvfb")
            // Writes the display number it chose to stdout once it accepts connections.
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Xvfb (apt install xvfb, see scripts/setup.sh)");
        let mut line = String::new();
        let stdout = server.stdout.take().expect("Xvfb's output");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("Xvfb's display number");
        let number: u32 = line.trim().parse().expect("a display number");
        Xvfb {
            server,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x11_screen_is_shared_at_its_size() {
    let _one_at_a_time = SERIAL.lock().await;
    let x = Xvfb::start(1920, 1080);
    let (a, _, ab, b, b_seen) = call(true, Encoding::PerPeer).await;
    until_size(|| b_seen.last_remote_size(), "b sees a's camera", CAMERA).await;

    // A display that is not there is an answer, and the call goes on with the camera.
    let missing = a.share_screen(&ScreenSource::X11 {
        display: ":4242".into(),
    });
    assert!(
        matches!(missing, Err(hearth_engine::EngineError::NoScreen(_))),
        "{missing:?}"
    );
    assert!(!a.sharing_screen());

    let info = a
        .share_screen(&ScreenSource::X11 {
            display: x.display.clone(),
        })
        .expect("share the X screen");
    assert_eq!((info.width, info.height), (1920, 1080));
    // Handed over at most 1280 wide (hearth_engine::REMOTE_MAX_WIDTH), keeping the aspect.
    until_size(
        || b_seen.last_remote_size(),
        "b sees a's screen",
        (1280, 720),
    )
    .await;
    a.stop_screen_share().expect("stop");
    until_size(
        || b_seen.last_remote_size(),
        "b sees a's camera again",
        CAMERA,
    )
    .await;
    assert_eq!(ab.progress().camera_opens, 1);
    a.close();
    b.close();
}
