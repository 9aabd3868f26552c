//! The screen a person shares: where its picture comes from (the X11 display through
//! `ximagesrc`, or a test pattern standing in for it), chosen from the session, and the source
//! element that captures it. Switching the capture's picture to it is the capture graph's
//! business (`capture`).
//!
//! A Wayland session without X11 gets [`EngineError::NoScreen`] with the reason: sharing through
//! the desktop portal (`ashpd` and `pipewiresrc`) is not built yet.

use gst::prelude::*;
use serde::Serialize;

use crate::{capsfilter, EngineError};

/// Pictures of the screen per second.
pub const SCREEN_FPS: u32 = 15;
/// The largest picture of the screen sent; a larger screen is scaled down to fit, keeping its
/// aspect ratio.
pub const SCREEN_MAX_WIDTH: u32 = 1920;
pub const SCREEN_MAX_HEIGHT: u32 = 1080;
/// The encoder's bitrate while the screen is sent, bits per second (the camera's is
/// [`crate::CAMERA_BITRATE`]): text needs sharper pictures than a face.
pub const SCREEN_BITRATE: u32 = 2_500_000;
/// The test screen's size (`HEARTH_FAKE_MEDIA=1`).
pub const TEST_SCREEN_WIDTH: u32 = 1280;
pub const TEST_SCREEN_HEIGHT: u32 = 720;

/// Where a shared screen's picture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenSource {
    /// A test pattern of this size (tests, demos, `HEARTH_FAKE_MEDIA=1`).
    Test { width: u32, height: u32 },
    /// The whole screen of an X11 display (`:0`), through `ximagesrc`.
    X11 { display: String },
}

/// The size of the picture sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScreenInfo {
    pub width: u32,
    pub height: u32,
}

impl ScreenSource {
    /// The test screen, [`TEST_SCREEN_WIDTH`]x[`TEST_SCREEN_HEIGHT`].
    pub fn test() -> ScreenSource {
        ScreenSource::Test {
            width: TEST_SCREEN_WIDTH,
            height: TEST_SCREEN_HEIGHT,
        }
    }

    /// The session's screen, from `DISPLAY` and `XDG_SESSION_TYPE`: X11 when there is a display
    /// and the session is not Wayland (whose X11 display shows only X11 windows).
    pub fn detect(
        display: Option<&str>,
        session_type: Option<&str>,
    ) -> Result<ScreenSource, EngineError> {
        if session_type.is_some_and(|t| t.eq_ignore_ascii_case("wayland")) {
            return Err(EngineError::NoScreen(
                "this is a Wayland session, and the app cannot share a Wayland screen yet \
                 (the desktop portal is not supported); choose an X11 session (\"on Xorg\") at \
                 login to share the screen"
                    .into(),
            ));
        }
        match display.filter(|d| !d.trim().is_empty()) {
            Some(display) => Ok(ScreenSource::X11 {
                display: display.to_string(),
            }),
            None => Err(EngineError::NoScreen(
                "there is no X11 display to capture (DISPLAY is not set)".into(),
            )),
        }
    }

    /// The source: a bin whose `src` pad gives raw pictures at [`SCREEN_FPS`].
    pub(crate) fn element(&self) -> Result<gst::Element, EngineError> {
        let rate = format!("framerate={SCREEN_FPS}/1");
        let (source, caps) = match self {
            ScreenSource::Test { width, height } => (
                // A ball moving over a still blue screen, in yellow: like a real screen, mostly
                // still, and unlike the test camera's white ball on black.
                gst::ElementFactory::make("videotestsrc")
                    .name("screen-test")
                    .property("is-live", true)
                    .property_from_str("pattern", "ball")
                    .property("background-color", 0xff20_4060u32)
                    .property("foreground-color", 0xffff_d000u32)
                    .build()?,
                format!("video/x-raw,width={width},height={height},{rate}"),
            ),
            ScreenSource::X11 { display } => (
                gst::ElementFactory::make("ximagesrc")
                    .name("screen-x11")
                    .property("display-name", display)
                    .property("use-damage", false)
                    .property("show-pointer", true)
                    .build()
                    .map_err(|_| {
                        EngineError::NoScreen(
                            "the GStreamer element ximagesrc is missing \
                             (install gstreamer1.0-plugins-good)"
                                .into(),
                        )
                    })?,
                format!("video/x-raw,{rate}"),
            ),
        };
        let caps = capsfilter("screen-source-caps", &caps)?;
        let bin = gst::Bin::builder().name("screen-source").build();
        bin.add_many([&source, &caps])?;
        source.link(&caps)?;
        let output = caps
            .static_pad("src")
            .ok_or_else(|| EngineError::Pipeline("a capsfilter without a source pad".into()))?;
        bin.add_pad(
            &gst::GhostPad::builder_with_target(&output)?
                .name("src")
                .build(),
        )?;
        Ok(bin.upcast())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_decides_where_the_screen_comes_from() {
        assert_eq!(
            ScreenSource::detect(Some(":1"), Some("x11")).ok(),
            Some(ScreenSource::X11 {
                display: ":1".into()
            })
        );
        assert_eq!(
            ScreenSource::detect(Some(":0"), None).ok(),
            Some(ScreenSource::X11 {
                display: ":0".into()
            })
        );
        assert!(matches!(
            ScreenSource::detect(Some(":0"), Some("wayland")),
            Err(EngineError::NoScreen(why)) if why.contains("Wayland")
        ));
        assert!(matches!(
            ScreenSource::detect(None, Some("x11")),
            Err(EngineError::NoScreen(why)) if why.contains("DISPLAY")
        ));
        assert!(ScreenSource::detect(Some(""), None).is_err());
    }
}
