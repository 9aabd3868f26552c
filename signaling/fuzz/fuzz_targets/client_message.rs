//! Fuzzes the client message parser: any input must give a message or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signaling::protocol::ClientMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = ClientMessage::parse(text) {
            // Every refusal carries a sentence for the client.
            assert!(!e.to_string().is_empty());
        }
    }
});
