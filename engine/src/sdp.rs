//! Session descriptions between the browser's shape (`{type, sdp}` text) and webrtcbin's
//! (`WebRTCSessionDescription`), and what a description says about its streams.

use std::collections::HashMap;

use crate::{EngineError, SessionDescription};

/// The RTP caps the engine sends and offers, one per kind.
pub(crate) const VIDEO_RTP_CAPS: &str =
    "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000";
pub(crate) const AUDIO_RTP_CAPS: &str =
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2";

fn sdp_type(kind: &str) -> Result<gst_webrtc::WebRTCSDPType, EngineError> {
    match kind {
        "offer" => Ok(gst_webrtc::WebRTCSDPType::Offer),
        "answer" => Ok(gst_webrtc::WebRTCSDPType::Answer),
        "pranswer" => Ok(gst_webrtc::WebRTCSDPType::Pranswer),
        // GStreamer 1.22's webrtcbin cannot roll back: the native side is always the impolite
        // peer of perfect negotiation, which never needs to.
        "rollback" => Err(EngineError::Negotiation(
            "GStreamer 1.22 cannot roll back a description".into(),
        )),
        other => Err(EngineError::BadSdpType(other.to_string())),
    }
}

/// The browser's description as webrtcbin's, refusing text that is not a description.
pub(crate) fn to_gst(
    description: &SessionDescription,
) -> Result<gst_webrtc::WebRTCSessionDescription, EngineError> {
    let kind = sdp_type(&description.kind)?;
    if description.sdp.trim().is_empty() {
        return Err(EngineError::BadSdp("empty".into()));
    }
    let sdp = gst_sdp::SDPMessage::parse_buffer(description.sdp.as_bytes())
        .map_err(|e| EngineError::BadSdp(e.to_string()))?;
    // GStreamer's parser takes almost any text; a description without a version line or any
    // media section is not one a peer could have meant.
    if !description.sdp.starts_with("v=0") || sdp.medias_len() == 0 {
        return Err(EngineError::BadSdp(
            "no version line or no media section".into(),
        ));
    }
    Ok(gst_webrtc::WebRTCSessionDescription::new(kind, sdp))
}

/// webrtcbin's description in the browser's shape.
pub(crate) fn from_gst(
    description: &gst_webrtc::WebRTCSessionDescription,
) -> Result<SessionDescription, EngineError> {
    let kind = match description.type_() {
        gst_webrtc::WebRTCSDPType::Offer => "offer",
        gst_webrtc::WebRTCSDPType::Answer => "answer",
        gst_webrtc::WebRTCSDPType::Pranswer => "pranswer",
        _ => "rollback",
    };
    let sdp = description
        .sdp()
        .as_text()
        .map_err(|e| EngineError::BadSdp(e.to_string()))?;
    Ok(SessionDescription {
        kind: kind.into(),
        sdp,
    })
}

/// Which media kind (`audio`, `video`) each SSRC announced in `description` carries.
pub(crate) fn ssrc_kinds(
    description: &gst_webrtc::WebRTCSessionDescription,
    kinds: &mut HashMap<u64, String>,
) {
    for media in description.sdp().medias() {
        let Some(kind) = media.media() else { continue };
        for attribute in media.attributes().filter(|a| a.key() == "ssrc") {
            let ssrc = attribute
                .value()
                .and_then(|v| v.split(' ').next()?.parse().ok());
            if let Some(ssrc) = ssrc {
                kinds.insert(ssrc, kind.to_string());
            }
        }
    }
}
