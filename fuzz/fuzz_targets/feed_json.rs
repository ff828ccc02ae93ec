#![no_main]
//! JSON feed messages (all three feeds).

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::decode_all(surgecast_feeds::WireFormat::Json, data);
});
