//! webrtcbin's `get-stats` reply (a structure of structures) as a list of JSON objects shaped like
//! the browser's `RTCStatsReport` entries, so the UI's stats code reads both the same way.
//!
//! Nothing here is invented: a figure webrtcbin does not give is missing from the list, and the
//! page must show it as unknown. What GStreamer 1.22's webrtcbin gives (fields camel-cased):
//! - `codec`: `payloadType`, `clockRate`, `mimeType`, `codecType`, `ssrc`, `channels`,
//!   `sdpFmtpLine` (audio);
//! - `inbound-rtp`: `ssrc`, `kind`, `packetsReceived`, `bytesReceived`, `packetsLost`, `jitter`,
//!   `firCount`, `pliCount`, `nackCount`; **no `framesDecoded`, `frameWidth`, `frameHeight`,
//!   `framesPerSecond` or `audioLevel`** (the engine's `Progress` has the frames received and
//!   the remote sound's level);
//! - `outbound-rtp`: `ssrc`, `kind`, `packetsSent`, `bytesSent`, `firCount`, `pliCount`,
//!   `nackCount`; **no `framesEncoded`, frame size or `targetBitrate`**;
//! - `remote-inbound-rtp` (`fractionLost`, `packetsLost`, `roundTripTime`) and
//!   `remote-outbound-rtp` (`remoteTimestamp`), from RTCP;
//! - `transport` (`selectedCandidatePairId`), `local-candidate`, `remote-candidate` (`address`,
//!   `port`, `candidateType`, `protocol`, `priority`);
//! - `candidate-pair` with only `localCandidateId` and `remoteCandidateId`: **no `state`,
//!   `nominated`, `currentRoundTripTime` or bytes** (the round trip is in `remote-inbound-rtp`);
//! - `peer-connection` (data channel counts).
//!
//! Under bundle, 1.22 gives every RTP stat the first media's `kind` and `codecId`; `kind` is
//! corrected here from the descriptions' SSRCs and the `codec` stats' MIME types, `codecId` is
//! left as webrtcbin has it.
//!
//! Added by the engine, measured rather than made up: one `media-source` of kind `audio`
//! (`hearth-microphone`) whose `audioLevel` (0 to 1, linear, as the browser's) is the
//! microphone's RMS level after the mute, so a muted microphone measures 0; missing until the
//! microphone has given any sound.

use std::collections::HashMap;

use gst::glib;
use serde_json::{Map, Number, Value};

/// Sets each stat's `kind` from the SSRCs the descriptions announce (`kinds`) and, for those
/// they do not (webrtcbin's own descriptions may list none), from the `codec` stats' MIME type.
pub fn label_kinds(list: &mut [Value], kinds: &HashMap<u64, String>) {
    let mut kinds = kinds.clone();
    for stat in list.iter().filter(|s| s["type"] == "codec") {
        let ssrc = stat.get("ssrc").and_then(Value::as_u64);
        let kind = stat
            .get("mimeType")
            .and_then(Value::as_str)
            .and_then(|m| m.split('/').next())
            .filter(|k| *k == "audio" || *k == "video");
        if let (Some(ssrc), Some(kind)) = (ssrc, kind) {
            kinds.entry(ssrc).or_insert_with(|| kind.to_string());
        }
    }
    for stat in list {
        let ssrc = stat.get("ssrc").and_then(Value::as_u64);
        if let Some(kind) = ssrc.and_then(|ssrc| kinds.get(&ssrc)) {
            stat["kind"] = Value::String(kind.clone());
        }
    }
}

/// The microphone's `media-source` from its measured level in dBFS.
pub fn microphone(db: f64) -> Value {
    let level = if db.is_finite() {
        10f64.powf(db / 20.0).clamp(0.0, 1.0)
    } else {
        0.0
    };
    serde_json::json!({
        "id": "hearth-microphone", "type": "media-source", "kind": "audio", "audioLevel": level,
    })
}

/// One JSON object per statistic, each with `id` and `type` (`inbound-rtp`, `candidate-pair`, ...).
pub fn to_json(reply: &gst::StructureRef) -> Vec<Value> {
    let mut out = Vec::new();
    for (id, value) in reply.iter() {
        let Ok(stat) = value.get::<gst::Structure>() else {
            continue;
        };
        let mut object = Map::new();
        object.insert("id".into(), Value::String(id.to_string()));
        for (field, value) in stat.iter() {
            if let Some(json) = value_to_json(value) {
                object.insert(camel_case(field), json);
            }
        }
        out.push(Value::Object(object));
    }
    out
}

fn value_to_json(value: &glib::SendValue) -> Option<Value> {
    if let Ok(v) = value.get::<String>() {
        return Some(Value::String(v));
    }
    if let Ok(v) = value.get::<bool>() {
        return Some(Value::Bool(v));
    }
    if let Ok(v) = value.get::<u64>() {
        return Some(Value::Number(v.into()));
    }
    if let Ok(v) = value.get::<i64>() {
        return Some(Value::Number(v.into()));
    }
    if let Ok(v) = value.get::<u32>() {
        return Some(Value::Number(v.into()));
    }
    if let Ok(v) = value.get::<i32>() {
        return Some(Value::Number(v.into()));
    }
    if let Ok(v) = value.get::<f64>() {
        return Number::from_f64(v).map(Value::Number);
    }
    if let Ok(v) = value.get::<f32>() {
        return Number::from_f64(f64::from(v)).map(Value::Number);
    }
    // Enums (the stat's `type`, a candidate pair's `state`): their nick is the browser's word.
    if let Some(enum_value) = glib::EnumValue::from_value(value) {
        return Some(Value::String(enum_value.1.nick().to_string()));
    }
    None
}

/// `packets-received` → `packetsReceived`.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '-' || c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_browsers() {
        assert_eq!(camel_case("packets-received"), "packetsReceived");
        assert_eq!(camel_case("type"), "type");
        assert_eq!(camel_case("round-trip-time"), "roundTripTime");
    }

    #[test]
    fn the_microphone_level_is_linear_and_silence_is_zero() {
        assert_eq!(microphone(0.0)["audioLevel"], 1.0);
        assert_eq!(microphone(f64::NEG_INFINITY)["audioLevel"], 0.0);
        let quiet = microphone(-700.0)["audioLevel"].as_f64().unwrap_or(1.0);
        assert!(quiet < 0.001, "{quiet}");
        let half = microphone(-6.0)["audioLevel"].as_f64().unwrap_or(0.0);
        assert!((half - 0.501).abs() < 0.01, "{half}");
    }
}
