//! Cameras and microphones, found through GStreamer's device monitor, and the test sources that
//! stand in for them when `HEARTH_FAKE_MEDIA=1`.

use gst::prelude::*;
use serde::Serialize;

use crate::{EngineError, MediaKind};

/// A device a person can pick, as the UI lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub kind: MediaKind,
    /// Stable while the device stays plugged in; what settings remember.
    pub device_id: String,
    pub label: String,
}

/// Where a call's picture and sound come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Capture {
    /// A moving test picture and a tone: no hardware, for tests and demos.
    Test,
    /// Real devices; `None` picks the system's default of that kind.
    Devices {
        camera: Option<String>,
        microphone: Option<String>,
    },
}

pub const TEST_CAMERA: &str = "test-camera";
pub const TEST_MICROPHONE: &str = "test-microphone";

fn test_devices() -> Vec<DeviceInfo> {
    vec![
        DeviceInfo {
            kind: MediaKind::Video,
            device_id: TEST_CAMERA.into(),
            label: "Test picture".into(),
        },
        DeviceInfo {
            kind: MediaKind::Audio,
            device_id: TEST_MICROPHONE.into(),
            label: "Test tone".into(),
        },
    ]
}

fn monitored() -> Vec<(MediaKind, gst::Device)> {
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    monitor.add_filter(Some("Audio/Source"), None);
    if monitor.start().is_err() {
        return Vec::new();
    }
    let devices = monitor.devices();
    monitor.stop();
    devices
        .into_iter()
        .filter_map(|device| {
            let class = device.device_class();
            // Sound servers list each output's "monitor" as a source: not a microphone.
            let is_monitor = device
                .properties()
                .and_then(|p| p.get::<String>("device.class").ok())
                .is_some_and(|c| c == "monitor");
            if class.starts_with("Video/Source") {
                Some((MediaKind::Video, device))
            } else if class.starts_with("Audio/Source") && !is_monitor {
                Some((MediaKind::Audio, device))
            } else {
                None
            }
        })
        .collect()
}

fn device_id(device: &gst::Device) -> String {
    let properties = device.properties();
    for key in [
        "device.path",
        "api.v4l2.path",
        "object.path",
        "node.name",
        "device.name",
    ] {
        if let Some(value) = properties.as_ref().and_then(|p| p.get::<String>(key).ok()) {
            return value;
        }
    }
    device.display_name().to_string()
}

/// Everything the person could pick for `capture`.
pub fn list(capture: &Capture) -> Vec<DeviceInfo> {
    if *capture == Capture::Test {
        return test_devices();
    }
    monitored()
        .into_iter()
        .map(|(kind, device)| DeviceInfo {
            kind,
            device_id: device_id(&device),
            label: device.display_name().to_string(),
        })
        .collect()
}

/// The source element for `kind`: the named device, else the first one found, else `None` (no
/// such hardware: the call goes on receiving only).
pub(crate) fn source(
    capture: &Capture,
    kind: MediaKind,
    wanted: Option<&str>,
) -> Result<Option<gst::Element>, EngineError> {
    if *capture == Capture::Test || wanted == Some(TEST_CAMERA) || wanted == Some(TEST_MICROPHONE) {
        let element = match kind {
            MediaKind::Video => gst::ElementFactory::make("videotestsrc")
                .property("is-live", true)
                .property_from_str("pattern", "ball")
                .build()?,
            MediaKind::Audio => gst::ElementFactory::make("audiotestsrc")
                .property("is-live", true)
                .property("freq", 440.0f64)
                .property("volume", 0.3f64)
                .build()?,
        };
        return Ok(Some(element));
    }
    let devices: Vec<gst::Device> = monitored()
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, d)| d)
        .collect();
    let chosen = match wanted {
        Some(id) => match devices.iter().find(|d| device_id(d) == id) {
            Some(d) => Some(d.clone()),
            // A remembered device that is gone: fall back rather than fail the call, and say so.
            None => {
                let fallback = devices.first();
                tracing::warn!(
                    wanted = id,
                    instead = fallback.map(device_id).as_deref(),
                    "the requested {kind:?} device is missing"
                );
                fallback.cloned()
            }
        },
        None => devices.first().cloned(),
    };
    match chosen {
        Some(device) => Ok(Some(device.create_element(None)?)),
        None => Ok(None),
    }
}
