//! surgecast's public protobuf API, compiled from `proto/surgecast/v1/*.proto`.
//!
//! The `.proto` files are the contract with producers and clients; this crate only turns them
//! into Rust types with prost (and, behind the `grpc` feature, tonic service stubs). It holds no
//! logic: mapping between these wire types and the domain types of `surgecast-core` belongs to
//! the crates that speak each API (e.g. `surgecast-feeds` for the feed events), so that the wire
//! format can change without the domain noticing. It must never do I/O.
//!
//! Every file in `proto/surgecast/v1/` is compiled by `build.rs`; new API files need no change
//! here as long as they stay in the `surgecast.v1` package.

// prost re-exported so that users encode and decode with the exact version the code was built for.
pub use prost;
pub use prost_types;

/// Package `surgecast.v1`: feed events, and whatever else the API files in that package define.
#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/surgecast.v1.rs"));
}

/// The encoded `google.protobuf.FileDescriptorSet` of every compiled file (imports included),
/// for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/surgecast_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn descriptor_set_lists_the_feed_messages() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let feeds = set
            .file
            .iter()
            .find(|f| f.name() == "surgecast/v1/feeds.proto")
            .expect("feeds.proto is compiled");
        let names: Vec<_> = feeds.message_type.iter().map(|m| m.name()).collect();
        for expected in [
            "FeedMessage",
            "AeEvent",
            "AmbulanceEvent",
            "BedStateSnapshot",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
    }

    #[test]
    fn unspecified_enums_are_zero() {
        assert_eq!(v1::AeEventType::Unspecified as i32, 0);
        assert_eq!(v1::BedType::default(), v1::BedType::Unspecified);
        let msg = v1::FeedMessage {
            schema_version: 1,
            event: Some(v1::feed_message::Event::Beds(v1::BedStateSnapshot {
                open: Some(-1),
                ..Default::default()
            })),
        };
        let back = v1::FeedMessage::decode(msg.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, msg, "a negative count survives the wire");
    }
}
