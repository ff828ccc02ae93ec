//! Compiles every `.proto` file under `<workspace>/proto/surgecast/v1/` with prost (messages) and,
//! when the `grpc` feature is on, tonic (service stubs). Globbing the directory lets other parts
//! add their API files (alerting, status, ...) without touching this script.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let api_dir = proto_root.join("surgecast/v1");
    println!("cargo:rerun-if-changed={}", api_dir.display());

    let protos = proto_files(&api_dir)?;
    for file in &protos {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    // Use the protoc shipped in a crate so that builds need no system protoc.
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    let includes = [proto_root, protoc_bin_vendored::include_path()?];
    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .file_descriptor_set_path(out_dir.join("surgecast_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;
    Ok(())
}

/// Every `*.proto` directly in `dir`, sorted so that code generation is reproducible.
fn proto_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
