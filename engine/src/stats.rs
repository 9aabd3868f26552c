//! webrtcbin's `get-stats` reply (a structure of structures) as a list of JSON objects shaped like
//! the browser's `RTCStatsReport` entries, so the UI's stats code reads both the same way.

use gst::glib;
use serde_json::{Map, Number, Value};

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
}
